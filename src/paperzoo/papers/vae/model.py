"""The variational auto-encoder of Kingma & Welling (2013), *Auto-Encoding Variational Bayes*,
arXiv:1312.6114, and its SGVB estimators.

* Appendix C.2: the encoder q_φ(z|x) is an MLP with one hidden layer giving the mean μ and the
  log-variance log σ² of a diagonal Gaussian; Appendix C.1: the decoder p_θ(x|z) is an MLP with
  one hidden layer giving Bernoulli means for the pixels. The paper's MNIST nets have 500 hidden
  units and tanh hidden units (Appendix C); the prior is p(z) = N(0, I).
* Section 5: parameters are initialised from N(0, 0.01) (read as the standard deviation); biases
  are zero (the paper does not say; we use zero).
* Eq. 10: z = μ + σ ⊙ ε, ε ~ N(0, I) (the reparameterisation trick of Section 2.4).
* Eq. 6 (estimator A): L^A = 1/L Σ_l [log p(x, z_l) − log q(z_l|x)], everything by Monte Carlo.
* Eq. 7 (estimator B): L^B = −KL(q(z|x) ‖ p(z)) + 1/L Σ_l log p(x|z_l), with the KL in closed
  form (Appendix B).
* Section 2.4's baseline gradient: the score-function (REINFORCE) estimator
  ∇_φ E_q[f(z)] = E_q[f(z) ∇_φ log q_φ(z|x)], as a surrogate loss whose autograd gradient is it.
* Section 5's baseline: the wake-sleep algorithm (Hinton et al. 1995) with the same encoder as
  recognition model: the wake phase fits θ to (x, z ~ q(z|x)), the sleep phase fits φ to
  "dreams" (z ~ p(z), x ~ p(x|z)).
* Section 5 / Fig. 3 estimate log p(x) by HMC-based importance sampling; we use plain importance
  sampling with q(z|x) as the proposal (Burda et al. 2016's bound, which tends to log p(x) as the
  number of samples grows): log p(x) ≈ log 1/K Σ_k p(x, z_k) / q(z_k|x).

Deviations: none in the model; the marginal likelihood is estimated by importance sampling with
q(z|x), not with the paper's HMC-based estimator (Appendix D); ``activation`` lets Adam's Section 6.4
use softplus hidden units (:class:`paperzoo.papers.adam.model.VAE`), which is this class with Adam's
defaults. No model is
registered: the VAE is not a classifier.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["VAE", "elbo_a", "elbo_b", "gaussian_kl", "importance_log_likelihood", "log_bernoulli", "log_normal",
           "negative_elbo", "reparameterise", "score_function_surrogate", "wake_sleep_loss"]

ACTIVATIONS = {"tanh": torch.tanh, "softplus": F.softplus}
LOG_2PI = math.log(2 * math.pi)


class VAE(nn.Module):
    """Encoder q(z|x): h = act(W₁x + b₁), μ = W₂h + b₂, log σ² = W₃h + b₃ (Appendix C.2).
    Decoder p(x|z): h' = act(W₄z + b₄), logits = W₅h' + b₅, x ~ Bernoulli(sigmoid(logits)) (Appendix C.1).
    ``forward`` returns (logits, μ, log σ²) with one z per example drawn by Eq. 10.
    """

    def __init__(self, *, in_features: int = 784, hidden: int = 500, latent: int = 20, init_std: float = 0.01,
                 activation: str = "tanh"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.enc = nn.Linear(in_features, hidden)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.dec = nn.Linear(latent, hidden)
        self.out = nn.Linear(hidden, in_features)
        for layer in (self.enc, self.mu, self.logvar, self.dec, self.out):
            nn.init.normal_(layer.weight, 0.0, init_std)
            nn.init.zeros_(layer.bias)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """φ: the parameters of q(z|x)."""
        return [p for m in (self.enc, self.mu, self.logvar) for p in m.parameters()]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, ...) in [0, 1]
        h = ACTIVATIONS[self.activation](self.enc(x.flatten(1)))  # (B, hidden)
        return self.mu(h), self.logvar(h)  # (B, latent), (B, latent)

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (..., latent)
        return self.out(ACTIVATIONS[self.activation](self.dec(z)))  # (..., in_features): Bernoulli logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = reparameterise(mu, logvar)  # (B, latent)
        return self.decode(z), mu, logvar  # (B, in_features), (B, latent), (B, latent)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = μ + σ ⊙ ε with σ = exp(½ log σ²); ε ~ N(0, I) unless given."""
    eps = torch.randn_like(mu) if eps is None else eps
    # Eq. 10: z = μ + σ ⊙ ε, ε ~ N(0, I)
    return mu + (0.5 * logvar).exp() * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) over the last axis, in closed form."""
    # Appendix B: −KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(-1)


def log_bernoulli(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x|z) = Σ_pixels x log y + (1 − x) log(1 − y), y = sigmoid(logits) (Appendix C.1); x (B, D)."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor | float = 0.0, logvar: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; μ, diag σ²), summed over the last axis."""
    logvar = torch.as_tensor(logvar, dtype=z.dtype)
    return -0.5 * (LOG_2PI + logvar + (z - mu).square() / logvar.exp()).sum(-1)


