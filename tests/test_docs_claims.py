"""Every measured number README.md quotes is checked against the one docs section that produced it.

Each quote is a :class:`Claim`: where it sits in README (a pattern whose group is the quoted
value) and where it comes from (a page of docs/, the section between ``<!-- name:start -->`` and
``<!-- name:end -->`` that a ``benchmarks`` script writes, and how to read the value there).
The value must match the section, rounded to the digits README gives; the same number
elsewhere in docs does not count. Every e-notation number (``1.3e-6``) and factor (``1.20×``)
in README must belong to a claim, so a new quote without a source fails too. The sections
themselves must say what they were measured at: one provenance line each, naming a commit that
exists, or saying it was not recorded.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
E_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e-\d+\b")
FACTOR = re.compile(r"(?<![\w.])\d+\.\d+×")
SECTION = re.compile(r"<!-- ([\w-]+):start -->\n(.*?)<!-- \1:end -->", re.S)


def sections(text: str) -> dict[str, str]:
    return {m[1]: m[2] for m in SECTION.finditer(text)}


def _agreement_counts(section: str) -> tuple[int, int]:
    met = re.findall(r"^\|[^\n]*\| (yes|NO) \|$", section, re.M)
    return met.count("yes"), len(met)


def _trained_fp32_images(section: str) -> str:
    counts = re.findall(
        r"^\| text orientation \(4 classes\) \| FP32 \| [^|]+ \| (\d+) \|", section, re.M
    )
    return str(sum(int(c) for c in counts))


def _int8_slower_range(section: str) -> str:
    m = re.search(r"INT8 is slower than FP32 at one batch size or both for ([^:]+):", section)
    if not m:
        return "none"
    names = [n.strip().removeprefix("PPLCNet_") for n in m[1].split(",")]
    return f"{names[0]} to {names[-1]}"


Source = str | Callable[[str], str | None]


@dataclass(frozen=True)
class Claim:
    """A README quote and the docs section it comes from."""

    #: README pattern; group 1 is the quoted value (whitespace in README may wrap)
    readme: str
    page: str
    section: str
    #: pattern on the section whose group 1 is the value, or a function computing it
    source: Source

    def value_in(self, section: str) -> str | None:
        if callable(self.source):
            return self.source(section)
        m = re.search(self.source, section, re.S)
        return m[1] if m else None


#: a row of the paddlex-serve table: lcnet-ov's JSON route at C clients, its × PaddleX
_SERVE_ROW = r"\| {c} \| lcnet-ov v1 `:predict` \(JSON, base64\) \| [^|]+ \| (\d+\.\d+)×"

CLAIMS = (
    # conversion parity (docs/conversion.md)
    Claim(r"within (\S+) of Paddle\s+Inference", "conversion.md", "conversion-parity",
          r"Worst case over all scales and routes: \*\*(\S+?)\*\*"),
    Claim(r"\(max \|Δprob\|, bar (\S+)\)", "conversion.md", "conversion-parity",
          r"\(bar: (\S+?)\)"),
    Claim(r"text-orientation model within\s+(\S+) of ONNX Runtime", "conversion.md",
          "conversion-parity", r"max \|Δprob\| \*\*(\S+?)\*\*"),
    # folded vs exact preprocessing (docs/benchmarks.md, folding)
    Claim(r"folding_parity` over (\d+) images", "benchmarks.md", "folding", _trained_fp32_images),
    Claim(r"trained model within (\S+) of the exact path", "benchmarks.md", "folding",
          r"Worst case, trained model FP32: \*\*(\S+?)\*\*"),
    Claim(r"INT8\s+(identical)", "benchmarks.md", "folding", r"INT8: (identical) on every image"),
    Claim(r"top-1 (identical on\s+every image), FP32", "benchmarks.md", "folding",
          r"Top-1 (identical on every image)\."),
    Claim(r"shows\s+up to (\S+?)\)", "benchmarks.md", "folding",
          r"the seeded 1000-class network FP32: (\S+?) \("),
    # end to end (docs/benchmarks.md, e2e)
    Claim(r"folded ÷ exact measured (\d+\.\d+)×\s+with an\s+INT8 model", "benchmarks.md", "e2e",
          r"INT8: end to end folded ÷ exact = (\d+\.\d+)"),
    Claim(r"INT8 model and\s+(\d+\.\d+)×\s+with FP32", "benchmarks.md", "e2e",
          r"FP32: end to end folded ÷ exact = (\d+\.\d+)"),
    Claim(r"with FP32 on a (2-core AMD EPYC \(AVX2\))", "benchmarks.md", "e2e",
          lambda s: "2-core AMD EPYC (AVX2)"
          if re.search(r"AMD EPYC \(2 of 2 CPUs available[^)]*\bAVX2, FMA\)", s) else None),
    Claim(r"folded faster in (\d) of 5 rounds each", "benchmarks.md", "e2e",
          r"FP32: end to end folded ÷ exact = [^,]+, range [^,]+, folded faster in (\d) of"),
    # agreement with benchmark_app (docs/benchmarks.md, bench-agreement)
    Claim(r"in (\d+) of the \d+ cases compared", "benchmarks.md", "bench-agreement",
          lambda s: str(_agreement_counts(s)[0])),
    Claim(r"in \d+ of the (\d+) cases compared", "benchmarks.md", "bench-agreement",
          lambda s: str(_agreement_counts(s)[1])),
    Claim(r"in the fourth \((sync, LATENCY hint)\)", "benchmarks.md", "bench-agreement",
          lambda s: "sync, LATENCY hint"
          if re.search(r"^\| sync, hint latency \|[^\n]*\| NO \|$", s, re.M) else None),
    Claim(r"median latency came out (\d+\.\d+)× benchmark_app's", "benchmarks.md",
          "bench-agreement", r"\| sync, hint latency \|[^\n]*?\*\*(\d+\.\d+)\*\*[^\n]*\| NO \|"),
    # PaddleX 3 as a peer (docs/benchmarks.md, paddlex)
    Claim(r"classified\s+(\d+\.\d+)× as many images\s+per second in FP32",
          "benchmarks.md", "paddlex",
          r"`lcnet-ov infer DIR` FP32, defaults, steady rate \| [^|]+ \| (\d+\.\d+)×"),
    Claim(r"FP32 and\s+(\d+\.\d+)× with an\s+INT8 IR", "benchmarks.md", "paddlex",
          r"`lcnet-ov infer DIR` INT8 \(`-p int8`\), steady rate \| [^|]+ \| (\d+\.\d+)×"),
    Claim(r"spending (\d+\.\d+)× and", "benchmarks.md", "paddlex",
          r"`lcnet-ov infer DIR` FP32, defaults, steady rate(?: \| [^|]+){3} \| (\d+\.\d+)×"),
    Claim(r"and (\d+\.\d+)× less CPU per image", "benchmarks.md", "paddlex",
          r"`lcnet-ov infer DIR` INT8 \(`-p int8`\), steady rate(?: \| [^|]+){3} \| (\d+\.\d+)×"),
    Claim(r"lead by\s+more than (\d+\.\d+)× in FP32", "benchmarks.md", "paddlex",
          r"\| FP32(?: \| [^|]+){4} \| (\d+\.\d+)×"),
    Claim(r"and (\d+\.\d+)× in INT8: decoding", "benchmarks.md", "paddlex",
          r"\| INT8(?: \| [^|]+){4} \| (\d+\.\d+)×"),
    Claim(r"reached\s+(\d+\.\d+)× of it in FP32", "benchmarks.md", "paddlex",
          r"\| FP32(?: \| [^|]+){3} \| (\d+\.\d+)×"),
    Claim(r"of it in FP32 and\s+(\d+\.\d+)× in INT8", "benchmarks.md", "paddlex",
          r"\| INT8(?: \| [^|]+){3} \| (\d+\.\d+)×"),
    # PaddleX's basic serving (docs/benchmarks.md, paddlex-serve)
    Claim(r"answered (\d+\.\d+)× as many requests per second as PaddleX 3's", "benchmarks.md",
          "paddlex-serve", _SERVE_ROW.format(c=32)),
    Claim(r"at 32 concurrent clients and (\d+\.\d+)× at 8", "benchmarks.md", "paddlex-serve",
          _SERVE_ROW.format(c=8)),
    Claim(r"at one client the two\s+were level \((\d+\.\d+)×\)", "benchmarks.md",
          "paddlex-serve", _SERVE_ROW.format(c=1)),
    # INT8 slower than FP32 for the narrow scales (docs/benchmarks.md, bench-peak)
    Claim(r"narrow scales \((x\S+ to x\S+)\) the default INT8", "benchmarks.md", "bench-peak",
          _int8_slower_range),
)  # fmt: skip

#: numbers README quotes that are not measurements but bounds a test asserts: (README
#: pattern, the test file that holds the bound)
TEST_BOUNDS = ((r"to\s+the numpy path by (1e-5)\)", "tests/test_conversion.py"),)


def _same(quoted: str, published: str) -> bool:
    """``published`` rounded to the digits of ``quoted`` is ``quoted`` (numbers), or equal text."""
    number = re.fullmatch(r"(\d+(?:\.(\d+))?)(?:e-(\d+))?", quoted)
    if number is None:
        return " ".join(quoted.split()) == " ".join(published.split())
    try:
        value = float(published)
    except ValueError:
        return False
    decimals = len(number[2] or "")
    scale = 10.0 ** -int(number[3] or 0)
    return round(value / scale, decimals) == float(number[1])


def problems(readme: str, pages: dict[str, str]) -> list[str]:
    """Every way README's quotes disagree with the sections that produced them."""
    out = []
    covered: list[tuple[int, int]] = []
    for claim in CLAIMS:
        m = re.search(claim.readme, readme)
        if m is None:
            out.append(f"README no longer says {claim.readme!r}: update the claim with the text")
            continue
        covered.append(m.span())
        section = sections(pages.get(claim.page, "")).get(claim.section)
        if section is None:
            out.append(f"docs/{claim.page} has no section {claim.section!r} for {m[1]!r}")
            continue
        published = claim.value_in(section)
        if published is None or not _same(m[1], published):
            out.append(
                f"README quotes {m[1]!r} where docs/{claim.page} section {claim.section!r} says "
                f"{published!r}"
            )
    for pattern, test_file in TEST_BOUNDS:
        m = re.search(pattern, readme)
        if m is None or m[1] not in (REPO / test_file).read_text():
            out.append(f"README's bound {pattern!r} is not asserted in {test_file}")
        else:
            covered.append(m.span())
    for m in [*E_NUMBER.finditer(readme), *FACTOR.finditer(readme)]:
        if not any(a <= m.start() and m.end() <= b for a, b in covered):
            line = readme.count("\n", 0, m.start()) + 1
            out.append(f"README line {line} quotes {m[0]} with no claim naming its section")
    return out


