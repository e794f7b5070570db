"""DenseNet's claims: registration, the paper's recipe, parameter counts, and the verdict rules on
constructed outcomes (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import pytest

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.densenet import experiments as ex

CIFAR = get_claim("densenet.cifar")
EFFICIENCY = get_claim("densenet.param-efficiency")


def test_claims_are_registered_with_quick_full_and_smoke():
    assert {"densenet.cifar", "densenet.param-efficiency"} <= set(paperzoo.list_claims(paper="densenet"))
    for claim in (CIFAR, EFFICIENCY):
        assert {"quick", "full"} <= set(claim.presets) and claim.smoke["train.steps"] == "4"
    assert CIFAR.presets["full"].models == ("densenet40", "densenet_bc100")
    assert EFFICIENCY.presets["full"].models == ("densenet_bc100", "resnet110")


def test_full_preset_is_the_papers_recipe():
    train, data = ex.PAPER_RECIPE, ex.CIFAR_DATA
    # Section 4.2: batch 64, 300 epochs, lr 0.1 / 10 at 50% and 75%, Nesterov momentum 0.9, wd 1e-4
    assert data.batch_size == 64 and data.augment and data.val_size == 0
    assert train.steps == 300 * 781 and train.schedule.milestones == (150 * 781, 225 * 781)
    opt = train.optimizer
    assert (opt.name, opt.lr, opt.momentum, opt.weight_decay, opt.nesterov) == ("sgd", 0.1, 0.9, 1e-4, True)
    # ResNet-110 keeps its own paper's warm-up (0.01 for 400 iterations); the DenseNet arm takes the preset's recipe
    dense, resnet = ex._arms(EFFICIENCY.presets["full"])
    assert dense.train is None
    assert (resnet.train.schedule.warmup_steps, resnet.train.schedule.warmup_factor) == (400, 0.1)
    assert resnet.train.schedule.milestones == train.schedule.milestones


def test_parameter_counts_and_ratio():
    params = ex._params(ex.DensePreset("t", ("densenet40", "densenet_bc100", "resnet110")))
    assert params == {"densenet40": 1_019_722, "densenet_bc100": 769_162, "resnet110": 1_727_962}
    for m, n in params.items():   # Table 2's rounded counts
        assert n / 1e6 == pytest.approx(ex.TABLE2_PARAMS[m], abs=0.05)
    assert params["resnet110"] / params["densenet_bc100"] == pytest.approx(2.2465, abs=1e-4)
    # the quick presets' CPU-scale DenseNets: growth rate 4
    quick = ex._params(EFFICIENCY.presets["quick"])
    assert quick["densenet_bc100"] < 0.15 * params["densenet_bc100"] and quick["resnet20"] == 269_722


def _outcome(values: dict[str, float]) -> Outcome:
    out = Outcome()
    for k, v in values.items():
        out.add(k, v if isinstance(v, list) else [v])
    return out


def test_quick_presets_keep_their_smaller_models_apart_from_table2():
    quick = CIFAR.presets["quick"]
    assert [a.label for a in ex._arms(quick)] == ["densenet40-k4", "densenet_bc100-k4"]
    assert [a.label for a in ex._arms(EFFICIENCY.presets["quick"])] == ["densenet_bc100-k4", "resnet20"]
    assert [a.label for a in ex._arms(CIFAR.presets["full"])] == ["densenet40", "densenet_bc100"]
    # so the targets (Table 2, keyed by the paper's models) never meet a CPU-scale model's error
    assert not {t.metric for t in CIFAR.targets} & {f"test_error/{a.label}" for a in ex._arms(quick)}


def test_cifar_verdict():
    full, quick = CIFAR.presets["full"], CIFAR.presets["quick"]

    def verdict(d40, bc100, preset=full):
        out = _outcome({f"test_error/{preset.key('densenet40')}": d40,
                        f"test_error/{preset.key('densenet_bc100')}": bc100})
        return ex.cifar_verdict(out, preset).status

    assert verdict(5.5, 4.8) == "holds"
    assert verdict(7.0, 4.6) == "does not hold"        # 1.76 off, more than 1 point + 2 SE (0.5)
    assert verdict(6.6, 4.6) == "holds"                # 1.36 off: inside 1 point + 2 SE
    # both within tolerance, but DenseNet-BC worse by 0.9 > two SE of the difference (0.62)
    assert verdict(4.6, 5.5) == "does not hold"
    assert verdict(5.24, 4.51, quick) == "inconclusive"
    # the full schedule with CPU-scale models is not Table 2's either
    assert verdict(5.24, 4.51, ex.DensePreset("t", full.models, growth_rate=4)) == "inconclusive"


def test_param_efficiency_verdict():
    full, quick = EFFICIENCY.presets["full"], EFFICIENCY.presets["quick"]

    def verdict(dense, resnet, preset=full):
        a, b = (preset.key(m) for m in preset.models)
        out = _outcome({f"test_error/{a}": dense, f"test_error/{b}": resnet})
        out.values |= {f"params/{a}": 769_162, f"params/{b}": 1_727_962, "param_ratio": 2.2465}
        return ex.param_efficiency_verdict(out, preset).status

    assert verdict(4.6, 6.4) == "holds"
    assert verdict(6.8, 6.4) == "holds"                # 0.4 higher: within two SE (0.7)
    assert verdict(8.0, 6.4) == "does not hold"
    assert verdict([6.0, 8.0], [6.0, 6.2]) == "holds"  # 0.9 higher, but the seed spread (2 SE = 1.42) covers it
    assert verdict(4.6, 6.4, quick) == "inconclusive"
