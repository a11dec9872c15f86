"""Spend audits over the ledger: grouped, exact totals, re-pricing, table/CSV/JSON/HTML.

Totals are exact. PostgreSQL sums its NUMERIC column. SQLite sums the integer
``total_cost_pico`` column (see :mod:`azcost._migrations`) and adds, from the decimal
text, the rare rows whose total is not a whole number of 1e-12 units; if an integer
sum would overflow 64 bits, the whole cost sum is done in Python with ``Decimal``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from ._migrations import CALLS
from ._money import money_str
from ._record import TOKEN_FIELDS
from .errors import AzcostError, LedgerError

if TYPE_CHECKING:
    from ._pricing import PricingTable

__all__ = [
    "DIMENSIONS",
    "AuditRow",
    "Reprice",
    "audit",
    "daily_spend",
    "render_csv",
    "render_json_rows",
    "render_table",
    "total_by_currency",
]

DIMENSIONS = ("model", "deployment", "deployment-type", "region", "day", "month")
"""Values accepted by ``--by``, besides ``tag:KEY``."""

_PICO = -12
_SHARE = Decimal("0.000001")


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
    """Cost of the same usage under the re-pricing table, when asked."""
    unrepriced_requests: int = 0
    """Calls the re-pricing table could not price."""

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
            out["repriced_cost"] = money_str(self.repriced_cost)
            out["difference"] = money_str(self.repriced_cost - self.total_cost)
            out["unrepriced_requests"] = self.unrepriced_requests
        return out


@dataclass(frozen=True, slots=True)
class Reprice:
    """What to re-price the recorded usage with."""

    table: PricingTable
    """The pricing table to apply."""
    deployment_type: str | None = None
    """Price every call as this deployment type instead of the recorded one."""
    model: str | None = None
    """Price every call as this model instead of the recorded one."""


# --------------------------------------------------------------------------- SQL pieces


def _dimension(name: str, dialect: str) -> sa.ColumnElement[Any]:
    c = CALLS.c
    if name == "model":
        return sa.func.coalesce(c.model, c.reported_model + " (unresolved)")
    if name == "deployment":
        return c.deployment
    if name == "deployment-type":
        return c.deployment_type
    if name == "region":
        return c.region
    if name == "day":
        return c.day
    if name == "month":
        return sa.func.substr(c.day, 1, 7)
    if name.startswith("tag:") and len(name) > 4:
        key = name[4:]
        if dialect == "postgresql":
            return sa.cast(c.labels, postgresql.JSONB).op("->>")(key)
        if '"' in key or "\\" in key:
            raise LedgerError(f"--by {name}: a tag key cannot contain quotes or backslashes")
        return sa.func.json_extract(c.labels, f'$."{key}"')
    raise LedgerError(
        f"cannot group by {name!r}; choose from {', '.join(DIMENSIONS)} or tag:KEY"
    )


def _filters(
    since: dt.date | None, until: dt.date | None, model: str | None
) -> list[sa.ColumnElement[bool]]:
    c = CALLS.c
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(c.day >= since.isoformat())
    if until is not None:
        where.append(c.day <= until.isoformat())
    if model is not None:
        where.append(sa.or_(c.model == model, c.reported_model == model))
    return where


def _is_overflow(exc: sa.exc.OperationalError) -> bool:
    return "integer overflow" in str(exc.orig)


def _exact_costs(
    conn: Connection, keys: list[sa.ColumnElement[Any]], where: list[sa.ColumnElement[bool]]
) -> dict[tuple[Any, ...], Decimal]:
    """Exact total cost per (keys..., currency)."""
    c = CALLS.c
    group = [*keys, c.currency]
    if conn.dialect.name == "postgresql":
        q = sa.select(*group, sa.func.sum(c.total_cost)).where(*where).group_by(*group)
        return {tuple(r[:-1]): Decimal(r[-1] or 0) for r in conn.execute(q)}
    inexact = sa.and_(c.total_cost.is_not(None), c.total_cost_pico.is_(None))
    q = (
        sa.select(
            *group,
            sa.func.sum(c.total_cost_pico),
            sa.func.sum(sa.case((inexact, 1), else_=0)),
        )
        .where(*where)
        .group_by(*group)
    )
    try:
        rows = conn.execute(q).all()
    except sa.exc.OperationalError as exc:
        if not _is_overflow(exc):
            raise
        rows = []
    else:
        out = {tuple(r[:-2]): Decimal(r[-2] or 0).scaleb(_PICO) for r in rows}
        if not any(r[-1] for r in rows):
            return out
        tail = sa.select(*group, c.total_cost).where(*where, inexact)
        for r in conn.execute(tail):
            out[tuple(r[:-1])] += Decimal(r[-1])
        return out
    # an integer sum overflowed: add every cost in Python, exactly
    sums: dict[tuple[Any, ...], Decimal] = {}
    q = sa.select(*group, c.total_cost).where(*where, c.total_cost.is_not(None))
    for r in conn.execute(q):
        key = tuple(r[:-1])
        sums[key] = sums.get(key, Decimal(0)) + Decimal(r[-1])
    return sums


# --------------------------------------------------------------------------- audit


def audit(
    engine: Engine,
    by: Sequence[str] = ("model",),
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
    reprice: Reprice | None = None,
) -> list[AuditRow]:
    """Spend grouped by the ``by`` dimensions, exact, with each group's share of the total."""
    by = list(by) or ["model"]
    dialect = engine.dialect.name
    keys = [_dimension(name, dialect) for name in by]
    where = _filters(since, until, model)
    c = CALLS.c
    group = [*keys, c.currency]
    metrics = [
        sa.func.count(),
        sa.func.sum(sa.case((c.priced, 1), else_=0)),
        *(sa.func.sum(c[name]) for name in TOKEN_FIELDS),
    ]
    q = sa.select(*group, *metrics).where(*where).group_by(*group)
    n = len(group)
    with engine.connect() as conn:
        counted = conn.execute(q).all()
        costs = _exact_costs(conn, keys, where)
        rows: list[AuditRow] = []
        for r in counted:
            tokens = r[n + 2 :]
            rows.append(
                AuditRow(
                    keys=tuple(r[: n - 1]),
                    currency=r[n - 1],
                    requests=int(r[n]),
                    priced_requests=int(r[n + 1] or 0),
                    tokens={k: int(v or 0) for k, v in zip(TOKEN_FIELDS, tokens, strict=True)},
                    total_cost=costs.get(tuple(r[:n]), Decimal(0)),
                )
            )
        if reprice is not None:
            _reprice(conn, rows, keys, where, reprice)
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.total_cost
    for row in rows:
        grand = totals[row.currency]
        row.share = (row.total_cost / grand).quantize(_SHARE) if grand else None
    if any(name in ("day", "month") for name in by):
        rows.sort(key=lambda r: tuple("" if k is None else k for k in r.keys))
    else:
        rows.sort(key=lambda r: (-r.total_cost, tuple("" if k is None else k for k in r.keys)))
    return rows


