"""NCE (Gutmann & Hyvärinen 2010; Mnih & Teh 2012): the loss against independent formulas, its exact
gradient against maximum likelihood's as k grows, the ICA model's normaliser, the LBL's gathered scores,
the Brown reader, and the claims' verdict rules on constructed outcomes."""

from __future__ import annotations

import itertools
import math
import zipfile

import pytest
import torch
import torch.nn.functional as F
from tolerances import assert_close, tol

from paperzoo.claims.catalog import get_claim
from paperzoo.claims.outcome import Outcome
from paperzoo.data.corpora import BROWN_SENTENCES, BROWN_WORDS, read_brown
from paperzoo.errors import DataError
from paperzoo.papers.nce.experiments import (
    EOS,
    LmData,
    NoiseSampler,
    brown_corpus,
    fit_ml,
    fit_nce,
    laplace_sources,
    matched_sq_error,
    ngram_examples,
    random_mixing,
)
from paperzoo.papers.nce.model import (
    LaplaceICA,
    LogBilinearLM,
    laplace_ica_log_normaliser,
    nce_logit,
    nce_loss,
    nce_objective,
)

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64


def _within(actual: torch.Tensor, expected: torch.Tensor, bound: float) -> None:
    """A statistical check: |actual − expected| ≤ bound (a multiple of the standard error), elementwise."""
    assert float((actual - expected).abs().max()) <= bound, (actual, expected, bound)


# --- the loss --------------------------------------------------------------------------------------

def test_nce_loss_equals_the_classifier_log_likelihood_written_with_probabilities():
    g = torch.Generator().manual_seed(0)
    k = 5
    log_pm = torch.randn(7, 1 + k, generator=g, dtype=F64)
    log_pn = torch.log_softmax(torch.randn(7, 1 + k, generator=g, dtype=F64), -1)
    pm, pn = log_pm.exp(), log_pn.exp()
    # P(D=1|u) = p_m / (p_m + k p_n), written directly (no logits)
    post = pm / (pm + k * pn)
    by_hand = -(post[:, 0].log() + (1 - post[:, 1:]).log().sum(-1))
    assert_close(nce_loss(log_pm, log_pn, k), by_hand, dtype=F64, n=2 * k, scale=10.0)
    # and as binary cross-entropy with logits Δ = ln p_m − ln(k p_n), labels (1, 0, ..., 0)
    labels = torch.zeros(7, 1 + k, dtype=F64)
    labels[:, 0] = 1
    bce = F.binary_cross_entropy_with_logits(log_pm - log_pn - math.log(k), labels, reduction="none").sum(-1)
    assert_close(nce_loss(log_pm, log_pn, k), bce, dtype=F64, n=2 * k, scale=10.0)


def test_nce_objective_is_gutmann_hyvarinens_with_r_nu():
    g = torch.Generator().manual_seed(1)
    gx, gy = torch.randn(50, generator=g, dtype=F64), torch.randn(500, generator=g, dtype=F64)   # G = ln p_m − ln p_n
    nu = 10.0

    def h(u):  # r_ν(G) = 1 / (1 + ν exp(−G))
        return 1 / (1 + nu * torch.exp(-u))

    j_t = (h(gx).log().sum() + (1 - h(gy)).log().sum()) / 50
    zero = torch.zeros(1, dtype=F64)
    ours = nce_objective(gx, zero.expand(50), gy, zero.expand(500))
    assert_close(ours, -j_t, dtype=F64, n=550, scale=100.0)
    assert torch.equal(nce_logit(gx, zero, nu), gx - zero - math.log(nu))


def _exact_objective(theta: torch.Tensor, p_d: torch.Tensor, p_n: torch.Tensor, k: float) -> torch.Tensor:
    """J = Σ_w p_d(w) ln σ(Δ_w) + k Σ_w p_n(w) ln(1 − σ(Δ_w)), the model p_m = softmax(θ)."""
    delta = nce_logit(torch.log_softmax(theta, -1), p_n.log(), k)
    return (p_d * F.logsigmoid(delta)).sum() + k * (p_n * F.logsigmoid(-delta)).sum()


