"""What a trained VAE's latent code does: ``vae.manifold`` (Figs. 4-5: the 2-D manifold of MNIST and random
samples), ``vae.kl-weight`` (the notes: the KL term's weight trades reconstruction against the code, and a
large weight collapses it) and ``vae.anomaly`` (the notes list anomaly detection as a use: the ELBO as an
out-of-distribution score, MNIST against Fashion-MNIST in both directions).

Every model is trained by AEVB (estimator B, L = 1) with Section 5's optimiser through
:func:`~paperzoo.papers.vae.task.train_vae`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.distributions import Normal

from ...claims import Claim, Outcome, RunContext
from ...claims import rules as R
from ...claims.catalog import register_claim
from ...claims.figures import image_grid, line_panels, plt
from ...claims.presets import Preset
from ...data import load_dataset
from ...data.root import data_root
from ...metrics.ranking import auroc, auroc_se
from ...train.loop import TrainConfig
from .model import VAE, gaussian_kl, log_bernoulli
from .task import adagrad, grey_levels, lower_bounds, train_vae


@torch.no_grad()
def decode_means(model: VAE, z: torch.Tensor) -> torch.Tensor:
    """The Bernoulli means sigmoid(decoder(z)), (N, 784)."""
    return torch.sigmoid(model.decode(z))


# --- vae.manifold ----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ManifoldPreset(Preset):
    """A 2-D VAE trained for ``train.steps`` (the manifold), and one per ``sample_latents`` for ``sample_steps``
    (random samples, Fig. 5); ``neighbours``: k of the k-NN read-out of the digit from the 2-D code."""

    train: TrainConfig
    sample_latents: tuple[int, ...] = (2, 5, 10, 20)
    sample_steps: int = 5000
    hidden: int = 500
    grid: int = 20
    neighbours: int = 5
    reference_images: int = 10_000    # training images whose codes the k-NN read-out compares with
    test_images: int = 10_000
    #: the claim: the 2-D code tells the digit at least this often (chance: 10%)
    min_accuracy: float = 50.0

    SMOKE: ClassVar[dict[str, str]] = {"sample_latents": "(2,)", "sample_steps": "4", "hidden": "16", "grid": "4",
                                       "reference_images": "200", "test_images": "100"}


@torch.no_grad()
def knn_accuracy(codes: torch.Tensor, labels: torch.Tensor, ref: torch.Tensor, ref_labels: torch.Tensor,
                 k: int) -> torch.Tensor:
    """Per test code, 100 if the majority label of its ``k`` nearest reference codes is right, else 0."""
    correct = []
    for start in range(0, len(codes), 1000):
        d = torch.cdist(codes[start:start + 1000], ref)  # (b, R)
        nearest = ref_labels[d.topk(k, largest=False).indices]  # (b, k)
        votes = torch.nn.functional.one_hot(nearest, 10).sum(1)  # (b, 10)
        correct.append((votes.argmax(1) == labels[start:start + 1000]).double() * 100)
    return torch.cat(correct)


def manifold_experiment(ctx: RunContext) -> Outcome:
    p: ManifoldPreset = ctx.preset
    root = str(data_root(ctx.data_root))
    train, test = load_dataset("mnist", "train", root=root), load_dataset("mnist", "test", root=root)
    out = Outcome(data=test.source)
    accuracies = []
    for seed in ctx.seeds:
        model = train_vae(ctx, "nz=2", p.train, seed=seed, hidden=p.hidden, latent=2).model
        with torch.no_grad():
            ref, _ = model.encode(grey_levels(train)[: p.reference_images])
            codes, _ = model.encode(grey_levels(test)[: p.test_images])
        acc = knn_accuracy(codes, test.labels[: p.test_images], ref, train.labels[: p.reference_images],
                           p.neighbours)
        accuracies.append(acc.tolist())
        if seed != ctx.seeds[0]:
            continue
        # Fig. 4-5: linearly spaced coordinates on the unit square through the Gaussian's inverse CDF
        u = torch.linspace(0.5 / p.grid, 1 - 0.5 / p.grid, p.grid)
        g = Normal(0.0, 1.0).icdf(u)
        z = torch.stack(torch.meshgrid(g.flip(0), g, indexing="ij"), -1).flip(-1).reshape(-1, 2)  # (grid², 2)
        out.figures.append(image_grid(ctx.run_dir / "manifold.png", decode_means(model, z), columns=p.grid,
                                      title="Learned MNIST manifold, N_z = 2 (cf. Fig. 4(b))", cmap="gray_r"))
        fig, ax = plt.subplots(figsize=(5, 4.4), dpi=150)
        points = ax.scatter(codes[:, 0], codes[:, 1], c=test.labels[: p.test_images], cmap="tab10", s=2)
        fig.colorbar(points, ax=ax, label="digit")
        ax.set_xlabel("μ₁")
        ax.set_ylabel("μ₂")
        ax.set_title("Test images' codes, N_z = 2")
        fig.tight_layout()
        fig.savefig(ctx.run_dir / "codes.png")
        plt.close(fig)
        out.figures.append(ctx.run_dir / "codes.png")
        samples = []
        for latent in p.sample_latents:
            steps = adagrad(p.sample_steps, p.train.optimizer.lr)
            m = model if latent == 2 and p.sample_steps == p.train.steps else train_vae(
                ctx, f"samples-nz={latent}", steps, seed=seed, hidden=p.hidden, latent=latent).model
            torch.manual_seed(seed)
            samples.append(decode_means(m, torch.randn(10, latent)))
        out.figures.append(image_grid(ctx.run_dir / "samples.png", torch.cat(samples), columns=10, cmap="gray_r",
                                      title="Random samples (Bernoulli means), one row per N_z = "
                                      + ", ".join(map(str, p.sample_latents)) + " (cf. Fig. 5)"))
    out.add_items("knn_accuracy", accuracies)
    out.tables.append("| read-out | test images | accuracy (%) | chance (%) |\n|---|---|---|---|\n"
                      f"| {p.neighbours}-NN on the 2-D codes μ(x) | {p.test_images:,} | "
                      f"{out.fmt('knn_accuracy')} | 10 |")
    out.notes += [f"VAE 784-{p.hidden}-2, {p.train.steps:,} AEVB iterations of batch 100; the k-NN read-out compares "
                  f"each test image's μ(x) with those of the first {p.reference_images:,} training images.",
                  f"Samples: one model per N_z trained for {p.sample_steps:,} iterations; ten z ~ N(0, I) each, shown "
                  "as the decoder's Bernoulli means."]
    return out


register_claim(Claim(
    id="vae.manifold",
    paper="vae",
    title="A 2-D latent space learned by AEVB is a manifold of MNIST digits",
    statement=("With a two-dimensional latent space, decoding linearly spaced coordinates (through the Gaussian's "
               "inverse CDF) shows the learned data manifold: the code varies the digit's identity and style smoothly. "
               "Read quantitatively: nearby codes are the same digit, so a k-NN read-out of the digit from the 2-D "
               "code is far above chance."),
    source="Figs. 4 and 5 (Appendix A)",
    presets={
        "quick": ManifoldPreset(description="N_z = 2 for 3,000 iterations, samples from N_z = 2 and 20 (3,000 "
                                            "iterations each); about 2 minutes on 2 CPU cores",
                                train=adagrad(3000), sample_latents=(2, 20), sample_steps=3000),
        "cpu": ManifoldPreset(description="N_z = 2 for 20,000 iterations, samples from N_z = 2, 5, 10, 20 (5,000 "
                                          "iterations each); about 12 minutes on 2 CPU cores", train=adagrad(20_000)),
        "full": ManifoldPreset(description="N_z = 2 and the samples' models for 10⁶ iterations (10⁸ samples), all "
                                           "60,000 training codes as reference; hours on one GPU",
                               train=adagrad(1_000_000), sample_steps=1_000_000, reference_images=60_000),
    },
    experiment=manifold_experiment,
    verdict=R.at_least("knn_accuracy", R.Of(lambda p: p.min_accuracy, "the preset's min_accuracy (50)"),
                       fails_below=10.0, unit="%", words="k-NN accuracy of the digit from the 2-D code"),
    notes=("The paper shows the manifold as figures only; the verdict reads it through the k-NN read-out (at least "
           "5× chance; does not hold at chance). The figures are the reproduction.",),
))


# --- vae.kl-weight ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class BetaPreset(Preset):
    """One VAE per KL weight β in ``betas`` (β = 1: the ELBO), trained for ``train.steps``, measured on
    ``test_images`` test images."""

    train: TrainConfig
    betas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    hidden: int = 500
    latent: int = 20
    test_images: int = 2000
    #: Burda et al. (2016): a latent unit is active when Cov_x(E_q[z_u]) exceeds this
    active_threshold: float = 0.01

    SMOKE: ClassVar[dict[str, str]] = {"betas": "(0.5, 2.0)", "hidden": "16", "latent": "4", "test_images": "50"}


def beta_arm(beta: float) -> str:
    return f"beta={beta:g}"


@torch.no_grad()
def rate_distortion(model: VAE, x: torch.Tensor, threshold: float) -> tuple[list[float], list[float], int]:
    """Per image: −log p(x|z) at one z ~ q (distortion, nats) and KL(q(z|x) ‖ p(z)) (rate, nats); and the number
    of active latent units (variance over images of μ_u(x) above ``threshold``)."""
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    distortion = -log_bernoulli(x, model.decode(z))
    active = int((mu.var(0) > threshold).sum())
    return distortion.tolist(), gaussian_kl(mu, logvar).tolist(), active


def beta_experiment(ctx: RunContext) -> Outcome:
    p: BetaPreset = ctx.preset
    test = load_dataset("mnist", "test", root=str(data_root(ctx.data_root)))
    x = grey_levels(test)[: p.test_images]
    out = Outcome(data=test.source)
    active: dict[float, list[int]] = {}
    for beta in p.betas:
        dist, rate, act = [], [], []
        for seed in ctx.seeds:
            run = train_vae(ctx, beta_arm(beta), p.train, seed=seed, hidden=p.hidden, latent=p.latent, beta=beta)
            torch.manual_seed(seed)
            d, r, a = rate_distortion(run.model, x, p.active_threshold)
            dist.append(d)
            rate.append(r)
            act.append(a)
        out.add_items(f"distortion/{beta_arm(beta)}", dist)
        out.add_items(f"rate/{beta_arm(beta)}", rate)
        out.add_exact(f"active_units/{beta_arm(beta)}", act)
        active[beta] = act
    collapsed = [b for b in p.betas if statistics.fmean(active[b]) < 1]
    out.tables.append("\n".join(
        ["| β | distortion −log p(x|z) (nats) | rate KL (nats) | −ELBO = sum (nats) | active units |",
         "|---|---|---|---|---|"]
        + [f"| {b:g}{' (the ELBO)' if b == 1 else ''} | {out.fmt(f'distortion/{beta_arm(b)}')} | "
           f"{out.fmt(f'rate/{beta_arm(b)}')} | "
           f"{out.values[f'distortion/{beta_arm(b)}'] + out.values[f'rate/{beta_arm(b)}']:.2f} | "
           f"{statistics.fmean(active[b]):.1f} of {p.latent} |" for b in p.betas]))
    out.notes.append(f"The code collapses (no active unit) at β = {', '.join(f'{b:g}' for b in collapsed)}."
                     if collapsed else f"No β of {', '.join(f'{b:g}' for b in p.betas)} collapses the code "
                                      "completely (every model keeps at least one active unit).")
    rates = [out.values[f"rate/{beta_arm(b)}"] for b in p.betas]
    dists = [out.values[f"distortion/{beta_arm(b)}"] for b in p.betas]
    out.figures.append(line_panels(
        ctx.run_dir / "rate_distortion.png",
        {"rate-distortion curve": {"VAE per β": (rates, dists)},
         "active units": {"VAE per β": (list(p.betas), [statistics.fmean(active[b]) for b in p.betas])}},
        xlabel="rate KL (nats)  |  β (right panel)", ylabel="distortion (nats)  |  active units",
        styles={"VAE per β": "o-"}, title="The KL weight β trades reconstruction against the code"))
    out.notes += [f"VAE 784-{p.hidden}-{p.latent}, {p.train.steps:,} iterations of batch 100 per β, loss "
                  "−log p(x|z) + β·KL (β = 1: the paper's ELBO). Measured on the first "
                  f"{p.test_images:,} MNIST test images (the same for every β, so differences are paired).",
                  f"Active unit (Burda et al. 2016): Var_x(μ_u(x)) > {p.active_threshold:g}."]
    return out


def rate_falls(p: BetaPreset) -> list[tuple[str, ...]]:
    return [tuple(beta_arm(b) for b in p.betas)]


register_claim(Claim(
    id="vae.kl-weight",
    paper="vae",
    title="The KL weight trades reconstruction against the latent code, and a large weight collapses it",
    statement=("The ELBO's KL term acts as a regulariser whose weight is hard to balance: weighting it by β > 1 "
               "lowers the rate KL(q(z|x) ‖ p(z)) and raises the distortion −log p(x|z), switching latent units "
               "off until the code collapses; β < 1 does the reverse. β = 1 is the paper's ELBO."),
    source="the notes (004, VAE: the KL weight and posterior collapse); Higgins et al. 2017; Alemi et al. 2018",
    presets={
        "quick": BetaPreset(description="β = 0.25, 1, 4, 2,000 iterations each; about 2 minutes on 2 CPU cores",
                            train=adagrad(2000), betas=(0.25, 1.0, 4.0)),
        "cpu": BetaPreset(description="β = 0.25, 0.5, 1, 2, 4, 8, 6,000 iterations each; about 15 minutes on 2 CPU "
                                      "cores", train=adagrad(6000)),
        "full": BetaPreset(description="β = 0.25 to 8, 10⁶ iterations each, all 10,000 test images; hours on one GPU",
                           train=adagrad(1_000_000), test_images=10_000),
    },
    experiment=beta_experiment,
    verdict=R.all_of(
        R.each(R.Of(lambda p: [(beta_arm(a), beta_arm(b)) for a, b in zip(p.betas, p.betas[1:])],
                    "consecutive β"), lambda a, b: R.lower(b, than=a, metric="rate", unit=" nats"),
               example=("β", "the next larger β")),
        R.each(R.Of(lambda p: [(beta_arm(a), beta_arm(b)) for a, b in zip(p.betas, p.betas[1:])],
                    "consecutive β"), lambda a, b: R.higher(b, than=a, metric="distortion", unit=" nats"),
               example=("β", "the next larger β")),
    ),
    notes=("Judged: the rate falls and the distortion rises from each β to the next larger one (paired over the "
           "same test images). Reported, not judged: active units per β and where the code collapses.",),
))


# --- vae.anomaly -----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AnomalyPreset(Preset):
    """A VAE trained on each of ``datasets`` for ``train.steps``; every model scores the test images of both
    (the ELBO, estimator B with ``samples`` draws); AUROC of in- against out-of-distribution."""

    train: TrainConfig
    datasets: tuple[str, str] = ("mnist", "fashion-mnist")
    hidden: int = 500
    latent: int = 20
    test_images: int = 10_000
    samples: int = 10
    #: the claim: trained on the first data set, the VAE's ELBO separates it from the second at least this well
    min_auroc: float = 0.9

    SMOKE: ClassVar[dict[str, str]] = {"hidden": "16", "latent": "4", "test_images": "100", "samples": "2"}


def anomaly_experiment(ctx: RunContext) -> Outcome:
    p: AnomalyPreset = ctx.preset
    root = str(data_root(ctx.data_root))
    tests = {d: load_dataset(d, "test", root=root) for d in p.datasets}
    xs = {d: grey_levels(t)[: p.test_images] for d, t in tests.items()}
    out = Outcome(data="; ".join(t.source for t in tests.values()))
    rows, hists = [], {}
    for trained_on in p.datasets:
        other = next(d for d in p.datasets if d != trained_on)
        areas, ses, means = [], [], {}
        for seed in ctx.seeds:
            run = train_vae(ctx, f"on-{trained_on}", p.train, seed=seed, hidden=p.hidden, latent=p.latent,
                            dataset=trained_on)
            torch.manual_seed(seed)
            scores = {d: lower_bounds(run.model, x, samples=p.samples) for d, x in xs.items()}
            area = auroc(scores[trained_on], scores[other])  # in-distribution should score higher
            areas.append(area)
            ses.append(auroc_se(area, len(scores[trained_on]), len(scores[other])))
            means = {d: float(s.mean()) for d, s in scores.items()}
            if seed == ctx.seeds[0]:
                hists[trained_on] = scores
        key = f"auroc/{trained_on}"
        out.add(key, areas)
        out.value_se[key] = ses
        rows.append(f"| {trained_on} | {other} | {means[trained_on]:.1f} | {means[other]:.1f} | {out.fmt(key, 3)} |")
    out.tables.append("| trained on | out of distribution | mean ELBO, own test images (nats) | mean ELBO, the other "
                      "test set (nats) | AUROC (own above other) |\n|---|---|---|---|---|\n" + "\n".join(rows))
    fig, axes = plt.subplots(1, len(hists), figsize=(5 * len(hists), 3.4), dpi=150, squeeze=False)
    for ax, (trained_on, scores) in zip(axes[0], hists.items()):
        lo = min(float(s.quantile(0.01)) for s in scores.values())
        for d, s in scores.items():
            ax.hist(s.clamp(min=lo).numpy(), bins=60, alpha=0.55, density=True, label=f"{d} test images")
        ax.set_title(f"VAE trained on {trained_on}")
        ax.set_xlabel("ELBO (nats)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ctx.run_dir / "elbo_histograms.png")
    plt.close(fig)
    out.figures.append(ctx.run_dir / "elbo_histograms.png")
    out.notes += [f"VAE 784-{p.hidden}-{p.latent} per training set, {p.train.steps:,} iterations of batch 100; scores: "
                  f"estimator B with {p.samples} draws on the first {p.test_images:,} test images of each set. "
                  "Grey levels in [0, 1] are the Bernoulli means for both data sets.",
                  "AUROC standard error: Hanley & McNeil (1982). The reverse direction is reported, not judged: "
                  "likelihood models trained on Fashion-MNIST are known to give MNIST higher likelihood "
                  "(Nalisnick et al. 2019)."]
    return out


register_claim(Claim(
    id="vae.anomaly",
    paper="vae",
    title="A VAE's ELBO flags images unlike its training data",
    statement=("A VAE trained on MNIST gives Fashion-MNIST images a lower ELBO than MNIST test images, so the ELBO "
               "detects them as anomalies (AUROC ≥ 0.9); the reverse direction (trained on Fashion-MNIST, scoring "
               "MNIST) is reported, since likelihood models are known to fail there."),
    source="the notes (004, VAE uses: anomaly detection); Nalisnick et al. 2019 for the reverse direction",
    presets={
        "quick": AnomalyPreset(description="a VAE on MNIST and one on Fashion-MNIST, 2,000 iterations each, scored "
                                           "on 10,000 test images of both; about 2 minutes on 2 CPU cores",
                               train=adagrad(2000)),
        "cpu": AnomalyPreset(description="as quick with 10,000 iterations per model and 2 seeds; about 12 minutes "
                                         "on 2 CPU cores", train=adagrad(10_000), seeds=2),
        "full": AnomalyPreset(description="10⁶ iterations per model, 3 seeds; hours on one GPU",
                              train=adagrad(1_000_000), seeds=3, samples=100),
    },
    experiment=anomaly_experiment,
    verdict=R.at_least(R.Of(lambda p: f"auroc/{p.datasets[0]}", "the AUROC of the first data set's model"),
                       R.Of(lambda p: p.min_auroc, "the preset's min_auroc (0.9)"), fails_below=0.5,
                       words="AUROC, MNIST-trained VAE, MNIST above Fashion-MNIST"),
    notes=("Does not hold if the AUROC is surely below 0.5 (the ELBO ranks the wrong set higher).",),
))
