"""Plain-text tables: one column alignment for every table azcost prints."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table"]


def text_table(
    head: Sequence[str],
    body: Sequence[Sequence[str]],
    footer: Sequence[Sequence[str]] = (),
    *,
    left: int = 1,
    rules: bool = False,
) -> list[str]:
    """The table's lines: the first *left* columns left-aligned, the others right-aligned.

    Columns are two spaces apart and each line ends without trailing blanks. With *rules*,
    a line of dashes follows the head, and another precedes the footer when there is one.
    """
    widths = [len(h) for h in head]
    for row in (*body, *footer):
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = ["  ".join("-" * w for w in widths)] if rules else []
    lines = [line(head), *rule, *(line(r) for r in body)]
    if footer:
        lines += [*rule, *(line(r) for r in footer)]
    return lines