def elbo_a(model: VAE, x: torch.Tensor, samples: int = 1) -> torch.Tensor:
    """Estimator A (Eq. 6) of the ELBO per example, (B,), with ``samples`` draws of z each."""
    mu, logvar = model.encode(x)  # (B, latent)
    z = reparameterise(mu.expand(samples, *mu.shape), logvar.expand(samples, *logvar.shape))  # (L, B, latent)
    log_joint = log_bernoulli(x.flatten(1), model.decode(z)) + log_normal(z)  # (L, B): log p(x|z) + log p(z)
    # Eq. 6: L^A = 1/L Σ_l [log p(x, z_l) − log q(z_l|x)]
    return (log_joint - log_normal(z, mu, logvar)).mean(0)


def elbo_b(model: VAE, x: torch.Tensor, samples: int = 1) -> torch.Tensor:
    """Estimator B (Eq. 7) of the ELBO per example, (B,), with ``samples`` draws of z each."""
    mu, logvar = model.encode(x)  # (B, latent)
    z = reparameterise(mu.expand(samples, *mu.shape), logvar.expand(samples, *logvar.shape))  # (L, B, latent)
    # Eq. 7: L^B = −KL(q(z|x) ‖ p(z)) + 1/L Σ_l log p(x|z_l)
    return -gaussian_kl(mu, logvar) + log_bernoulli(x.flatten(1), model.decode(z)).mean(0)


