"""BLEU (Papineni et al. 2002), three ways.

- :func:`corpus_bleu`: the number every report gives. Standard corpus BLEU through sacreBLEU
  (Post 2018) on *detokenised* text: sacreBLEU tokenises hypotheses and references itself
  (``13a``, the tokeniser of WMT's mteval-v13a.pl, by default), so scores are comparable across
  papers; the result carries sacreBLEU's signature (``nrefs:1|case:mixed|eff:no|tok:13a|
  smooth:exp|version:...``), which reports print beside the score.
- :func:`tokenized_bleu`: corpus BLEU on text the caller has already split into tokens, the
  number tutorials report (``torchtext.data.metrics.bleu_score`` on spaCy tokens, or Moses'
  ``multi-bleu.perl`` on Moses-tokenised text, as the Transformer paper's tables). Exactly: the
  tokens are used as given (case-sensitive, no further splitting); clipped n-gram matches and
  the hypotheses' n-gram totals are summed over the whole corpus for n = 1..4; BLEU =
  BP * exp(sum_n 1/4 log p_n) with p_n = matches_n / totals_n and BP = exp(min(0, 1 - r/c)),
  c the total hypothesis length and r the total reference length; no smoothing, so it is 0
  when any p_n is 0; times 100. It equals sacreBLEU with ``tokenize="none",
  smooth_method="none"`` on the tokens joined by spaces (tested). It depends on the
  tokenisation, so it is not comparable across tokenisers: use it only to compare with
  numbers computed the same way.
- :func:`sentence_bleu`: the sentence-level form the project's paper-reading notes write out,
  ``exp(min(0, 1 - len_label/len_pred)) * prod_n p_n^(1/2^n)`` (the d2l book's ``bleu``),
  which weighs longer n-grams *less* (1/2, 1/4, 1/8, 1/16) than standard BLEU's uniform 1/4,
  on one token sequence. For inspecting single examples; never report it as BLEU.

All three count n-grams with :func:`ngram_matches` (clipped counts: a hypothesis n-gram
matches at most as many times as it occurs in the reference).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "BleuScore",
    "corpus_bleu",
    "ngram_matches",
    "ngram_precisions",
    "sentence_bleu",
    "tokenized_bleu",
]


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def ngram_matches(reference: Sequence[str], hypothesis: Sequence[str], n: int) -> tuple[int, int]:
    """``(clipped matches, hypothesis n-grams)`` of order `n`: each hypothesis n-gram counts
    at most as often as it occurs in the reference."""
    hyp, ref = _ngrams(hypothesis, n), _ngrams(reference, n)
    matches = sum(min(count, ref[gram]) for gram, count in hyp.items())
    return matches, max(len(hypothesis) - n + 1, 0)


def ngram_precisions(reference: Sequence[str], hypothesis: Sequence[str], max_n: int = 4) -> list[float]:
    """p_1..p_max_n of one hypothesis; p_n = 0 where the hypothesis has no n-gram of order n."""
    out = []
    for n in range(1, max_n + 1):
        matches, total = ngram_matches(reference, hypothesis, n)
        out.append(matches / total if total else 0.0)
    return out


def sentence_bleu(label: Sequence[str], pred: Sequence[str], max_n: int = 4) -> float:
    """The notes' sentence BLEU of token sequence `pred` against `label`, in [0, 1].

    ``exp(min(0, 1 - len_label/len_pred)) * prod_{n=1..max_n} p_n^(1/2^n)``: the first factor
    penalises short predictions, the exponents 1/2^n give long n-grams less weight than short
    ones. An empty prediction scores 0.
    """
    if not pred:
        return 0.0
    # exp(min(0, 1 - len_label / len_pred)): the brevity penalty
    score = math.exp(min(0.0, 1.0 - len(label) / len(pred)))
    for n, p_n in enumerate(ngram_precisions(label, pred, max_n), start=1):
        score *= p_n ** (0.5 ** n)  # p_n^(1/2^n)
    return score


def tokenized_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                   max_n: int = 4) -> float:
    """Corpus BLEU (0-100) of token lists against one reference token list each, as
    ``multi-bleu.perl`` and ``torchtext``'s ``bleu_score`` compute it (see the module docstring)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    matches, totals = [0] * max_n, [0] * max_n
    for hyp, ref in zip(hypotheses, references):
        for n in range(1, max_n + 1):
            m, t = ngram_matches(ref, hyp, n)
            matches[n - 1] += m
            totals[n - 1] += t
    if min(matches) == 0:
        return 0.0
    c = sum(len(h) for h in hypotheses)
    r = sum(len(ref) for ref in references)
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n  # sum_n 1/N log p_n
    return 100 * math.exp(min(0.0, 1.0 - r / c) + log_precision)  # BP * exp(...)


