"""Spend audits over the ledger: grouped rows with shares, re-pricing, table/CSV/JSON.

The sums themselves come from :mod:`azcost.ledger._sums` (exact on both backends).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine

from .._text import text_table
from ..errors import AzcostError
from ..pricing._cost import EXACT
from ..pricing._money import money_str
from ._record import TOKEN_FIELDS
from ._sums import DIMENSIONS, Ask, Source, daily_spend, read_grouped, total_by_currency

if TYPE_CHECKING:
    from ..pricing._table import PricingTable

__all__ = [
    "DIMENSIONS",
    "AuditResult",
    "AuditRow",
    "Reprice",
    "audit",
    "daily_spend",
    "render_csv",
    "render_json_rows",
    "render_table",
    "total_by_currency",
]

_SHARE = Decimal("0.000001")
# Money is added and subtracted in EXACT, never rounded whatever the caller's context; a
# share is a ratio, not money: it is divided in _RATIO (28 digits) and rounded to _SHARE.
_add = EXACT.add
_RATIO = decimal.Context(prec=28)


@dataclass(slots=True)
class AuditRow:
    """One group of an audit: counts, tokens per kind and exact cost."""

    keys: tuple[str | None, ...]
    """The group's value for each ``--by`` dimension, in order."""
    currency: str
    """Currency of the costs."""
    requests: int = 0
    """Calls recorded."""
    priced_requests: int = 0
    """Calls that were priced."""
    tokens: dict[str, int] = field(default_factory=dict)
    """Token counts per kind (input_tokens, cached_input_tokens, ...)."""
    total_cost: Decimal = Decimal(0)
    """Exact recorded cost of the priced calls."""
    share: Decimal | None = None
    """Fraction of the grand total (same currency)."""
    repriced_cost: Decimal | None = None
    """Cost under the re-pricing table of the calls it could price, when asked."""
    unrepriced_requests: int = 0
    """Calls the re-pricing table could not price."""
    unrepriced_reasons: dict[str, int] = field(default_factory=dict)
    """Why the re-pricing table could not price them: reason -> calls."""

    @property
    def difference(self) -> Decimal | None:
        """Repriced minus recorded cost; None unless every call of the group was repriced."""
        if self.repriced_cost is None or self.unrepriced_requests:
            return None
        return EXACT.subtract(self.repriced_cost, self.total_cost)

    @property
    def repriced_any(self) -> bool:
        """True when the re-pricing table priced at least one call of the group."""
        return self.repriced_cost is not None and self.unrepriced_requests < self.requests

    def as_dict(self, by: Sequence[str]) -> dict[str, Any]:
        """A JSON-ready row: ``group`` (a value for one ``--by``, a list for several), metrics."""
        out: dict[str, Any] = {"group": self.keys[0] if len(by) == 1 else list(self.keys)}
        for name, key in zip(by, self.keys, strict=True):
            out[name] = key
        out["currency"] = self.currency
        out["requests"] = self.requests
        out["unpriced_requests"] = self.requests - self.priced_requests
        for name in TOKEN_FIELDS:
            out[name] = self.tokens.get(name, 0)
        out["total_cost"] = money_str(self.total_cost)
        out["share"] = None if self.share is None else money_str(self.share)
        if self.repriced_cost is not None:
            diff = self.difference
            out["repriced_cost"] = money_str(self.repriced_cost) if self.repriced_any else None
            out["difference"] = None if diff is None else money_str(diff)
            out["unrepriced_requests"] = self.unrepriced_requests
            out["unrepriced_reasons"] = dict(self.unrepriced_reasons)
        return out


class AuditResult(list[AuditRow]):
    """The rows of an audit (a list), and where they were read from."""

    def __init__(self, rows: Sequence[AuditRow] = (), *, source: str, note: str) -> None:
        super().__init__(rows)
        self.source = source
        """``rollup`` (SQLite's daily rollup), ``rollup:KEY`` (tag KEY's rollup) or ``scan``."""
        self.note = note
        """What was read, in words; for a scan, why no rollup could answer exactly."""


@dataclass(frozen=True, slots=True)
class Reprice:
    """What to re-price the recorded usage with."""

    table: PricingTable
    """The pricing table to apply."""
    deployment_type: str | None = None
    """Price every call as this deployment type instead of the recorded one."""
    model: str | None = None
    """Price every call as this model instead of the recorded one."""


_REPRICE_DETAIL = (
    "model", "reported_model", "model_version", "deployment_type", "region", "service_tier", "day",
)  # fmt: skip


# --------------------------------------------------------------------------- audit


def audit(
    engine: Engine,
    by: Sequence[str] = ("model",),
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
    reprice: Reprice | None = None,
) -> AuditResult:
    """Spend grouped by the ``by`` dimensions, exact, with each group's share of the total.

    The result is a list of rows; its ``source`` says where they were read from.
    """
    ask = Ask(tuple(by) or ("model",), since, until, model)
    for name in ask.by:  # reject a bad dimension before touching the database
        Source(engine.dialect.name, rollup=False).dimension(name)
    with engine.connect() as conn:
        sums, used = read_grouped(conn, ask)
        rows = AuditResult(
            [
                AuditRow(
                    keys=key[:-1],
                    currency=key[-1],
                    requests=metrics[0],
                    priced_requests=metrics[1],
                    tokens=dict(zip(TOKEN_FIELDS, metrics[2:], strict=True)),
                    total_cost=cost,
                )
                for key, (metrics, cost) in sums.items()
            ],
            source=used.name,
            note=used.note,
        )
        if reprice is not None:
            _reprice(conn, rows, ask, reprice, used.source)
            rows.note += ", re-priced per service tier from the same source"
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.currency] = _add(totals.get(row.currency, Decimal(0)), row.total_cost)
    for row in rows:
        grand = totals[row.currency]
        row.share = _RATIO.quantize(_RATIO.divide(row.total_cost, grand), _SHARE) if grand else None
    if any(name in ("day", "month") for name in ask.by):
        rows.sort(key=lambda r: (_order(r.keys), r.currency))
    else:
        rows.sort(key=lambda r: (-r.total_cost, _order(r.keys), r.currency))
    return rows


