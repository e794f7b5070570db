"""BLEU: the notes' sentence form, sacreBLEU's corpus BLEU, and the tokenised corpus form."""

import math

import pytest
import sacrebleu

from paperzoo.data.text import read_multi30k
from paperzoo.metrics.bleu import (
    corpus_bleu,
    ngram_matches,
    ngram_precisions,
    sentence_bleu,
    tokenized_bleu,
)

LABEL, PRED = "a b c d e f".split(), "a b b c d".split()


def test_notes_worked_example():
    """Label `a b c d e f`, prediction `a b b c d`: p1 = 4/5, p2 = 3/4, p3 = 1/3, p4 = 0."""
    assert [ngram_matches(LABEL, PRED, n) for n in (1, 2, 3, 4)] == [(4, 5), (3, 4), (1, 3), (0, 2)]
    assert ngram_precisions(LABEL, PRED) == [4 / 5, 3 / 4, 1 / 3, 0.0]
    assert sentence_bleu(LABEL, PRED) == 0.0  # p4 = 0 zeroes the product
    # up to trigrams: exp(min(0, 1 - 6/5)) * (4/5)^(1/2) * (3/4)^(1/4) * (1/3)^(1/8)
    expected = math.exp(1 - 6 / 5) * (4 / 5) ** 0.5 * (3 / 4) ** 0.25 * (1 / 3) ** 0.125
    assert sentence_bleu(LABEL, PRED, max_n=3) == pytest.approx(expected, rel=1e-12)


def test_sentence_bleu_edges():
    assert sentence_bleu(LABEL, LABEL) == 1.0
    assert sentence_bleu(LABEL, []) == 0.0
    # no brevity penalty for a prediction longer than the label
    assert sentence_bleu("a b".split(), "a b c".split(), max_n=1) == pytest.approx((2 / 3) ** 0.5)
    # clipping: a repeated word counts as often as the label has it
    assert ngram_precisions("the cat".split(), "the the the".split(), 1) == [1 / 3]


@pytest.fixture(scope="module")
def multi30k_val(shared_data):
    refs = read_multi30k("val", "de")[:8]
    # made-up system outputs: dropped, swapped and replaced words
    hyps = [refs[0].replace("Hund", "Katze"), " ".join(refs[1].split()[:-2]) + ".", refs[2],
            " ".join(reversed(refs[3].split())), refs[4].replace(" ein ", " der "),
            refs[5].lower(), refs[6], refs[7].replace(".", " !")]
    return hyps, refs


def test_corpus_bleu_is_sacrebleu(multi30k_val):
    hyps, refs = multi30k_val
    ours = corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu(hyps, [refs])
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert 0 < ours.score < 100
    assert ours.signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert ours.signature in str(ours)
    assert corpus_bleu(refs, refs).score == pytest.approx(100.0)
    two_streams = corpus_bleu(hyps, [refs, hyps])
    assert two_streams.signature.startswith("nrefs:2") and two_streams.score > ours.score


def test_tokenized_bleu_matches_sacrebleu_on_its_tokens(multi30k_val):
    """On sacreBLEU's own 13a tokens, the tokenised form equals sacreBLEU's corpus BLEU (no
    n-gram order has zero matches here, so smoothing plays no part)."""
    hyps, refs = multi30k_val
    tok = sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()
    ours = tokenized_bleu([tok(h).split() for h in hyps], [tok(r).split() for r in refs])
    assert ours == pytest.approx(corpus_bleu(hyps, refs).score, abs=1e-9)


@pytest.mark.parametrize("hyp, ref", [
    (["a b b c d"], ["a b c d e f"]),                                   # p4 = 0: BLEU 0, no smoothing
    (["the cat sat on the mat", "a dog"], ["the cat sat on a mat", "a dog barks loudly here"]),
    (["x y z w v"], ["x y z w v u t"]),                                 # brevity penalty
])
def test_tokenized_bleu_is_sacrebleu_without_tokenising_or_smoothing(hyp, ref):
    ours = tokenized_bleu([h.split() for h in hyp], [r.split() for r in ref])
    theirs = sacrebleu.corpus_bleu(hyp, [ref], tokenize="none", smooth_method="none").score
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_tokenized_bleu_sums_counts_over_the_corpus():
    """Corpus BLEU is not the mean of sentence scores: n-gram counts are pooled first."""
    hyps = [["a", "b", "c", "d"], ["e", "f", "g", "h", "i"]]
    refs = [["a", "b", "c", "d"], ["e", "f", "g", "x", "i"]]
    # pooled: p1 = 8/9, p2 = 5/7, p3 = 3/5, p4 = 1/3; lengths equal, BP = 1
    expected = 100 * (8 / 9 * 5 / 7 * 3 / 5 * 1 / 3) ** 0.25
    assert tokenized_bleu(hyps, refs) == pytest.approx(expected)
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        tokenized_bleu(hyps, refs[:1])