def test_sampled_loss_averages_to_the_exact_objective_over_enumerated_noise():
    g = torch.Generator().manual_seed(2)
    v, k = 5, 2
    theta = torch.randn(v, generator=g, dtype=F64)
    p_d, p_n = torch.softmax(torch.randn(v, generator=g, dtype=F64), -1), torch.softmax(torch.randn(v, generator=g,
                                                                                                    dtype=F64), -1)
    log_pm, log_pn = torch.log_softmax(theta, -1), p_n.log()
    expected = torch.zeros((), dtype=F64)
    for w in range(v):                                   # every data word and every pair of noise words
        for noise in itertools.product(range(v), repeat=k):
            words = torch.tensor([w, *noise])
            weight = p_d[w] * torch.prod(p_n[list(noise)])
            expected = expected + weight * nce_loss(log_pm[words], log_pn[words], k)
    assert_close(expected, -_exact_objective(theta, p_d, p_n, k), dtype=F64, n=v ** 3, scale=10.0)


def test_nce_gradient_tends_to_the_maximum_likelihood_gradient_as_k_grows():
    g = torch.Generator().manual_seed(3)
    v = 6
    theta = torch.randn(v, generator=g, dtype=F64, requires_grad=True)
    p_d = torch.softmax(torch.randn(v, generator=g, dtype=F64), -1)
    p_n = torch.softmax(torch.randn(v, generator=g, dtype=F64), -1)
    (ml,) = torch.autograd.grad((p_d * torch.log_softmax(theta, -1)).sum(), theta)
    p_m = torch.softmax(theta, -1).detach()
    jac = torch.eye(v, dtype=F64) - p_m                  # ∂ ln p_m(w) / ∂θ, row w
    gaps = []
    for k in (1.0, 10.0, 100.0, 1e4, 1e6):
        (nce,) = torch.autograd.grad(_exact_objective(theta, p_d, p_n, k), theta)
        # M&T Section 3: ∂J/∂θ = Σ_w [k p_n / (p_m + k p_n)] (p_d − p_m) ∂ ln p_m(w)/∂θ
        weight = k * p_n / (p_m + k * p_n)
        assert_close(nce, ((weight * (p_d - p_m))[:, None] * jac).sum(0), dtype=F64, n=4 * v, scale=10.0)
        gaps.append(float((nce - ml).abs().max()))
    assert all(b < a for a, b in zip(gaps, gaps[1:]))
    assert gaps[-1] < 1e-5 * float(ml.abs().max()) and gaps[0] > 1e-2 * float(ml.abs().max())


# --- the ICA model ---------------------------------------------------------------------------------------

def test_laplace_ica_density_is_torch_laplace_of_the_sources_with_the_jacobian():
    g = torch.Generator().manual_seed(4)
    b = torch.randn(4, 4, generator=g, dtype=F64)
    x = torch.randn(100, 4, generator=g, dtype=F64)
    model = LaplaceICA(dim=4, normalised=True, init=b)
    laplace = torch.distributions.Laplace(torch.tensor(0.0, dtype=F64), torch.tensor(0.5, dtype=F64).sqrt())
    ref = laplace.log_prob(x @ b.T).sum(-1) + torch.linalg.slogdet(b)[1]
    with torch.no_grad():
        assert_close(model(x), ref, dtype=F64, n=16, scale=30.0)
    # −ln Z by 2-d quadrature of exp(−√2 Σ|b_iᵀx|)
    b2 = torch.tensor([[1.3, 0.4], [-0.5, 0.9]], dtype=F64)
    grid = torch.linspace(-25, 25, 2001, dtype=F64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([xx, yy], -1).reshape(-1, 2)
    with torch.no_grad():
        dens = LaplaceICA(dim=2, init=b2).log_unnormalised(pts).exp().reshape(2001, 2001)
    z = torch.trapezoid(torch.trapezoid(dens, grid), grid)
    assert abs(-float(z.log()) - float(laplace_ica_log_normaliser(b2))) < 1e-3   # grid error ~ h², h = 0.025


def test_sources_have_unit_variance_and_matching_is_invariant_to_order_and_sign():
    s = laplace_sources(torch.Generator().manual_seed(5), 200_000, 2)
    _within(s.var(0), torch.ones(2, dtype=F64), 5 * math.sqrt(5 / 200_000))   # var of s² is 5 for Laplace
    b = random_mixing(torch.Generator().manual_seed(6), 4, 10.0)
    shuffled = b[[2, 0, 3, 1]] * torch.tensor([[1.0], [-1.0], [-1.0], [1.0]], dtype=F64)
    assert matched_sq_error(shuffled, b) == 0.0 and matched_sq_error(b + 0.1, b) > 0


def test_nce_recovers_the_ica_model_and_its_normaliser():
    gen = torch.Generator().manual_seed(7)
    a = random_mixing(gen, 4, 10.0)
    b = torch.linalg.inv(a)
    x = laplace_sources(gen, 4000, 4) @ a.T
    noise = torch.distributions.MultivariateNormal(x.mean(0), covariance_matrix=torch.cov(x.T))
    y = noise.loc + torch.randn(40_000, 4, generator=gen, dtype=F64) @ noise.scale_tril.T
    start = torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T)))
    nce, ml = fit_nce(x, y, noise, start, 200), fit_ml(x, start, 200)
    with torch.no_grad():
        assert abs(float(nce.c) - float(laplace_ica_log_normaliser(b))) < 0.1     # c started at 0, off by ~1.4
        assert matched_sq_error(nce.b, b) < 0.1 and matched_sq_error(ml.b, b) < 0.1
        assert matched_sq_error(torch.linalg.inv(start), b) > 1.0                  # the start was far


