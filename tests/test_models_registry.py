"""Every registered model: forward, backward, every parameter gets a finite gradient.

Registry-driven, so a new paper's models are covered the moment they are registered. Large
models run at a reduced input size (fully convolutional nets accept it) or under `-m slow`.
"""

import math

import pytest
import torch

import paperzoo
from paperzoo.metrics.flops import count_params
from paperzoo.registry import model_entry

HEAVY_PARAMS = 30_000_000   # above this, forward/backward is a slow test


def _input_for(name, n=2):
    entry = model_entry(name)
    if entry.example_input is not None:  # token ids and other non-image inputs
        return entry.example_input(n)
    c, h, w = entry.input_size
    if h >= 224:  # ImageNet-sized nets: a smaller image exercises every layer just as well
        h = w = 64
    return torch.randn(n, c, h, w)


def _run(model, x):
    return model(*x) if isinstance(x, tuple) else model(x)


def _outputs(out):
    """A model's output tensors: one, or those of a tuple (BERT's pre-training model gives MLM and NSP logits)."""
    return [t for t in out if torch.is_tensor(t)] if isinstance(out, tuple) else [out]


def _params(name):
    with torch.device("meta"):
        return count_params(paperzoo.create_model(name))


ALL = paperzoo.list_models()
CASES = [pytest.param(n, marks=pytest.mark.slow) if _params(n) > HEAVY_PARAMS or n.endswith("1202") else n
         for n in ALL]


@pytest.mark.parametrize("name", CASES)
def test_forward_backward_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    entry = model_entry(name)
    model = paperzoo.create_model(name)
    x = _input_for(name)
    outs = _outputs(_run(model, x))
    # classifiers give (B, num_classes); sequence models (B, T, vocabulary), the first of several outputs
    assert outs[0].shape[0] == 2 and outs[0].shape[-1] == entry.num_classes
    assert all(torch.isfinite(o).all() for o in outs)
    sum(o.float().logsumexp(-1).mean() for o in outs).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"


def test_every_family_has_a_tiny_variant():
    papers = {model_entry(n).paper for n in ALL}
    for paper in papers:
        assert any(model_entry(n).tiny for n in paperzoo.list_models(paper=paper)), paper


def test_builders_are_keyword_only_and_names_unique():
    from paperzoo.registry import register_model

    with pytest.raises(TypeError, match="keyword-only"):
        @register_model(paper="x")
        def positional(num_classes=10):
            return torch.nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        @register_model(paper="resnet")
        def resnet20(*, num_classes=10):
            return torch.nn.Identity()


def test_list_models_pattern_and_unknown_names():
    expected = ["resnet10", "resnet18", "resnet101", "resnet110", "resnet152", "resnet1202"]
    assert paperzoo.list_models("resnet1*") == expected
    from paperzoo.errors import UserError

    with pytest.raises(UserError, match="Did you mean 'resnet56'"):
        paperzoo.create_model("resnet57")
    with pytest.raises(UserError, match="takes no argument 'widht'"):
        paperzoo.create_model("resnet20", widht=3)


@pytest.mark.parametrize("name", [n for n in ALL if model_entry(n).tiny])
def test_tiny_model_overfits_one_batch(name):
    """A model that cannot drive the loss on one fixed batch towards zero has a bug."""
    torch.manual_seed(0)
    entry = model_entry(name)
    sequence = "num_classes" not in entry.signature().parameters   # (B, T, vocabulary) outputs
    if sequence:   # memorise random next tokens of 8 sequences
        model = paperzoo.create_model(name)
        x = _input_for(name, 8)
        y = torch.randint(4, entry.num_classes, _outputs(_run(model, x))[0].shape[:-1])   # (B, T)
    else:   # a classifier: 8 inputs, 4 classes
        model = paperzoo.create_model(name, num_classes=4)
        if entry.example_input is not None:   # eight different valid inputs (e.g. token sequences)
            x = _input_for(name, 8)
        else:   # 8 noisy copies of one image
            x = _input_for(name)[:1].repeat(8, 1, 1, 1) + 0.5 * torch.randn(8, *_input_for(name).shape[1:])
        y = torch.arange(8) % 4

    def loss_fn():
        logits = _outputs(_run(model, x))[0]
        return torch.nn.functional.cross_entropy(logits.flatten(0, -2), y.flatten())

    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = loss = loss_fn()
    for _ in range(100):   # until the loss is 1% of the first (Adam at 3e-3 can spike once it is ~0)
        if loss.item() < 0.01 * first.item():
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss = loss_fn()
    with torch.no_grad():   # let BatchNorm's running statistics (momentum 0.1) settle on the batch
        for _ in range(40):
            _run(model, x)
    model.eval()
    with torch.no_grad():
        acc = (_outputs(_run(model, x))[0].argmax(-1) == y).float().mean().item()
    assert math.isfinite(loss.item())
    assert loss.item() < 0.1 * first.item() and acc == 1.0, (first.item(), loss.item(), acc)