def _reprice(
    conn: Connection,
    rows: list[AuditRow],
    keys: list[sa.ColumnElement[Any]],
    where: list[sa.ColumnElement[bool]],
    reprice: Reprice,
) -> None:
    """Price the recorded usage again, aggregated per model/deployment type/region/day.

    Cost is linear in tokens at fixed rates, so pricing summed tokens equals summing
    the per-call prices exactly, with far fewer lookups.
    """
    c = CALLS.c
    detail = [c.model, c.reported_model, c.model_version, c.deployment_type, c.region, c.day]
    group = [*keys, c.currency, *detail]
    q = (
        sa.select(*group, sa.func.count(), *(sa.func.sum(c[name]) for name in TOKEN_FIELDS))
        .where(*where)
        .group_by(*group)
    )
    index = {(*row.keys, row.currency): row for row in rows}
    for row in rows:
        row.repriced_cost = Decimal(0)
    n = len(keys) + 1
    for r in conn.execute(q):
        row = index[tuple(r[:n])]
        model, reported, version, dep_type, region, day = r[n : n + 6]
        count = int(r[n + 6])
        tokens = {name: int(v or 0) for name, v in zip(TOKEN_FIELDS, r[n + 7 :], strict=True)}
        name = reprice.model or model or reported
        if name is None:
            row.unrepriced_requests += count
            continue
        try:
            cost = reprice.table.cost(
                name,
                model_version=None if (reprice.model or model) else version,
                deployment_type=reprice.deployment_type or dep_type,
                region=region,
                at=dt.date.fromisoformat(day),
                **tokens,
            )
        except AzcostError:
            row.unrepriced_requests += count
            continue
        row.repriced_cost = (row.repriced_cost or Decimal(0)) + cost.total