# --- the language model --------------------------------------------------------------------------------

@pytest.mark.parametrize("sparse", [False, True])
def test_gathered_scores_equal_the_full_softmax_logits_at_those_rows(sparse):
    torch.manual_seed(0)
    model = LogBilinearLM(vocab_size=50, dim=8, sparse=sparse)
    ctx, words = torch.randint(0, 50, (6, 2)), torch.randint(0, 50, (6, 4))
    full = model(ctx).gather(1, words)
    gathered = model.score(model.predict(ctx), words)
    assert_close(gathered, full, dtype=torch.float32, n=8, scale=1.0)
    gathered.sum().backward()
    grads = {n: p.grad.to_dense() if p.grad.is_sparse else p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    model(ctx).gather(1, words).sum().backward()
    for n, p in model.named_parameters():
        assert_close(grads[n], p.grad.to_dense() if p.grad.is_sparse else p.grad, dtype=torch.float32, n=8, scale=1.0)
        if n == "target_embed":   # only the gathered rows get a gradient
            untouched = torch.ones(50, dtype=torch.bool)
            untouched[words.flatten()] = False
            assert (grads[n][untouched] == 0).all()


def test_lbl_context_is_a_sum_of_position_matrices():
    torch.manual_seed(1)
    model = LogBilinearLM(vocab_size=20, dim=4, context=2)
    ctx = torch.tensor([[3, 7]])
    r = model.context_embed.detach()
    q_hat = model.context_weights[0] @ r[3] + model.context_weights[1] @ r[7]
    assert_close(model.predict(ctx)[0], q_hat, dtype=torch.float32, n=8, scale=1.0)


def test_noise_sampler_draws_the_unigram_distribution_and_never_zero_mass_words():
    probs = torch.tensor([0.0, 0.5, 0.3, 0.0, 0.2])
    sample = NoiseSampler(probs.log(), torch.Generator().manual_seed(0))((200_000,))
    counts = torch.bincount(sample, minlength=5).double() / 200_000
    assert counts[0] == 0 and counts[3] == 0
    _within(counts, probs.double(), 5 * math.sqrt(0.25 / 200_000))


def test_ngram_examples_pad_the_start_with_the_end_of_sentence_id():
    x, y = ngram_examples(torch.tensor([5, 6, 7]), 2, bos=1)
    assert x.tolist() == [[1, 1], [1, 5], [5, 6]] and y.tolist() == [5, 6, 7]


# --- the corpus ----------------------------------------------------------------------------------------

def test_brown_reader_and_splits(shared_data):
    docs = read_brown(shared_data)
    assert len(docs) == 500 and docs[0].fileid == "ca01" and docs[0].category == "news"
    assert docs[0].sentences[0][:4] == ("The", "Fulton", "County", "Grand")
    assert len({d.category for d in docs}) == 15
    corpus = brown_corpus(LmData(vocab_size=1000), shared_data)
    assert len(corpus.train) + len(corpus.val) + len(corpus.test) == BROWN_WORDS + BROWN_SENTENCES   # + one </s> each
    assert len(corpus.vocab) == 1000 and EOS in corpus.vocab.stoi and corpus.log_noise[0] == -math.inf
    assert abs(float(corpus.log_noise.double().exp().sum()) - 1) < tol(torch.float32, len(corpus.vocab))


def test_brown_reader_rejects_a_damaged_archive(tmp_path):
    folder = tmp_path / "nltk"
    folder.mkdir()
    with zipfile.ZipFile(folder / "brown.zip", "w") as z:
        z.writestr("brown/cats.txt", "ca01 news\n")
        z.writestr("brown/ca01", "\n\tThe/at jury/nn said\n")
    with pytest.raises(DataError, match="word/tag"):
        read_brown(tmp_path)
    with zipfile.ZipFile(folder / "brown.zip", "w") as z:
        z.writestr("brown/cats.txt", "ca01 news\n")
        z.writestr("brown/ca01", "\n\tThe/at jury/nn\n")
    with pytest.raises(DataError, match="500"):
        read_brown(tmp_path)


# --- verdict rules on constructed outcomes ------------------------------------------------------------------

def _lm_outcome(*, ml_nll=5.0, k25_gap=0.0, log_z=0.0, speedup=4.0, epochs=1.0, n=2000):
    g = torch.Generator().manual_seed(0)
    base = 5.0 + torch.randn(n, generator=g, dtype=F64)
    out = Outcome()
    out.add_exact("train_epochs", epochs)
    nll = {"ml": ml_nll - 5.0, "nce_k1": 0.5, "nce_k5": 0.2, "nce_k25": k25_gap, "nce_k100": k25_gap - 0.01}
    for arm, shift in nll.items():
        out.add_items(f"test_nll/{arm}", [(base + shift + 0.01 * torch.randn(n, generator=g, dtype=F64)).tolist()])
    out.add_items("log_partition/nce_k25", [(log_z + 0.05 * torch.randn(n, generator=g, dtype=F64)).tolist()])
    out.add_items("speedup/nce_k25", [[speedup * (1 + 0.02 * i) for i in range(-3, 4)]])
    return out


def test_language_model_verdicts_on_constructed_outcomes():
    claim = get_claim("nce.language-model")
    p = claim.preset("cpu")
    assert claim.verdict(_lm_outcome(), p).status == "holds"
    assert claim.verdict(_lm_outcome(k25_gap=0.2), p).status == "does not hold"     # NCE k=25 worse than ML
    assert claim.verdict(_lm_outcome(log_z=0.5), p).status == "does not hold"       # not self-normalised
    assert claim.verdict(_lm_outcome(speedup=0.5), p).status == "does not hold"     # slower than ML
    assert claim.verdict(_lm_outcome(k25_gap=0.05), p).status == "inconclusive"    # at the margin
    assert claim.verdict(_lm_outcome(epochs=0.25), p).status == "inconclusive"      # too short


def _ica_outcome(p, *, c_bias=0.0, nce_excess=0.02, reps=12):
    g = torch.Generator().manual_seed(0)
    out = Outcome()
    sizes, nus = p.train.sample_sizes, p.train.nus
    for i, t in enumerate(sizes):
        base = -1.0 - i + 0.1 * torch.randn(reps, generator=g, dtype=F64)
        out.add(f"log10_sq_error_B/ml_T{t}", base.tolist())
        for j, nu in enumerate(nus):
            excess = 0.3 if j == 0 else nce_excess
            noise = 0.03 * torch.randn(reps, generator=g, dtype=F64)
            out.add(f"log10_sq_error_B/nce{nu:g}_T{t}", (base + excess + noise).tolist())
            out.add(f"log10_sq_error_c/nce{nu:g}_T{t}", (base - 1 + noise).tolist())
            bias = c_bias + 0.01 * torch.randn(reps, generator=g, dtype=F64)
            out.add(f"c_minus_true/nce{nu:g}_T{t}", bias.tolist())
    return out


def test_consistency_verdicts_on_constructed_outcomes():
    claim = get_claim("nce.consistency")
    p = claim.preset("quick")
    assert claim.verdict(_ica_outcome(p), p).status == "holds"
    assert claim.verdict(_ica_outcome(p, c_bias=0.2), p).status == "does not hold"
    assert claim.verdict(_ica_outcome(p, nce_excess=0.5), p).status == "does not hold"
    assert claim.verdict(_ica_outcome(p, c_bias=0.05), p).status == "inconclusive"
