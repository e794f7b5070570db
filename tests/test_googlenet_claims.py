"""GoogLeNet's claims: registration, the parameter ratio, the auxiliary-loss training step, and the
verdict rules on constructed outcomes (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import random

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.googlenet import experiments as ex
from paperzoo.papers.googlenet.model import googlenet_loss

FULL = ex.InceptionPreset(description="t")   # the 64k-iteration recipe, 10k test images
QUICK = get_claim("inception.auxiliary").presets["quick"]
N = 10000


def test_claims_are_registered_with_quick_full_and_smoke():
    assert {"inception.efficiency", "inception.auxiliary"} <= set(paperzoo.list_claims(paper="googlenet"))
    for claim_id in ("inception.efficiency", "inception.auxiliary"):
        claim = get_claim(claim_id)
        assert {"quick", "full"} <= set(claim.presets) and claim.smoke_overrides()["train.steps"] == "4"
        assert claim.smoke_overrides()["width"] == "0.0625" and claim.rule == ""
        assert claim.presets["full"].width == 1.0 and claim.presets["quick"].width == ex.QUICK_WIDTH
        assert "inconclusive if the run trains for fewer than 64000" in claim.rule_text
    assert ex.CIFAR_RECIPE.steps == 64000 and ex.CIFAR_RECIPE.optimizer.weight_decay == 2e-4


def test_parameter_ratio_of_the_registered_imagenet_models():
    params = ex.imagenet_params()
    # AlexNet 60,965,224 and GoogLeNet 6,998,552 (test_alexnet.py, test_googlenet.py check them against the papers)
    assert params == {"alexnet": 60_965_224, "googlenet": 6_998_552, "googlenet+aux": 6_998_552 + 3_188_840 + 3_190_888}
    assert ex.param_ratio(params) == pytest.approx(8.711, abs=1e-3)
    # the paper's Table 1 column gives the same ratio: its "12x" is not what its own table says
    assert 60e6 / ex.PAPER_PARAMS["googlenet"] == pytest.approx(8.62, abs=0.01)


def test_ratio_tolerance():
    assert ex.ratio_matches(12.0) and ex.ratio_matches(9.6) and ex.ratio_matches(14.4)
    assert not ex.ratio_matches(9.5) and not ex.ratio_matches(8.71) and not ex.ratio_matches(14.5)


def per_image(rate: float, seed: int) -> list[float]:
    """Each test image's error (0 or 100), ``rate`` % of them wrong, chosen at random."""
    wrong = set(random.Random(seed).sample(range(N), round(rate * N / 100)))
    return [100.0 * (i in wrong) for i in range(N)]


def _outcome(errors: dict[str, float | list[float]], steps: int = 64000) -> Outcome:
    out = Outcome()
    for index, (arm, rates) in enumerate(errors.items()):
        rates = rates if isinstance(rates, list) else [rates]
        out.add_items(f"test_error/{arm}", [per_image(r, 100 * index + s) for s, r in enumerate(rates)])
    out.values["train_steps"] = steps
    return out


def test_efficiency_verdict():
    def verdict(ratio, g, a, steps=64000):
        out = _outcome({"GoogLeNet": g, "AlexNet": a}, steps)
        out.values |= {"param_ratio": ratio, "params/alexnet": 60e6, "params/googlenet": 60e6 / ratio}
        out.value_se["param_ratio"] = [0.0]
        return get_claim("inception.efficiency").verdict(out, FULL).status

    assert verdict(12.0, 8.0, 18.0) == "holds"
    assert verdict(8.7, 8.0, 18.0) == "does not hold"            # the exact ratio alone decides against
    assert verdict(8.7, 30.0, 60.0, steps=150) == "does not hold"  # ... on any preset
    assert verdict(12.0, 18.0, 8.0) == "does not hold"            # GoogLeNet significantly worse
    assert verdict(12.0, 10.0, 10.5) == "inconclusive"            # 0.5 points: within the noise on 10k images
    # a short run decides nothing about accuracy, even when GoogLeNet looks far worse (the old rule's bug)
    assert verdict(12.0, 60.0, 30.0, steps=150) == "inconclusive"
    assert verdict(12.0, 89.5, 60.0) == "inconclusive"            # GoogLeNet did not learn


def test_auxiliary_verdict_is_an_equivalence_test():
    a, b = ex.AUX_LABELS[True], ex.AUX_LABELS[False]

    def verdict(with_aux, without, steps=64000):
        out = _outcome({a: with_aux, b: without}, steps)
        return get_claim("inception.auxiliary").verdict(out, FULL).status

    # independent errors at 7% on 10k test images: the 90% interval of the difference is about +-0.6 points
    assert verdict(7.0, 7.3) == "holds"                  # +0.3, inside +-1.5
    assert verdict(7.0, 6.7) == "holds"                  # harmless the other way too
    assert verdict(7.0, 10.0) == "does not hold"         # a gain far above minor
    assert verdict(10.0, 7.0) == "does not hold"         # ... or a loss
    assert verdict(7.0, 8.2) == "inconclusive"           # +1.2: its interval reaches past 1.5
    # the seed spread widens the interval (Student-t on the seeds)
    assert verdict([6.0, 8.0, 6.0, 8.0], [6.4, 10.4, 4.4, 8.4]) == "inconclusive"
    assert verdict(7.0, 7.3, steps=150) == "inconclusive"   # too short: reported, not judged
    assert "1.5" in get_claim("inception.auxiliary").rule_text


def test_auxiliary_arms_differ_only_in_the_auxiliary_classifiers():
    with_aux, without = ex.aux_arms(QUICK)
    assert (with_aux.loss, without.loss) == (googlenet_loss, None)
    assert with_aux.model == without.model == "googlenet_cifar"
    assert with_aux.kwargs == {"width": QUICK.width, "aux_logits": True} and without.kwargs["aux_logits"] is False
    assert with_aux.train is None and without.train is None     # both take the preset's recipe


def test_efficiency_trains_googlenet_with_its_auxiliary_classifiers():
    googlenet, alexnet = ex.efficiency_arms(QUICK)
    assert googlenet.kwargs["aux_logits"] and googlenet.loss is googlenet_loss
    assert (alexnet.model, alexnet.loss) == ("cifar_convnet", None)


def test_training_step_with_auxiliary_loss(shared_data):
    from paperzoo.train.classification import DataConfig, ImageClassificationTask

    data = DataConfig(batch_size=8, train_subset=64, eval_subset=16, val_size=5000)
    task = ImageClassificationTask(data, loss=googlenet_loss)
    torch.manual_seed(0)
    model = paperzoo.create_model("googlenet_tiny", aux_logits=True).train()
    batch = next(task.train_batches())
    loss, metrics = task.training_step(model, batch)
    out = model(batch[0])
    assert out.aux1 is not None and loss.item() > torch.nn.functional.cross_entropy(out.logits, batch[1]).item()
    assert 0 <= metrics["error"].item() <= 1
    model.eval()
    assert set(task.evaluate(model)) == {"val_loss", "val_error", "test_loss", "test_error"}