def _docs() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((REPO / "docs").glob("*.md"))}


def test_every_readme_quote_matches_the_section_that_produced_it():
    assert problems((REPO / "README.md").read_text(), _docs()) == []


@pytest.mark.parametrize(
    ("before", "after", "quoted"),
    [
        # 0.97 is on the page too (another section): the old test let this pass
        ("measured 1.11× with an", "measured 0.97× with an", "0.97"),
        ("within 1.4e-6 of Paddle", "within 1.3e-6 of Paddle", "1.3e-6"),  # the folding figure
        ("in 3 of the 4 cases", "in 4 of the 4 cases", "4"),
        ("(x0_25 to x0_75)", "(x0_25 to x0_5)", "x0_25 to x0_5"),
    ],
)
def test_a_changed_readme_number_fails(before, after, quoted):
    readme = (REPO / "README.md").read_text()
    assert before in readme
    found = problems(readme.replace(before, after), _docs())
    assert len(found) == 1 and found[0].startswith(f"README quotes {quoted!r} where"), found


def test_a_number_only_found_outside_its_section_fails():
    """The e2e INT8 factor moved out of its markers (still on the page) is no longer a source."""
    docs = _docs()
    page = docs["benchmarks.md"]
    m = re.search(r"INT8: end to end folded ÷ exact = \d+\.\d+", page)
    docs["benchmarks.md"] = page.replace(m[0], "INT8: see below") + f"\n{m[0]}\n"
    found = problems((REPO / "README.md").read_text(), docs)
    assert len(found) == 1 and "'e2e'" in found[0], found


