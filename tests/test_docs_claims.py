"""Numbers in README.md are quoted from the generated docs, so they cannot drift from them.

Every measured quantity in README.md (a float in e-notation such as ``1.3e-6``, a factor such as
``1.15×``) must appear in a section of docs/ that a script under benchmarks/ writes; after a
re-run changes one, this test names the stale quote.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e-(\d+)\b")
FACTOR = re.compile(r"(?<![\w.])(\d+\.\d+)×")


def _e_numbers(text: str) -> set[float]:
    return {float(f"{m}e-{e}") for m, e in E_NUMBER.findall(text)}


def _docs_text() -> str:
    return "\n".join(p.read_text() for p in sorted((REPO / "docs").glob("*.md")))


def test_readme_e_numbers_come_from_the_generated_docs():
    readme, docs = (REPO / "README.md").read_text(), _docs_text()
    quoted = _e_numbers(readme)
    assert quoted, "README quotes no measured tolerance at all: this test has nothing to check"
    published = _e_numbers(docs)
    # a quote may round a generated figure to fewer digits (8.94e-07 → 8.9e-7)
    stale = sorted(
        q for q in quoted if not any(abs(p - q) <= 0.051 * q for p in published if p > 0)
    )
    assert not stale, f"README quotes {stale}, which no generated page in docs/ says"


def test_readme_factors_come_from_the_generated_docs():
    readme, docs = (REPO / "README.md").read_text(), _docs_text()
    published = {float(f) for f in FACTOR.findall(docs)} | {
        float(m) for m in re.findall(r"= (\d+\.\d+) \(median of the rounds", docs)
    }
    stale = sorted(float(f) for f in FACTOR.findall(readme) if float(f) not in published)
    assert not stale, f"README quotes factors {stale} that no generated page in docs/ says"
