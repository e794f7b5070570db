"""The README's two commands and its results table stay true."""

import re
from pathlib import Path

from paperzoo.claims import collect_results, summarize

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_results_table_matches_results_folder():
    table = re.search(r"<!-- results:start -->\n(.*?)<!-- results:end -->", README, re.S).group(1).strip()
    rows = collect_results(REPO / "results")
    assert table == (summarize(rows) if rows else ""), \
        "README results table is stale: paste the output of `paperzoo results` between the markers"


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert command in README
