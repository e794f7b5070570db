"""GoogLeNet's claims: registration, the parameter ratio, the auxiliary-loss training step, and the
verdict rules on constructed outcomes (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.googlenet import experiments as ex
from paperzoo.papers.googlenet.model import googlenet_loss

FULL = ex.InceptionPreset("t")   # the 64k-iteration recipe, 10k test images
QUICK = get_claim("inception.auxiliary").presets["quick"]


def test_claims_are_registered_with_quick_full_and_smoke():
    assert {"inception.efficiency", "inception.auxiliary"} <= set(paperzoo.list_claims(paper="googlenet"))
    for claim_id in ("inception.efficiency", "inception.auxiliary"):
        claim = get_claim(claim_id)
        assert {"quick", "full"} <= set(claim.presets) and claim.smoke["train.steps"] == "4"
        assert claim.presets["full"].width == 1.0 and claim.presets["quick"].width == ex.QUICK_WIDTH


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


def _outcome(values: dict[str, float | list[float]]) -> Outcome:
    out = Outcome()
    for k, v in values.items():
        out.add(k, v if isinstance(v, list) else [v])
    return out


def test_efficiency_verdict():
    def verdict(ratio, g, a, preset=FULL):
        out = _outcome({"test_error/GoogLeNet": g, "test_error/AlexNet": a})
        out.values |= {"param_ratio": ratio, "params/alexnet": 60e6, "params/googlenet": 60e6 / ratio}
        return ex.efficiency_verdict(out, preset).status

    assert verdict(12.0, 8.0, 18.0) == "holds"
    assert verdict(8.7, 8.0, 18.0) == "does not hold"          # the ratio alone decides against
    assert verdict(12.0, 18.0, 8.0) == "does not hold"          # GoogLeNet significantly worse
    assert verdict(12.0, 10.0, 10.5) == "inconclusive"          # 0.5 points < two SE on 10k images (0.85)
    assert verdict(12.0, 30.0, 60.0, QUICK) == "inconclusive"   # short schedule: accuracy not judged


def test_auxiliary_verdict():
    a, b = ex.AUX_LABELS[True], ex.AUX_LABELS[False]

    def verdict(with_aux, without, preset=FULL):
        out = _outcome({f"test_error/{a}": with_aux, f"test_error/{b}": without})
        out.add("aux_effect", [y - x for x, y in zip(out.per_seed[f"test_error/{a}"], out.per_seed[f"test_error/{b}"])])
        return ex.auxiliary_verdict(out, preset).status

    # two SE of the difference at 7% error on 10k test images: 0.72 points
    assert verdict(7.0, 7.3) == "holds"                   # +0.3 +- 0.72 <= 1.5
    assert verdict(7.0, 5.5) == "does not hold"           # significantly hurt
    assert verdict(7.0, 10.0) == "does not hold"          # a gain far above minor
    assert verdict(7.0, 8.2) == "inconclusive"            # +1.2 +- 0.8: not bounded below 1.5
    # the seed spread widens the margin when it is larger than the binomial one
    assert verdict([6.0, 8.0, 6.0, 8.0], [6.4, 8.4, 6.4, 8.4]) == "inconclusive"
    assert verdict(7.0, 7.3, QUICK) == "inconclusive"


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