def test_a_new_unsourced_quote_fails():
    readme = (REPO / "README.md").read_text() + "\nINT8 is 2.50× faster.\n"
    assert problems(readme, _docs()) == [
        f"README line {readme.count(chr(10))} quotes 2.50× with no claim naming its section"
    ]


def _commit_exists(sha: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{sha}^{{commit}}"], capture_output=True
    )
    return proc.returncode == 0


def test_every_measured_section_says_what_it_was_measured_at():
    """One provenance line per section: a commit that exists in this repository, or the honest
    "not recorded" of sections measured before provenance lines (never an invented one)."""
    is_git = (REPO / ".git").exists()
    found = 0
    for name, text in _docs().items():
        for section, body in sections(text).items():
            found += 1
            lines = [ln for ln in body.splitlines() if ln.startswith("Provenance: ")]
            assert len(lines) == 1, f"docs/{name} section {section}: {len(lines)} provenance lines"
            line = lines[0]
            m = re.search(r" at commit ([0-9a-f]{7,40})\b", line)
            assert m or "commit: not recorded" in line, f"docs/{name} {section}: {line}"
            if m and is_git:
                assert _commit_exists(m[1]), f"docs/{name} {section} names unknown commit {m[1]}"
    assert found >= 15  # every page's sections were read
