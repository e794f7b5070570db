"""Lower layers never import higher ones (parsed from the source, not from what happens to load)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "paperzoo"
LOWER = ("nn", "optim", "metrics", "data", "train")
HIGHER = ("claims", "papers", "registry", "cli")
#: A paper imports shared modules and only the papers it builds on.
BUILDS_ON = {"densenet": {"resnet"}, "transformer": {"seq2seq"}, "adam": {"vae"}, "bert": {"transformer"}}


def imports(path: Path) -> set[str]:
    """The absolute ``paperzoo...`` modules a file imports (relative imports resolved), at any depth."""
    package = ["paperzoo", *path.relative_to(SRC).with_suffix("").parts][:-1]   # the package holding the file
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("paperzoo")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("paperzoo"):
                out.add(module)
                out |= {f"{module}.{a.name}" for a in node.names}
    return out


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layers_import_nothing_above_them(layer):
    bad = {f"{f.relative_to(SRC)}: {m}" for f in (SRC / layer).rglob("*.py") for m in imports(f)
           if _top(m) in HIGHER}
    assert not bad, sorted(bad)


def test_the_registry_imports_nothing_above_it():
    assert {m for m in imports(SRC / "registry.py") if _top(m) not in ("errors",)} == set()


def test_papers_import_only_shared_modules_and_the_papers_they_build_on():
    bad = set()
    for f in (SRC / "papers").rglob("*.py"):
        paper = f.relative_to(SRC / "papers").parts[0]
        for m in imports(f):
            parts = m.split(".")
            if parts[1] == "papers" and len(parts) > 2 and parts[2] not in {paper, *BUILDS_ON.get(paper, ())}:
                bad.add(f"{f.relative_to(SRC)}: {m}")
            if parts[1] == "cli":
                bad.add(f"{f.relative_to(SRC)}: {m}")
    assert not bad, sorted(bad)


def test_the_import_parser_sees_relative_and_absolute_imports(tmp_path):
    probe = SRC / "train" / "loop.py"
    found = imports(probe)
    assert "paperzoo.train.checkpoint" in found and "paperzoo.errors" in found


def _fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC.parent), "PATH": ""}).stdout.strip()


def test_listing_models_loads_no_experiments_and_no_matplotlib():
    assert _fresh("import sys, paperzoo; paperzoo.list_models(); "
                  "print([m for m in sys.modules if m.startswith(('matplotlib', 'paperzoo.train', "
                  "'paperzoo.claims.core')) or m.endswith(('.experiments', '.table3', '.analysis'))])") == "[]"


def test_one_claim_loads_only_its_paper():
    assert _fresh("import sys; from paperzoo.claims.catalog import get_claim; get_claim('inception.auxiliary'); "
                  "print(sorted({m.split('.')[2] for m in sys.modules if m.startswith('paperzoo.papers.') and "
                  "m.endswith('experiments')}))") == "['googlenet']"