@dataclass(frozen=True)
class BleuScore:
    """A corpus BLEU from sacreBLEU: the score (0-100), its parts and sacreBLEU's signature."""

    score: float
    precisions: tuple[float, ...]   # p_1..p_4, in percent
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    signature: str

    def __str__(self) -> str:
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.brevity_penalty:.3f}, hyp_len = "
                f"{self.hyp_len}, ref_len = {self.ref_len}) {self.signature}")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]], *,
                tokenize: str = "13a", lowercase: bool = False) -> BleuScore:
    """Standard corpus BLEU of detokenised `hypotheses` with sacreBLEU's defaults.

    `references` is one reference string per hypothesis, or several reference streams (a list of
    lists, each as long as `hypotheses`). Pass detokenised text (what the tokenizer's ``decode``
    gives): sacreBLEU applies its own `tokenize` (``13a`` by default; ``intl``, ``zh``, ...).
    """
    from sacrebleu.metrics import BLEU  # noqa: PLC0415  (imported on use: a few hundred ms)

    if len(references) and isinstance(references[0], str):
        references = [list(references)]  # one stream
    metric = BLEU(tokenize=tokenize, lowercase=lowercase)
    result = metric.corpus_score(list(hypotheses), [list(stream) for stream in references])
    return BleuScore(float(result.score), tuple(float(p) for p in result.precisions), float(result.bp),
                     int(result.sys_len), int(result.ref_len), str(metric.get_signature()))


# --- corpus scores and their significance -------------------------------------------------------

def _tokens_13a(texts: Sequence[str], lowercase: bool) -> list[list[str]]:
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a  # noqa: PLC0415

    tok = Tokenizer13a()
    return [tok(t.lower() if lowercase else t).split() for t in texts]


def score(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """``{"sacrebleu": BleuScore, "tokenized": float}``: sacreBLEU's standard corpus BLEU
    (cased, 13a tokenisation, with its signature), and the tokenised form of the Multi30k
    tutorials (lowercased tokens, ``multi-bleu`` / torchtext ``bleu_score`` arithmetic, no
    smoothing), here on sacreBLEU's 13a tokens rather than spaCy's."""
    sacre: BleuScore = corpus_bleu(hypotheses, references)
    tokenized = tokenized_bleu(_tokens_13a(hypotheses, True), _tokens_13a(references, True))
    return {"sacrebleu": sacre, "tokenized": tokenized}


def _sentence_stats(hypotheses: Sequence[str], references: Sequence[str]) -> torch.Tensor:
    """Per sentence: 1-4-gram matches, 1-4-gram totals, hypothesis and reference lengths (N, 10),
    on sacreBLEU's 13a tokens (cased), so that their sums give sacreBLEU's corpus BLEU."""
    rows = []
    for hyp, ref in zip(_tokens_13a(hypotheses, False), _tokens_13a(references, False)):
        counts = [ngram_matches(ref, hyp, n) for n in range(1, 5)]
        rows.append([m for m, _ in counts] + [t for _, t in counts] + [len(hyp), len(ref)])
    return torch.tensor(rows, dtype=torch.float64).reshape(-1, 10)


def _bleu_from_stats(stats: torch.Tensor) -> torch.Tensor:  # (..., 10) summed stats -> BLEU (...)
    matches, totals, c, r = stats[..., :4], stats[..., 4:8], stats[..., 8], stats[..., 9]
    log_p = (matches.clamp(min=1e-300) / totals.clamp(min=1)).log().mean(-1)  # sum_n 1/4 log p_n
    bleu = 100 * torch.exp(torch.clamp(1 - r / c.clamp(min=1), max=0) + log_p)  # BP * exp(...)
    return torch.where((matches == 0).any(-1), torch.zeros_like(bleu), bleu)


def bootstrap_bleu(references: Sequence[str], *systems: Sequence[str], samples: int = 1000,
                   seed: int = 0) -> dict[str, float]:
    """Paired bootstrap (Koehn 2004): resample the sentences with replacement `samples` times and
    recompute the corpus BLEU of each system (sacreBLEU's, from per-sentence 13a statistics) on the
    same resamples. Returns ``se/<i>``, the standard deviation of system i's BLEU over the
    resamples (its standard error), and for two systems ``se/diff``, that of BLEU_0 - BLEU_1, and
    ``win/0``, the fraction of resamples in which system 0 scores higher."""
    stats = [_sentence_stats(h, references) for h in systems]
    n = len(references)
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(0, n, (samples, n), generator=g)  # (samples, n)
    scores = [_bleu_from_stats(s[index].sum(1)) for s in stats]  # each (samples,)
    out = {f"se/{i}": float(s.std()) for i, s in enumerate(scores)}
    if len(scores) == 2:
        diff = scores[0] - scores[1]
        out["se/diff"] = float(diff.std())
        out["win/0"] = float((diff > 0).double().mean())
    return out