def total_by_currency(engine: Engine) -> dict[str, str]:
    """Exact total recorded spend per currency, as decimal strings."""
    with engine.connect() as conn:
        costs = _exact_costs(conn, [], [])
    return {key[0]: money_str(value) for key, value in sorted(costs.items())}


def daily_spend(
    engine: Engine,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
) -> list[tuple[str, str | None, str, Decimal]]:
    """(day, model, currency, exact cost) for every day and model version with calls."""
    keys = [_dimension("day", engine.dialect.name), _dimension("model", engine.dialect.name)]
    with engine.connect() as conn:
        costs = _exact_costs(conn, keys, _filters(since, until, model))
    return sorted(
        ((k[0], k[1], k[2], v) for k, v in costs.items()),
        key=lambda t: (t[0], t[1] or "", t[2]),
    )


# --------------------------------------------------------------------------- rendering


def render_json_rows(rows: Sequence[AuditRow], by: Sequence[str]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts."""
    return [row.as_dict(by) for row in rows]


def render_csv(rows: Sequence[AuditRow], by: Sequence[str]) -> str:
    """CSV with a header; ``group`` is omitted (the dimension columns carry it)."""
    dicts = render_json_rows(rows, by)
    buf = io.StringIO()
    if not dicts:
        fields = [*by, "currency", "requests", "total_cost"]
    else:
        fields = [k for k in dicts[0] if k != "group"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(dicts)
    return buf.getvalue()


def render_table(rows: Sequence[AuditRow], by: Sequence[str]) -> str:
    """An aligned text table with a total line per currency."""
    repriced = any(r.repriced_cost is not None for r in rows)
    head = [name.upper() for name in by]
    head += ["REQUESTS", "INPUT", "CACHED", "OUTPUT", "COST", "SHARE"]
    if repriced:
        head += ["REPRICED", "DIFFERENCE"]
    body: list[list[str]] = []

    def line(keys: Sequence[str], r: AuditRow) -> list[str]:
        cells = [
            *keys,
            str(r.requests),
            str(r.tokens.get("input_tokens", 0)),
            str(r.tokens.get("cached_input_tokens", 0)),
            str(r.tokens.get("output_tokens", 0)),
            f"{money_str(r.total_cost)} {r.currency}",
            "" if r.share is None else f"{r.share * 100:.1f}%",
        ]
        if repriced:
            new = r.repriced_cost or Decimal(0)
            cells += [money_str(new), money_str(new - r.total_cost)]
        return cells

    totals: dict[str, AuditRow] = {}
    for r in rows:
        body.append(line(["(none)" if k is None else k for k in r.keys], r))
        t = totals.setdefault(r.currency, AuditRow(keys=(), currency=r.currency, share=None))
        t.requests += r.requests
        t.total_cost += r.total_cost
        for name, v in r.tokens.items():
            t.tokens[name] = t.tokens.get(name, 0) + v
        if r.repriced_cost is not None:
            t.repriced_cost = (t.repriced_cost or Decimal(0)) + r.repriced_cost
    footer = [line(["TOTAL", *[""] * (len(by) - 1)], t) for t in totals.values()]
    grid = [head, *body, *footer]
    widths = [max(len(row[i]) for row in grid) for i in range(len(head))]
    n_keys = len(by)

    def fmt(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < n_keys else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [fmt(head), rule, *(fmt(r) for r in body)]
    if footer:
        out += [rule, *(fmt(r) for r in footer)]
    return "\n".join(out) + "\n"
