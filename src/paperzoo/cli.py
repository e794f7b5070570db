"""The ``paperzoo`` command line.

    paperzoo list [models|claims|papers] [PATTERN] [--paper KEY]
    paperzoo show <paper|model|claim>
    paperzoo train <model> --data <dataset> [--set key=value ...] [--out DIR] [--resume]
    paperzoo reproduce <claim-id> [--preset quick|full] [--seeds N] [--device cpu|cuda] [--out DIR]
    paperzoo eval <checkpoint> --data <dataset>
    paperzoo translate --checkpoint <run|checkpoint> "Ein Mann fährt Fahrrad." [--beam 4] [--alpha 0.6]
    paperzoo download <dataset>
    paperzoo results [--dir results]
    paperzoo schedule <name> --steps N [--set key=value ...] [--lr BASE] [--eval-every K] [--out FILE.png]

A user error (unknown name, bad setting, missing or unreadable data) prints one line that says
what to do and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

RESULTS = Path(__file__).resolve().parents[2] / "results"


def results_dir() -> Path:
    """The committed results of a source checkout, else ``./results``."""
    return RESULTS if RESULTS.is_dir() else Path("results")


# --- list / show -------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> None:
    from . import registry
    from .claims import catalog

    if args.what == "papers":
        for key in catalog.list_papers():
            card = catalog.paper_card(key)
            print(f"{key:12s} {card.title} ({card.authors.split(',')[0]} et al., {card.year})")
    elif args.what == "claims":
        for cid in catalog.list_claims(args.paper):
            claim = catalog.get_claim(cid)
            if not args.pattern or args.pattern in cid:
                print(f"{cid:28s} {claim.title} [{claim.source}]")
    else:
        for name in registry.list_models(args.pattern, paper=args.paper):
            entry = registry.model_entry(name)
            print(f"{name:14s} {entry.summary}{'  (tiny, for tests)' if entry.tiny else ''}")


def cmd_show(args: argparse.Namespace) -> None:
    from . import registry
    from .claims import catalog

    name = args.name
    if catalog.paper_key(name) in catalog.PAPERS:
        from .claims.core import collect_results

        key = catalog.paper_key(name)
        card = catalog.paper_card(key)
        arxiv = f", arXiv:{card.arxiv}" if card.arxiv else ""
        print(f"{card.title}\n  {card.authors} ({card.year}{', ' + card.venue if card.venue else ''}){arxiv}\n")
        print(f"Problem: {card.problem}\n\nIdea: {card.idea}\n")
        passes = catalog.reading_passes(key)
        if passes:   # the paper's three-pass card (its README)
            print(passes + "\n")
        print("Claims:")
        for cid in catalog.list_claims(key):
            claim = catalog.get_claim(cid)
            print(f"  {cid:28s} {claim.title} [{claim.source}]")
        rows = [r for r in collect_results(results_dir()) if catalog.paper_of(r["claim"]) == key]
        print("\nOur measured results:" if rows else "\nOur measured results: none committed yet "
              "(run `paperzoo reproduce <claim> --preset full --out results`).")
        for r in rows:
            print(f"  {r['claim']:28s} {r['preset']:5s} {r['verdict']:13s} {r['hardware']}  ({r['path']})")
        models = registry.list_models(paper=key)
        print(f"\nModels: {', '.join(models)}")
    elif "." in name:
        from .claims.core import describe

        print(describe(catalog.get_claim(name)))   # raises a UserError naming close matches
    else:
        entry = registry.model_entry(name)  # raises a UserError naming close matches
        from .metrics.flops import count_macs, count_params

        model = registry.create_model(name)
        print(f"{name}: {entry.summary}\n  paper: {entry.paper}\n  input: {entry.input_size}")
        print(f"  arguments: {entry.signature()}")
        print(f"  parameters: {count_params(model):,}")
        if entry.example_input is None:
            print(f"  multiply-adds per image: {count_macs(model, entry.input_size) / 1e9:.3f} G")
        else:   # token ids and other non-image inputs: the registry's example, one item
            example = entry.example_input(1)
            shapes = [tuple(t.shape[1:]) for t in (example if isinstance(example, tuple) else (example,))]
            print(f"  multiply-adds per example of shape {', '.join(map(str, shapes))}: "
                  f"{count_macs(model, example) / 1e6:.3f} M (convolutions and linear layers)")


# --- train / eval -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainJob:
    """What ``paperzoo train`` runs: data and optimisation settings (``--set`` changes them)."""

    data: Any
    train: Any


def _train_job(dataset: str, sets: list[str]) -> tuple[TrainJob, dict[str, Any]]:
    from .config import apply_overrides, parse_assignments, parse_literal
    from .train.classification import DataConfig
    from .train.loop import TrainConfig

    job = TrainJob(DataConfig(dataset=dataset, augment=dataset.startswith("cifar")), TrainConfig())
    model_kwargs: dict[str, Any] = {}
    overrides: dict[str, str] = {}
    for key, value in parse_assignments(sets).items():
        if key.startswith("model."):
            model_kwargs[key[len("model."):]] = parse_literal(value)
        elif key.split(".")[0] in ("data", "train"):
            overrides[key] = value
        else:  # a bare key: look it up in train, then data
            section = "train" if key.split(".")[0] in {f.name for f in dataclasses.fields(TrainConfig)} else "data"
            overrides[f"{section}.{key}"] = value
    return apply_overrides(job, overrides), model_kwargs


def cmd_train(args: argparse.Namespace) -> None:
    from .config import to_dict
    from .data import dataset_info
    from .registry import model_entry
    from .train.checkpoint import has_checkpoint
    from .train.classification import train_classifier
    from .train.runlock import run_lock

    model_entry(args.model)
    dataset_info(args.data)
    job, model_kwargs = _train_job(args.data, args.set)
    train = dataclasses.replace(job.train, device=args.device)
    out = Path(args.out) if args.out else Path("runs") / "train" / f"{args.model}-{args.data}"
    if args.resume and not out.is_dir():
        raise UserError(f"nothing to resume in {out}: no such folder")
    if not args.resume and has_checkpoint(out):
        raise UserError(f"{out} already holds a run; pass --resume to continue it or --out for a new folder")
    main = int(os.environ.get("RANK", "0")) == 0   # under torchrun, worker 0 writes and reports
    with run_lock(out) if main else contextlib.nullcontext():
        result, _, task = train_classifier(model_entry(args.model), job.data, train, model_kwargs=model_kwargs,
                                           run_dir=out, data_root=args.data_root, resume=args.resume)
        if not main:
            return
        (out / "job.json").write_text(json.dumps({"model": args.model, "model_kwargs": model_kwargs,
                                                  **to_dict(job)}, indent=2) + "\n")
    final = ", ".join(f"{k} {v:.4f}" for k, v in result.final.items())
    print(f"done: {result.steps} steps in {result.wall_seconds:.0f} s ({result.samples_per_second:.0f} images/s); "
          f"{final}\ncheckpoint: {out / 'checkpoints'}")


def cmd_eval(args: argparse.Namespace) -> None:
    import torch

    from .data import DeviceLoader, load_dataset
    from .registry import create_model
    from .train.checkpoint import rebuild_model
    from .train.classification import evaluate_classifier
    from .train.env import resolve_device

    model, meta = rebuild_model(args.checkpoint, create_model)
    device = resolve_device(args.device)
    data = load_dataset(args.data, args.split, root=args.data_root)
    norm = meta.get("data", {})
    trained_on = norm.get("dataset")
    if norm.get("mean") is not None and len(norm["mean"]) != data.images.shape[1]:
        raise UserError(f"{meta['model']} was trained on {len(norm['mean'])}-channel images ({trained_on}); "
                        f"{args.data} has {data.images.shape[1]} channels")
    if norm.get("classes") is not None and len(norm["classes"]) != data.num_classes:
        raise UserError(f"{meta['model']} was trained on {len(norm['classes'])} classes ({trained_on}); "
                        f"{args.data} has {data.num_classes}")
    if trained_on and trained_on != args.data:
        print(f"paperzoo: note: this checkpoint was trained on {trained_on}, not {args.data}", file=sys.stderr)
    loader = DeviceLoader(data, batch_size=500, device=device, shuffle=False, drop_last=False, augment=False,
                          mean=norm.get("mean"), std=norm.get("std"))
    model.to(device).eval()
    with torch.no_grad():
        metrics = evaluate_classifier(model, loader)
    error = 100 * metrics["error"]
    print(f"{meta['model']} (step {meta.get('step', '?')}) on {args.data} {args.split} "
          f"({len(data)} images, {data.source}): error {error:.2f}%, accuracy {100 - error:.2f}%, "
          f"loss {metrics['loss']:.4f}")


def cmd_translate(args: argparse.Namespace) -> None:
    from .registry import create_model
    from .train.translation import load_translator

    texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if args.beam < 1:
        raise UserError("--beam must be at least 1 (1: greedy)")
    translator = load_translator(args.checkpoint, create_model, device=args.device)
    for line in translator(texts, beam_size=args.beam, alpha=args.alpha):
        print(line)


# --- reproduce / download / results --------------------------------------------------------------

def cmd_reproduce(args: argparse.Namespace) -> None:
    from .claims import reproduce
    from .config import parse_assignments

    result = reproduce(args.claim, preset=args.preset, seeds=args.seeds, device=args.device, out=args.out,
                       data_root=args.data_root, overrides=parse_assignments(args.set))
    print(f"{result.claim_id} [{result.preset}]: {result.verdict.status.upper()}. {result.verdict.reason}")
    for c in result.comparisons:
        print(f"  {c.label}: paper {c.paper:g}{c.unit}, ours {c.ours:.2f}{c.unit}")
    print(f"report: {result.report}  ({result.wall_seconds:.0f} s on {result.hardware})")


def cmd_download(args: argparse.Namespace) -> None:
    from .data import download_dataset
    from .data.root import data_root

    root = data_root(args.data_root)
    download_dataset(args.dataset, root)
    print(f"{args.dataset} is ready under {root}")


def cmd_results(args: argparse.Namespace) -> None:
    from .claims.core import collect_results, summarize

    rows = collect_results(args.dir or results_dir())
    print(summarize(rows) if rows else "no results yet")


def cmd_schedule(args: argparse.Namespace) -> None:
    import textwrap

    from .config import apply_overrides, parse_assignments, to_dict
    from .optim.plot import plot_schedule
    from .optim.schedules import NAMES, ScheduleConfig, build_schedule, trace

    if args.name not in NAMES:
        raise UserError(f"unknown schedule {args.name!r}; choose {', '.join(NAMES)}")
    if args.steps <= 0 or args.eval_every < 0:
        raise UserError("--steps must be positive and --eval-every not negative")
    cfg = apply_overrides(ScheduleConfig(name=args.name), parse_assignments(args.set), what="schedule setting")
    eval_every = args.eval_every or max(1, args.steps // 100)
    schedule = build_schedule(cfg, total_steps=args.steps)
    reacts = hasattr(schedule, "observe")
    rates = [args.lr * f for f in trace(schedule, args.steps, eval_every=eval_every)]
    changed = {k: v for k, v in to_dict(cfg).items() if v != to_dict(ScheduleConfig(name=cfg.name))[k]}
    title = textwrap.fill(f"{cfg.name} schedule, base lr {args.lr:g}" + "".join(
        f", {k}={v}" for k, v in changed.items()), 80)
    if reacts:
        title += f"\n(an evaluation every {eval_every} steps, never improving after the first)"
    out = plot_schedule(Path(args.out or f"runs/schedules/{cfg.name}.png"), rates, title=title)
    w = cfg.warmup_steps
    for step in sorted({0, w - 1, w, args.steps // 4, args.steps // 2, 3 * args.steps // 4, args.steps - 1}):
        if 0 <= step < args.steps:
            print(f"step {step:>9,}  lr {rates[step]:.6g}")
    peak = max(range(args.steps), key=rates.__getitem__)
    print(f"peak lr {rates[peak]:.6g} at step {peak:,}\nplot: {out}")


# --- parser ------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperzoo", description="Landmark deep-learning papers, reproduced.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"paperzoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        return p

    def data_root(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-root", help="dataset folder (default: $PAPERZOO_DATA, else ~/.cache/paperzoo)")

    def threads(p: argparse.ArgumentParser) -> None:
        p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's, one per core); 1 is "
                       "often fastest for small models on a busy machine")

    p = add("list", cmd_list, "list models, claims or papers")
    p.add_argument("what", nargs="?", default="models", choices=["models", "claims", "papers"])
    p.add_argument("pattern", nargs="?", help="glob for model names (e.g. 'resnet*') or text in claim ids")
    p.add_argument("--paper", help="only this paper's models or claims")

    p = add("show", cmd_show, "show a paper card, a model or a claim")
    p.add_argument("name", help="paper key (resnet), model name (resnet56) or claim id (resnet.degradation)")

    p = add("train", cmd_train, "train a registered model on a dataset with the shared loop")
    p.add_argument("model")
    p.add_argument("--data", required=True, help="dataset: mnist, fashion-mnist, cifar10, cifar100")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a setting: steps=2000, optimizer.lr=0.05, batch_size=64, model.shortcut=B")
    p.add_argument("--out", help="run folder (default runs/train/<model>-<data>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    data_root(p)
    threads(p)

    p = add("reproduce", cmd_reproduce, "run a claim's experiment and write its report")
    p.add_argument("claim", help="claim id, e.g. resnet.degradation (see `paperzoo list claims`)")
    p.add_argument("--preset", default="quick", help="quick (CPU, minutes) or full (the paper's recipe, one GPU)")
    p.add_argument("--seeds", type=int, help="number of seeds (default: the preset's)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--out", default="runs", help="where run folders go (default: runs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a preset setting, e.g. train.steps=1000")
    data_root(p)
    threads(p)

    p = add("eval", cmd_eval, "evaluate a checkpoint on a dataset's test split")
    p.add_argument("checkpoint", help="a run folder, checkpoint folder or model.safetensors")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["train", "test"])
    p.add_argument("--device", default="auto")
    data_root(p)
    threads(p)

    p = add("translate", cmd_translate, "translate sentences with a trained translation model (beam search)")
    p.add_argument("text", nargs="*", help="sentences to translate (default: one per line from standard input)")
    p.add_argument("--checkpoint", required=True,
                   help="a run folder (its averaged weights, else its newest checkpoint), checkpoint folder or "
                        "model.safetensors; tokenizer.json is read from the run folder")
    p.add_argument("--beam", type=int, default=4, help="beam size (default 4; 1: greedy)")
    p.add_argument("--alpha", type=float, default=0.6, help="length penalty (default 0.6)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    threads(p)

    p = add("download", cmd_download, "download a dataset's official files (needs a network)")
    p.add_argument("dataset")
    data_root(p)

    p = add("results", cmd_results, "print the table of committed results")
    p.add_argument("--dir", help="results folder (default: the checkout's results/)")

    p = add("schedule", cmd_schedule, "plot a learning-rate schedule and print a few of its values")
    p.add_argument("name", help="constant, step, multistep, cosine, linear, inverse_sqrt, noam or plateau")
    p.add_argument("--steps", type=int, required=True, help="the run's total number of steps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a schedule setting, e.g. warmup_steps=4000, milestones=32000,48000, min_factor=0.01")
    p.add_argument("--lr", type=float, default=1.0, help="base learning rate (default 1: the multiplier)")
    p.add_argument("--eval-every", type=int, default=0,
                   help="plateau: evaluate every so many steps (default: 1%% of --steps)")
    p.add_argument("--out", help="PNG file (default runs/schedules/<name>.png)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "threads", None) is not None:
            if args.threads < 1:
                raise UserError("--threads must be at least 1")
            import torch

            torch.set_num_threads(args.threads)
        args.fn(args)
    except UserError as e:
        print(f"paperzoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("paperzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