def _order(keys: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    """A group's place: no value first, then values in order ('' apart from no value)."""
    return tuple((k is not None, k or "") for k in keys)


def _reprice(
    conn: Connection, rows: list[AuditRow], ask: Ask, reprice: Reprice, src: Source
) -> None:
    """Price the recorded usage again, aggregated per model/deployment type/region/tier/day.

    Cost is linear in tokens at fixed rates, so pricing summed tokens equals summing
    the per-call prices exactly, with far fewer lookups. A call on a service tier is
    priced at that tier's rates or not re-priced (with the reason), never at another's.
    """
    query, n = src.select(ask, detail=_REPRICE_DETAIL, with_cost=False)
    index = {(*row.keys, row.currency): row for row in rows}
    for row in rows:
        row.repriced_cost = Decimal(0)
    head = n - len(_REPRICE_DETAIL)
    for r in conn.execute(query):
        row = index[tuple(r[:head])]
        model, reported, version, dep_type, region, tier, day = r[head:n]
        count = int(r[n])
        tokens: dict[str, Any] = {
            k: int(v or 0) for k, v in zip(TOKEN_FIELDS, r[n + 2 :], strict=True)
        }
        name = reprice.model or model or reported
        try:
            if name is None:
                raise AzcostError("no model recorded")
            cost = reprice.table.cost(
                name,
                model_version=None if (reprice.model or model) else version,
                deployment_type=reprice.deployment_type or dep_type,
                region=region,
                service_tier=tier,
                at=dt.date.fromisoformat(day),
                **tokens,
            )
        except AzcostError as exc:
            row.unrepriced_requests += count
            reasons = row.unrepriced_reasons
            reasons[str(exc)] = reasons.get(str(exc), 0) + count
            continue
        row.repriced_cost = _add(row.repriced_cost or Decimal(0), cost.total)


# --------------------------------------------------------------------------- rendering


def render_json_rows(rows: Sequence[AuditRow], by: Sequence[str]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts; an :class:`AuditResult`'s rows also carry its ``source``."""
    out = [row.as_dict(by) for row in rows]
    if isinstance(rows, AuditResult):
        for d in out:
            d["source"] = rows.source
    return out


def render_csv(rows: Sequence[AuditRow], by: Sequence[str]) -> str:
    """CSV with a header; ``group`` is omitted (the dimension columns carry it)."""
    dicts = render_json_rows(rows, by)
    buf = io.StringIO()
    if not dicts:
        fields = [*by, "currency", "requests", "total_cost"]
    else:  # the dimension columns carry the group; reasons are listed in JSON and the table
        fields = [k for k in dicts[0] if k not in ("group", "unrepriced_reasons")]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(dicts)
    return buf.getvalue()


def render_table(rows: Sequence[AuditRow], by: Sequence[str]) -> str:
    """An aligned text table with a total line per currency."""
    repriced = any(r.repriced_cost is not None for r in rows)
    head = [name.upper() for name in by]
    head += ["REQUESTS", "UNPRICED", "INPUT", "CACHED", "OUTPUT", "COST", "SHARE"]
    if repriced:
        head += ["REPRICED", "DIFFERENCE", "NOT REPRICED"]
    body: list[list[str]] = []

    def line(keys: Sequence[str], r: AuditRow) -> list[str]:
        cells = [
            *keys,
            str(r.requests),
            str(r.requests - r.priced_requests),
            str(r.tokens.get("input_tokens", 0)),
            str(r.tokens.get("cached_input_tokens", 0)),
            str(r.tokens.get("output_tokens", 0)),
            # a group with no priced call has no cost to show: never "0"
            "unpriced"
            if r.requests and not r.priced_requests
            else f"{money_str(r.total_cost)} {r.currency}",
            "" if r.share is None else f"{r.share * 100:.1f}%",
        ]
        if repriced:
            diff = r.difference
            cells += [
                money_str(r.repriced_cost or Decimal(0)) if r.repriced_any else "n/a",
                "n/a" if diff is None else money_str(diff),
                str(r.unrepriced_requests),
            ]
        return cells

    totals: dict[str, AuditRow] = {}
    for r in rows:
        body.append(line(["(none)" if k is None else k for k in r.keys], r))
        t = totals.setdefault(r.currency, AuditRow(keys=(), currency=r.currency, share=None))
        t.requests += r.requests
        t.priced_requests += r.priced_requests
        t.total_cost = _add(t.total_cost, r.total_cost)
        for name, v in r.tokens.items():
            t.tokens[name] = t.tokens.get(name, 0) + v
        if r.repriced_cost is not None:
            t.repriced_cost = _add(t.repriced_cost or Decimal(0), r.repriced_cost)
            t.unrepriced_requests += r.unrepriced_requests
    footer = [line(["TOTAL", *[""] * (len(by) - 1)], t) for t in totals.values()]
    out = text_table(head, body, footer, left=len(by), rules=True)
    for r in rows:  # why calls were not re-priced, group by group
        group = " / ".join("(none)" if k is None else k for k in r.keys) or "all"
        for reason, n in sorted(r.unrepriced_reasons.items()):
            out.append(f"not re-priced: {n} call(s) of {group}: {reason}")
    return "\n".join(out) + "\n"
