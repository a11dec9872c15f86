"""A reconciliation as a text table, JSON, CSV, or a self-contained HTML report."""

from __future__ import annotations

import csv
import html
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._text import text_table
from ..errors import AzcostError
from ..ledger._html import SVG_EL_SCRIPT
from ..pricing._cost import EXACT
from ..pricing._money import money_str
from ._compare import ReconcileRow, Reconciliation

__all__ = ["render_csv", "render_html", "render_notes", "render_table", "row_dicts", "write_html"]


def _tokens(value: Decimal | int) -> int | str:
    """An integer when whole, else the exact decimal text."""
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else money_str(value)


def row_dicts(result: Reconciliation) -> list[dict[str, Any]]:
    """JSON-ready rows: money as exact decimal strings, tokens as integers (or exact text)."""
    return [_row_dict(r, result.by) for r in result.rows]


def _row_dict(r: ReconcileRow, by: str) -> dict[str, Any]:
    return {
        by: r.period,
        "model": r.model,
        "deployment_type": r.deployment_type,
        "token_kind": r.token_kind,
        "billed_tokens": _tokens(r.billed_tokens),
        "recorded_tokens": r.recorded_tokens,
        "billed_cost": _money(r.billed_cost),
        "recorded_cost": _money(r.recorded_cost),
        "expected_cost": _money(r.expected_cost),
        "status": r.status,
        "currency": r.currency,
        "unpriced_calls": r.unpriced_calls,
    }


def render_csv(result: Reconciliation) -> str:
    """CSV with a header, the JSON keys as columns."""
    buf = io.StringIO()
    fields = list(_row_dict(_EMPTY, result.by))
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row_dicts(result))
    return buf.getvalue()


_EMPTY = ReconcileRow("", "", "", "", "", Decimal(0), 0, Decimal(0), Decimal(0), None, "match")


def _cell(value: Decimal | None) -> str:
    return "n/a" if value is None else money_str(value)


def render_table(result: Reconciliation) -> str:
    """An aligned text table with a total line, then the notes (tracked share, rows left out)."""
    head = [result.by.upper(), "MODEL", "TYPE", "KIND", "BILLED TOKENS", "RECORDED TOKENS"]
    head += ["BILLED", "RECORDED", "EXPECTED", "STATUS"]
    body = [
        [
            r.period,
            r.model,
            r.deployment_type,
            r.token_kind,
            str(_tokens(r.billed_tokens)),
            str(r.recorded_tokens),
            money_str(r.billed_cost),
            money_str(r.recorded_cost),
            _cell(r.expected_cost),
            r.status,
        ]
        for r in result.rows
    ]
    t = result.totals
    money = [_cell(t.get(k)) for k in ("billed_cost", "recorded_cost", "expected_cost")]
    footer = [["TOTAL", "", "", "", "", "", *money, result.currency]]
    lines = text_table(head, body, footer, left=4, rules=True) if body else ["no usage in scope"]
    return "\n".join([*lines, "", render_notes(result)]).rstrip() + "\n"


def render_notes(result: Reconciliation) -> str:
    """What the comparison covers and leaves out: files, tracked share, excluded, unreadable."""
    out = []
    for path, layout, rows in result.billed.files:
        out.append(f"read {path}: {layout}, {rows} row(s)")
    counts: dict[str, int] = {}
    for r in result.rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no groups"
    out.append(f"groups: {summary} (tolerance {(result.tolerance * 100).normalize():f}%)")
    share = result.tracked_share
    if share is not None:
        out.append(f"tracked: {share * 100:.2f}% of the billed token spend was recorded by azcost")
    out.append(f"ledger calls in scope: {result.calls}")
    if result.calls_without_resource:
        out.append(
            f"left out: {result.calls_without_resource} ledger call(s) whose resource is unknown"
        )
    for e in result.excluded:
        out.append(
            f"not compared: {e.rows} row(s), {money_str(e.cost)} {result.currency}: {e.reason}"
            + (f" (e.g. {e.example!r})" if e.example else "")
        )
    unreadable = result.billed.unreadable_rows
    if unreadable:
        out.append(f"unreadable: {unreadable} row(s)")
        out.extend(f"  {u.file}:{u.line}: {u.problem}" for u in result.unreadable)
    return "\n".join(out) + "\n"