def negative_elbo(model: VAE, x: torch.Tensor, *, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss Kingma & Welling minimise, per example (nats), with one sample of z (estimator B, L = 1):
    −log p(x|z) + KL(q(z|x) ‖ N(0, I)). Returns (loss, KL), each averaged over the batch. ``beta``
    weighs the KL term (β = 1: the ELBO; other values: Higgins et al. 2017's β-VAE objective)."""
    logits, mu, logvar = model(x)
    # −log p(x|z) = Σ_pixels BCE(x, sigmoid(logits))
    recon = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)  # (B,)
    kl = gaussian_kl(mu, logvar)  # (B,), Appendix B
    return (recon + beta * kl).mean(), kl.mean()


def score_function_surrogate(model: VAE, x: torch.Tensor, samples: int = 1) -> torch.Tensor:
    """A scalar whose gradient in φ is the score-function estimate of ∇_φ ELBO (estimator A's integrand,
    averaged over ``samples`` draws and the batch); its gradient in θ is estimator A's."""
    mu, logvar = model.encode(x)  # (B, latent)
    with torch.no_grad():  # z is drawn, not reparameterised: no path from φ through z
        z = reparameterise(mu.expand(samples, *mu.shape), logvar.expand(samples, *logvar.shape))  # (L, B, latent)
    log_q = log_normal(z, mu, logvar)  # (L, B): log q_φ(z|x), differentiable in φ
    log_joint = log_bernoulli(x.flatten(1), model.decode(z)) + log_normal(z)  # (L, B): log p_θ(x, z), θ only
    f = (log_joint - log_q).detach()  # (L, B): the integrand, held fixed
    # ∇_φ E_q[f] = E_q[f ∇_φ log q_φ(z|x)] (the term E_q[∇_φ f] = −E_q[∇_φ log q] is 0 and left out);
    # ∇_θ: E_q[∇_θ log p_θ(x, z)]
    return (f * log_q + log_joint).mean()


def wake_sleep_loss(model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Wake-sleep's two losses (Hinton et al. 1995) for a VAE-shaped model, per example, batch-averaged:
    (wake + sleep, wake, sleep). Wake: −log p_θ(x, z) with z ~ q_φ(z|x) drawn (no gradient into φ).
    Sleep: −log q_φ(z|x) on a dream z ~ p(z), x ~ Bernoulli(p_θ(x|z)) (no gradient into θ). Each loss
    reaches only its own parameters, so one optimiser over both minimises them together."""
    x = x.flatten(1)  # (B, D)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = reparameterise(mu, logvar)  # (B, latent), drawn from q(z|x)
    wake = -(log_bernoulli(x, model.decode(z)) + log_normal(z)).mean()  # θ only: the prior has no parameters
    with torch.no_grad():
        z_dream = torch.randn_like(z)  # (B, latent) ~ p(z)
        x_dream = torch.bernoulli(torch.sigmoid(model.decode(z_dream)))  # (B, D) ~ p(x|z)
    mu_d, logvar_d = model.encode(x_dream)
    sleep = -log_normal(z_dream, mu_d, logvar_d).mean()  # φ only
    return wake + sleep, wake, sleep


@torch.no_grad()
def importance_log_likelihood(model: VAE, x: torch.Tensor, samples: int = 1000, chunk: int = 100,
                              defensive: float = 0.0) -> torch.Tensor:
    """log p(x) per example, (B,), by importance sampling with ``samples`` draws (a stochastic lower bound in
    expectation that tightens as ``samples`` grows, Burda et al. 2016):
    log p(x) ≈ logsumexp_k [log p(x|z_k) + log p(z_k) − log r(z_k|x)] − log K.

    The proposal r is q(z|x), or with ``defensive`` = α > 0 the mixture α p(z) + (1 − α) q(z|x) (Hesterberg's
    defensive importance sampling): its weights are at most p(x|z)/α, so a poor q (a wake-sleep recognition model
    fitted to dreams) cannot make the estimate arbitrarily loose."""
    x = x.flatten(1)
    mu, logvar = model.encode(x)  # (B, latent)
    weights = []
    for start in range(0, samples, chunk):
        n = min(chunk, samples - start)
        z = reparameterise(mu.expand(n, *mu.shape), logvar.expand(n, *logvar.shape))  # (n, B, latent)
        if defensive:
            from_prior = torch.rand(n, mu.shape[0], 1) < defensive  # (n, B, 1)
            z = torch.where(from_prior, torch.randn_like(z), z)
            log_r = torch.logaddexp(math.log(defensive) + log_normal(z),
                                    math.log1p(-defensive) + log_normal(z, mu, logvar))  # (n, B)
        else:
            log_r = log_normal(z, mu, logvar)
        weights.append(log_bernoulli(x, model.decode(z)) + log_normal(z) - log_r)  # (n, B)
    return torch.logsumexp(torch.cat(weights), 0) - math.log(samples)


def posterior_gradients(model: VAE, x: torch.Tensor, draws: int,
                        estimator: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Single-sample (L = 1) estimates of ∇ ELBO(x) with respect to q's outputs μ and log σ² for one image
    ``x`` (D,), ``draws`` independent estimates: (g_μ (draws, latent), g_logσ² (draws, latent), h (hidden,)).

    ``estimator="reparameterised"``: the gradient of f(z) = log p(x, z) − log q(z|x) at z = μ + σ ⊙ ε (Eq. 10);
    ``"score-function"``: f(z) ∇ log q(z|x) at z ~ q (z not differentiated). Both are unbiased for the same
    gradient. The heads are linear (μ = W₂h + b₂), so the gradient in W₂ of one draw is g_μ hᵀ and in b₂ it
    is g_μ: these three tensors give the estimators' variance over the heads' parameters exactly."""
    if estimator not in ("reparameterised", "score-function"):
        raise ValueError(f"estimator must be 'reparameterised' or 'score-function', got {estimator!r}")
    with torch.no_grad():
        h = ACTIVATIONS[model.activation](model.enc(x.flatten()))  # (hidden,)
        mu0, logvar0 = model.mu(h), model.logvar(h)  # (latent,)
    mu = mu0.expand(draws, -1).clone().requires_grad_(True)  # (draws, latent): one leaf copy per draw
    logvar = logvar0.expand(draws, -1).clone().requires_grad_(True)
    eps = torch.randn_like(mu)
    if estimator == "reparameterised":
        z = reparameterise(mu, logvar, eps)  # (draws, latent), a function of (μ, log σ²)
        f = log_bernoulli(x.flatten()[None], model.decode(z)) + log_normal(z) - log_normal(z, mu, logvar)
        objective = f.sum()
    else:
        with torch.no_grad():
            z = reparameterise(mu, logvar, eps)  # drawn, held fixed
            f = log_bernoulli(x.flatten()[None], model.decode(z)) + log_normal(z) - log_normal(z, mu0, logvar0)
        objective = (f * log_normal(z, mu, logvar)).sum()  # ∇ = f ∇ log q (E_q[∇ f] = 0 is left out)
    g_mu, g_logvar = torch.autograd.grad(objective, (mu, logvar))
    return g_mu, g_logvar, h
