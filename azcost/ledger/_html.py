"""``azcost audit --html``: one self-contained HTML file (no CDN, no network).

The chart of daily spend per model version is drawn as SVG by a small inline script
from the exact figures embedded as JSON (amounts stay decimal strings; the script turns
them into bar heights only). The audit table is plain HTML, readable without script.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine

from ..errors import AzcostError
from ..pricing._cost import EXACT
from ..pricing._money import money_str
from ._audit import AuditResult, AuditRow, render_json_rows
from ._sums import daily_spend

__all__ = ["SVG_EL_SCRIPT", "render_report", "write_report"]

_PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip

SVG_EL_SCRIPT = """\
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  }
"""
"""The charts' ``el(name, attrs, text)``: append an SVG element to ``svg`` (namespace ``NS``)."""

_SCRIPT = (
    """
(function () {
  var data = JSON.parse(document.getElementById("azcost-daily").textContent);
  var svg = document.getElementById("daily-chart");
  var NS = "http://www.w3.org/2000/svg";
  var days = [], models = [], perDay = {};
  data.points.forEach(function (p) {
    if (days.indexOf(p.day) < 0) days.push(p.day);
    if (models.indexOf(p.model) < 0) models.push(p.model);
    perDay[p.day] = (perDay[p.day] || 0) + parseFloat(p.cost);
  });
  days.sort();
  var max = 0;
  days.forEach(function (d) { if (perDay[d] > max) max = perDay[d]; });
  var W = 960, H = 320, left = 70, bottom = 40, top = 10;
  var plotH = H - bottom - top;
  var slot = days.length ? (W - left - 10) / days.length : 0;
  var barW = Math.min(60, Math.max(1, slot * 0.8));
"""
    + SVG_EL_SCRIPT
    + """  el("line", {x1: left, y1: H - bottom, x2: W - 5, y2: H - bottom, stroke: "#333"});
  el("text", {x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 11, "class": "axis"},
     max.toPrecision(4));
  el("text", {x: left - 6, y: H - bottom, "text-anchor": "end", "font-size": 11,
              "class": "axis"}, "0");
  var stack = {};
  data.points.forEach(function (p) {
    var i = days.indexOf(p.day);
    var value = parseFloat(p.cost);
    var h = max > 0 ? value / max * plotH : 0;
    var y0 = stack[p.day] || 0;
    stack[p.day] = y0 + h;
    var r = el("rect", {
      "class": "bar", x: left + i * slot + (slot - barW) / 2, y: H - bottom - y0 - h,
      width: barW, height: Math.max(h, 0), fill: data.colors[p.model] || "#888",
      "data-day": p.day, "data-model": p.model, "data-cost": p.cost
    });
    var t = document.createElementNS(NS, "title");
    t.textContent = p.day + " " + p.model + ": " + p.cost + " " + p.currency;
    r.appendChild(t);
  });
  var step = Math.max(1, Math.ceil(days.length / 12));
  days.forEach(function (d, i) {
    if (i % step === 0) {
      el("text", {x: left + i * slot + slot / 2, y: H - bottom + 16, "text-anchor": "middle",
                  "font-size": 11, "class": "day-label"}, d);
    }
  });
  var legend = document.getElementById("legend");
  models.forEach(function (m) {
    var li = document.createElement("li");
    li.className = "legend-item";
    li.innerHTML = '<span class="swatch"></span>';
    li.firstChild.style.background = data.colors[m] || "#888";
    li.appendChild(document.createTextNode(m));
    legend.appendChild(li);
  });
  svg.setAttribute("data-rendered", "true");
})();
"""
)

_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th.key, td.key { text-align: left; white-space: nowrap; }
#legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1em; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; }
"""


def _table_html(rows: Sequence[AuditRow], by: Sequence[str]) -> tuple[str, list[str]]:
    """The audit table's header cells and rows, escaped."""
    dicts = render_json_rows(rows, by)
    cols = [*by, "requests", "unpriced_requests", "input_tokens", "cached_input_tokens"]
    cols += ["output_tokens", "total_cost"]
    if dicts and "repriced_cost" in dicts[0]:
        cols += ["repriced_cost", "difference", "unrepriced_requests"]
    cols.append("share")
    head = "".join(f'<th class="{"key" if c in by else "num"}">{html.escape(c)}</th>' for c in cols)
    body = []
    for d in dicts:
        cells = []
        for c in cols:
            value = d.get(c)
            text = "(none)" if value is None and c in by else ("" if value is None else str(value))
            if c == "total_cost" and d["requests"] and d["unpriced_requests"] == d["requests"]:
                text = "unpriced"  # a group with no priced call has no cost: never "0"
            cells.append(f'<td class="{"key" if c in by else "num"}">{html.escape(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return head, body


def render_report(
    rows: Sequence[AuditRow],
    by: Sequence[str],
    points: Sequence[tuple[str, str | None, str, Decimal]],
    *,
    title: str = "azcost spend audit",
) -> str:
    """The report as one HTML string: the daily chart (inline SVG + script) and the table."""
    models = sorted({p[1] or "(unknown)" for p in points})
    colors = {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(models)}
    data = {
        "points": [
            {"day": day, "model": model or "(unknown)", "currency": cur, "cost": money_str(cost)}
            for day, model, cur, cost in points
        ],
        "colors": colors,
    }
    # "<" escaped so no value can close the script element
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    head, body = _table_html(rows, by)
    generated = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r.currency] = EXACT.add(totals.get(r.currency, Decimal(0)), r.total_cost)
    total_text = ", ".join(f"{money_str(v)} {k}" for k, v in totals.items()) or "0"
    source = ""
    if isinstance(rows, AuditResult):
        name, read = html.escape(rows.source), html.escape(rows.note)
        source = f'\n<p id="source" data-source="{name}">Read from: {read} ({name}).</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Generated {generated}.
Total recorded spend: <strong id="total">{html.escape(total_text)}</strong>.</p>{source}
<h2>Daily spend per model version</h2>
<svg id="daily-chart" xmlns="http://www.w3.org/2000/svg" width="960" height="320"
     viewBox="0 0 960 320" role="img" aria-label="daily spend per model version"></svg>
<ul id="legend"></ul>
<h2>Spend by {html.escape(", ".join(by))}</h2>
<table id="audit">
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<script type="application/json" id="azcost-daily">{payload}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_report(
    path: str | Path,
    engine: Engine,
    rows: Sequence[AuditRow],
    by: Sequence[str],
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
) -> None:
    """Write the HTML report for ``rows`` with the daily chart from the same ledger and filters."""
    points = daily_spend(engine, since=since, until=until, model=model)
    text = render_report(rows, by, points)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AzcostError(f"cannot write {path}: {exc.strerror}") from None
