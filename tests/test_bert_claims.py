"""BERT's claims: registered, and their verdict rules on constructed outcomes."""

from __future__ import annotations

import random

from paperzoo.claims.catalog import get_claim
from paperzoo.claims.outcome import Outcome


def _helps_outcome(p, *, gain=5.0, reversed_task=None, steps=None, seeds=3, n=800):
    """Per-example 0/100 correctness of both arms on every task: the pre-trained arm right on ``gain``
    percentage points more of the examples (the scratch arm's right ones are a subset), per seed."""
    rng = random.Random(0)
    out = Outcome()
    out.add_exact("train_steps", p.pretrain.steps if steps is None else steps)
    for task in p.finetune.tasks:
        g = -gain if task == reversed_task else gain
        per = {"pretrained": [], "scratch": []}
        for _ in range(seeds):
            base = [100.0 * (rng.random() < 0.75) for _ in range(n)]
            flips = rng.sample([i for i, b in enumerate(base) if b == 0.0], int(abs(g) / 100 * n))
            better = [100.0 if i in set(flips) else b for i, b in enumerate(base)]
            per["pretrained"].append(better if g > 0 else base)
            per["scratch"].append(base if g > 0 else better)
        for arm, items in per.items():
            out.add_items(f"accuracy/{task}/{arm}", items)
    return out


def test_pretraining_helps_verdicts_on_constructed_outcomes():
    claim = get_claim("bert.pretraining-helps")
    p = claim.preset("cpu")
    assert claim.verdict(_helps_outcome(p), p).status == "holds"
    assert claim.verdict(_helps_outcome(p, reversed_task="trec"), p).status == "does not hold"
    assert claim.verdict(_helps_outcome(p, gain=0.0), p).status == "inconclusive"
    assert claim.verdict(_helps_outcome(p, steps=500), p).status == "inconclusive"   # too short to judge


def test_a_second_claim_run_reuses_the_pre_trained_model(tmp_path, shared_data):
    """The pre-trained BERT is saved in the first run's folder and found by the next run into the same results
    folder with the same settings (the BERT claims share one pre-training)."""
    import paperzoo

    claim = get_claim("bert.pretraining-helps")
    first = paperzoo.reproduce(claim.id, preset="quick", out=tmp_path, device="cpu", overrides=claim.smoke_overrides(),
                               progress=False)
    second = paperzoo.reproduce(claim.id, preset="quick", out=tmp_path, device="cpu",
                                overrides=claim.smoke_overrides(), progress=False)
    assert "trained here" in first.report.read_text()
    assert f"reused {next(first.run_dir.glob('pretrained-*'))}" in second.report.read_text()