_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
td.key, th.key { text-align: left; white-space: nowrap; }
tr.differs td { background: #fff4e5; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }
"""

_SCRIPT = (
    """
(function () {
  var data = JSON.parse(document.getElementById("azcost-reconcile").textContent);
  var svg = document.getElementById("reconcile-chart");
  var NS = "http://www.w3.org/2000/svg";
  var W = 960, H = 320, left = 70, bottom = 40, top = 10, plotH = H - bottom - top;
  var max = 0;
  data.points.forEach(function (p) {
    max = Math.max(max, parseFloat(p.billed), parseFloat(p.recorded));
  });
  var slot = data.points.length ? (W - left - 10) / data.points.length : 0;
  var barW = Math.max(1, Math.min(30, slot * 0.4));
"""
    + SVG_EL_SCRIPT
    + """  el("line", {x1: left, y1: H - bottom, x2: W - 5, y2: H - bottom, stroke: "#333"});
  el("text", {x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 11}, max.toPrecision(4));
  data.points.forEach(function (p, i) {
    ["billed", "recorded"].forEach(function (side, j) {
      var h = max > 0 ? parseFloat(p[side]) / max * plotH : 0;
      var r = el("rect", {
        "class": "bar " + side, x: left + i * slot + slot / 2 - barW + j * barW,
        y: H - bottom - h, width: barW, height: h, fill: data.colors[side],
        "data-day": p.period, "data-side": side, "data-cost": p[side]
      });
      var t = document.createElementNS(NS, "title");
      t.textContent = p.period + " " + side + ": " + p[side] + " " + data.currency;
      r.appendChild(t);
    });
    el("text", {x: left + i * slot + slot / 2, y: H - bottom + 16, "text-anchor": "middle",
                "font-size": 11, "class": "day-label"}, p.period);
  });
  svg.setAttribute("data-rendered", "true");
})();
"""
)


def _points(result: Reconciliation) -> list[dict[str, str]]:
    per: dict[str, list[Decimal]] = {}
    for r in result.rows:
        sums = per.setdefault(r.period, [Decimal(0), Decimal(0)])
        sums[0] = EXACT.add(sums[0], r.billed_cost)
        sums[1] = EXACT.add(sums[1], r.recorded_cost)
    return [
        {"period": p, "billed": money_str(b), "recorded": money_str(c)}
        for p, (b, c) in sorted(per.items())
    ]


def render_html(result: Reconciliation, *, title: str = "azcost reconciliation") -> str:
    """One self-contained HTML page: billed against recorded per period, the groups, the notes."""
    data = {
        "points": _points(result),
        "currency": result.currency,
        "colors": {"billed": "#4e79a7", "recorded": "#f28e2b"},
    }
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    dicts = row_dicts(result)
    keys = list(_row_dict(_EMPTY, result.by))
    key_cols = {result.by, "model", "deployment_type", "token_kind", "status"}
    head = "".join(
        f'<th class="{"key" if k in key_cols else "num"}">{html.escape(k)}</th>' for k in keys
    )
    body = []
    for d in dicts:
        cells = "".join(
            f'<td class="{"key" if k in key_cols else "num"}">'
            f"{html.escape('' if d[k] is None else str(d[k]))}</td>"
            for k in keys
        )
        cls = "" if d["status"] == "match" else ' class="differs"'
        body.append(f"<tr{cls}>{cells}</tr>")
    notes = html.escape(render_notes(result))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<h2>Billed by Azure and recorded by azcost, per {html.escape(result.by)} ({result.currency})</h2>
<p><span class="swatch" style="background:#4e79a7"></span>billed
<span class="swatch" style="background:#f28e2b"></span>recorded</p>
<svg id="reconcile-chart" xmlns="http://www.w3.org/2000/svg" width="960" height="320"
     viewBox="0 0 960 320" role="img" aria-label="billed against recorded spend"></svg>
<table id="reconcile">
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<h2>Notes</h2>
<pre id="notes">{notes}</pre>
<script type="application/json" id="azcost-reconcile">{payload}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_html(path: str | Path, result: Reconciliation) -> None:
    """Write :func:`render_html` to ``path``."""
    try:
        Path(path).write_text(render_html(result), encoding="utf-8")
    except OSError as exc:
        raise AzcostError(f"cannot write {path}: {exc.strerror}") from None
