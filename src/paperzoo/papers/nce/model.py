"""Noise-contrastive estimation (NCE) and the models its two papers estimate with it.

Gutmann & Hyvärinen (2010). *Noise-contrastive estimation: A new estimation principle for
unnormalized statistical models*. AISTATS, PMLR 9:297-304 (G&H below); their longer paper,
Gutmann & Hyvärinen (2012), JMLR 13:307-361 (G&H 2012), generalises it to ν noise samples per
data sample and shows that "for large noise sample sizes, the new estimator is furthermore shown
to behave like the maximum likelihood estimator" (its abstract).
Mnih & Teh (2012). *A fast and simple algorithm for training neural probabilistic language
models*. ICML 2012, arXiv:1206.6426 (M&T below).

The estimation principle (G&H Section 2; M&T Section 3):

* The model is unnormalised, its normaliser a parameter: ln p_m(u; θ) = ln p⁰_m(u; α) + c, θ = (α, c),
  so c estimates −ln Z(α) (G&H Section 2.1). M&T write P_θ^h(w) = exp(s_θ(w, h) + c_h) per context h
  and *fix* c_h = 0 (they report that learning the c_h instead did not change the results: the
  model self-normalises).
* Data u ~ p_d is told apart from noise u ~ p_n, with k (M&T) or ν = T_n / T_d (G&H 2012) noise
  samples per data sample, by logistic regression on the log-ratio: the posterior that u is data
  is P(D = 1 | u) = p_m(u) / (p_m(u) + k p_n(u)) = σ(Δ(u)),  Δ(u) = ln p_m(u) − ln(k p_n(u))
  (G&H: h(u; θ) = r(G(u; θ)) with G = ln p_m − ln p_n and r the logistic function, whose ν-form
  is r_ν(G) = 1 / (1 + ν e^{−G}) = σ(G − ln ν); M&T: P^h(D = 1 | w, θ)).
* The objective is the log-likelihood of that classifier (G&H: J_T; M&T: J^h):
  J = E_{p_d}[ln σ(Δ(u))] + k E_{p_n}[ln(1 − σ(Δ(u)))], estimated with the data and k sampled
  noise points per data point. Its maximiser is consistent, the normaliser included (G&H Theorem
  1, for a noise density that is nonzero wherever the data's is), and its gradient tends to the
  maximum-likelihood gradient as k → ∞ (M&T Section 3): with exact expectations,
  ∂J/∂θ = Σ_u [k p_n(u) / (p_m(u) + k p_n(u))] (p_d(u) − p_m(u)) ∂ ln p_m(u)/∂θ, whose weight → 1.

:func:`nce_logit` is Δ, :func:`nce_loss` the negated sampled objective per data point (what a
minibatch averages), :func:`nce_objective` G&H's J_T over a data set and a separate noise set.

Models:

* :class:`LaplaceICA` — G&H Section 4.1's test model: x = A s with independent Laplacian sources of
  unit variance, ln p_m(x; B, c) = −√2 Σ_i |b_iᵀ x| + c with B = A⁻¹ (rows b_i), whose normaliser
  is known: −ln Z(B) = ln |det B| − (n/2) ln 2 (:func:`laplace_ica_log_normaliser`), so NCE's c
  can be checked and maximum likelihood (the normalised model) is the reference.
* :class:`LogBilinearLM` — the log-bilinear language model of Mnih & Hinton (2007), M&T Section 2's
  model: context words w_1..w_{n-1} have representations r_w, the predicted representation is
  q̂ = Σ_i C_i r_{w_i} (one d×d matrix per context position), and the score of word w is
  s_θ(w, h) = q̂ᵀ q_w + b_w with target representations q_w and biases b_w. ``forward`` gives the
  full-softmax logits s_θ(·, h) over the vocabulary (B, V); :meth:`LogBilinearLM.score` evaluates
  s_θ only at given words by gathering their rows of the output matrix, which is all NCE needs
  (k + 1 rows per context instead of V): that is where its speed comes from.

Deviations: M&T's Penn Treebank LBL uses a 2-word context and 100-dimensional representations
(those are our defaults); they give no initialisation: we draw the representations from N(0, 0.1²),
the context matrices from N(0, 1/d) and start the biases at zero (so an untrained model is far
from normalised: ln Z ≈ ln V, and NCE has to learn self-normalisation). The equations are cited
by section and by name, not by number: the papers' text could not be consulted here to check
their numbering.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...registry import register_model

__all__ = ["LaplaceICA", "LogBilinearLM", "laplace_ica_log_normaliser", "lbl", "lbl_tiny", "nce_logit",
           "nce_loss", "nce_objective"]

SQRT2 = math.sqrt(2.0)


# --- the NCE objective ---------------------------------------------------------------------------

def nce_logit(log_model: torch.Tensor, log_noise: torch.Tensor, k: float) -> torch.Tensor:
    """Δ = ln p_m(u) − ln(k p_n(u)), the logit of P(D = 1 | u): G&H's G(u; θ) − ln ν, M&T's
    s_θ(w, h) + c_h − ln(k P_n(w))."""
    # P(D=1|u) = p_m / (p_m + k p_n) = σ(ln p_m − ln p_n − ln k)
    return log_model - log_noise - math.log(k)


def nce_loss(log_model: torch.Tensor, log_noise: torch.Tensor, k: float) -> torch.Tensor:
    """The negated NCE objective of each data point with its noise samples (M&T Section 3, J^h
    with the expectations replaced by one data word and its k noise words).

    ``log_model`` and ``log_noise`` are (..., 1 + m): column 0 the data point's ln p_m and ln p_n,
    columns 1..m its noise samples' (m = k in M&T). Returns (...):
    −[ln σ(Δ_0) + Σ_{j≥1} ln(1 − σ(Δ_j))] = softplus(−Δ_0) + Σ_j softplus(Δ_j).
    """
    delta = nce_logit(log_model, log_noise, k)  # (..., 1 + m)
    # ln σ(Δ) = −softplus(−Δ),  ln(1 − σ(Δ)) = −softplus(Δ)
    return F.softplus(-delta[..., 0]) + F.softplus(delta[..., 1:]).sum(-1)


def nce_objective(data_log_model: torch.Tensor, data_log_noise: torch.Tensor, noise_log_model: torch.Tensor,
                  noise_log_noise: torch.Tensor) -> torch.Tensor:
    """G&H's objective over a data set (T_d points) and a noise set (T_n = ν T_d points), negated
    (a loss): −J_T = −(1/T_d) [Σ_t ln h(x_t) + Σ_t ln(1 − h(y_t))], h = r_ν(G) = σ(G − ln ν).

    G&H (2010) write it for T_n = T_d with the factor 1/(2T); G&H (2012) for any ν with 1/T_d. The
    factor does not move the maximiser. Inputs are 1-D: ln p_m and ln p_n at each point."""
    nu = noise_log_model.shape[0] / data_log_model.shape[0]
    data_delta = nce_logit(data_log_model, data_log_noise, nu)     # (T_d,)
    noise_delta = nce_logit(noise_log_model, noise_log_noise, nu)  # (T_n,)
    return (F.softplus(-data_delta).sum() + F.softplus(noise_delta).sum()) / data_log_model.shape[0]


# --- G&H Section 4.1: the ICA model with Laplacian sources ----------------------------------------

def laplace_ica_log_normaliser(b: torch.Tensor) -> torch.Tensor:
    """−ln Z(B) for p⁰(x) = exp(−√2 Σ_i |b_iᵀ x|): Z = ∫ exp(−√2 Σ|b_iᵀx|) dx = (√2)ⁿ / |det B|
    (substitute s = Bx; each ∫ exp(−√2|s|) ds = √2), so −ln Z = ln |det B| − (n/2) ln 2."""
    n = b.shape[-1]
    return torch.linalg.slogdet(b).logabsdet - 0.5 * n * math.log(2.0)


class LaplaceICA(nn.Module):
    """ln p_m(x; B, c) = −√2 Σ_i |b_iᵀ x| + c (G&H Section 4.1): unit-variance Laplacian sources
    s = Bx. With ``normalised=False`` (NCE) c is a free parameter, the estimate of −ln Z; with
    ``normalised=True`` (maximum likelihood) the known normaliser of
    :func:`laplace_ica_log_normaliser` takes its place and there is no c."""

    def __init__(self, *, dim: int = 4, normalised: bool = False, init: torch.Tensor | None = None):
        super().__init__()
        b0 = torch.eye(dim, dtype=torch.float64) if init is None else init.detach().to(torch.float64)
        b0 = b0.contiguous().clone()
        self.b = nn.Parameter(b0)                                       # (n, n): the rows b_i of B = A⁻¹
        self.normalised = normalised
        self.c = None if normalised else nn.Parameter(torch.zeros((), dtype=torch.float64))

    def log_unnormalised(self, x: torch.Tensor) -> torch.Tensor:
        """ln p⁰_m(x) = −√2 Σ_i |b_iᵀ x|: (N, n) -> (N,)."""
        return -SQRT2 * (x @ self.b.T).abs().sum(-1)

    def log_normaliser(self) -> torch.Tensor:
        """The model's c: the learned one (NCE) or −ln Z(B) (maximum likelihood)."""
        return laplace_ica_log_normaliser(self.b) if self.normalised else self.c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ln p_m(x; θ) = ln p⁰_m(x; α) + c: (N, n) -> (N,)."""
        # G&H Section 2.1: ln p_m(.; θ) = ln p⁰_m(.; α) + c
        return self.log_unnormalised(x) + self.log_normaliser()


# --- M&T Section 2: the log-bilinear language model ----------------------------------------------

class LogBilinearLM(nn.Module):
    """The LBL model (Mnih & Hinton 2007; M&T Section 2): an (n−1)-word context predicts the next word.

    ``forward(context)``: context ids (B, n−1), the oldest word first -> logits s_θ(·, h) (B, V) of the
    full softmax P_θ^h(w) = exp(s_θ(w, h)) / Σ_w' exp(s_θ(w', h)). :meth:`predict` gives q̂ (B, d),
    :meth:`score` s_θ(w, h) at chosen words only (B, m), by gathering rows of the output matrix.
    """

    def __init__(self, *, vocab_size: int = 10000, dim: int = 100, context: int = 2, init_std: float = 0.1,
                 sparse: bool = False):
        super().__init__()
        self.vocab_size, self.dim, self.context, self.sparse = vocab_size, dim, context, sparse
        self.context_embed = nn.Parameter(torch.empty(vocab_size, dim))         # r_w
        self.context_weights = nn.Parameter(torch.empty(context, dim, dim))     # C_i
        self.target_embed = nn.Parameter(torch.empty(vocab_size, dim))          # q_w (rows of the output matrix)
        self.bias = nn.Parameter(torch.zeros(vocab_size, 1))                     # b_w (a column: rows gather)
        nn.init.normal_(self.context_embed, std=init_std)
        nn.init.normal_(self.target_embed, std=init_std)
        nn.init.normal_(self.context_weights, std=1.0 / math.sqrt(dim))

    def predict(self, context: torch.Tensor) -> torch.Tensor:
        """q̂ = Σ_i C_i r_{w_i}: (B, n−1) ids -> (B, d)."""
        r = F.embedding(context, self.context_embed, sparse=self.sparse)  # (B, n−1, d)
        # M&T Section 2: q̂ = Σ_{i=1}^{n−1} C_i r_{w_i}
        return torch.einsum("bid,ied->be", r, self.context_weights)  # context_weights[i] = C_i (d×d)

    def score(self, q_hat: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """s_θ(w, h) = q̂ᵀ q_w + b_w at the given words only: q̂ (B, d), words (B, m) -> (B, m)."""
        q = F.embedding(words, self.target_embed, sparse=self.sparse)   # (B, m, d): gathered rows
        b = F.embedding(words, self.bias, sparse=self.sparse)           # (B, m, 1)
        # M&T Section 2: s_θ(w, h) = q̂ᵀ q_w + b_w
        return torch.einsum("bd,bmd->bm", q_hat, q) + b.squeeze(-1)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Full-softmax logits s_θ(·, h): (B, n−1) ids -> (B, V)."""
        q_hat = self.predict(context)                                   # (B, d)
        return q_hat @ self.target_embed.T + self.bias.T                # (B, V)


def _random_context(vocab_size: int, context: int):
    return lambda n: torch.randint(0, vocab_size, (n, context), generator=torch.Generator().manual_seed(0))


@register_model(paper="nce", input_size=(2,), num_classes=10000, example_input=_random_context(10000, 2))
def lbl(*, vocab_size: int = 10000, dim: int = 100, context: int = 2) -> LogBilinearLM:
    """M&T's Penn Treebank LBL: a 2-word context, 100-d representations, a 10k-word vocabulary."""
    return LogBilinearLM(vocab_size=vocab_size, dim=dim, context=context)


@register_model(paper="nce", input_size=(2,), num_classes=100, tiny=True, example_input=_random_context(100, 2))
def lbl_tiny(*, vocab_size: int = 100, dim: int = 8, context: int = 2) -> LogBilinearLM:
    """A 100-word, 8-d LBL for tests."""
    return LogBilinearLM(vocab_size=vocab_size, dim=dim, context=context)
