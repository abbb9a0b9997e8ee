"""The one plain-text table formatter of the CLI (``models``, ``eval``, ``bench``).

Aligned columns separated by two spaces, numbers right-aligned, no trailing blanks: readable in
a terminal, stable enough to grep, and the same look in every command.
"""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> str:
    """``header`` and ``rows`` as aligned text; ``right[i]`` right-aligns column ``i``.

    By default the first column (a name) is left-aligned and every other one right-aligned.
    """
    ncols = len(header)
    if right is None:
        right = [i > 0 for i in range(ncols)]
    if len(right) != ncols or any(len(r) != ncols for r in rows):
        raise ValueError("every row and the alignment need one entry per header column")
    cells = [[str(c) for c in header], *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(ncols)]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ).rstrip()

    return "\n".join(line(r) for r in cells)
