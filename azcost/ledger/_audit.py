"""Spend audits over the ledger: grouped, exact totals, re-pricing, table/CSV/JSON/HTML.

Totals are exact. PostgreSQL sums its NUMERIC column. SQLite reads its daily rollup
(or, for ``tag:KEY``, the calls table) and sums integer 1e-12 units (see
:mod:`azcost._migrations`), then adds from the decimal text the rare rows whose total
is not a whole number of 1e-12 units; if an integer sum overflows 64 bits, the costs
are added in Python with ``Decimal`` instead.
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

from .._text import text_table
from ..errors import AzcostError, LedgerError
from ..pricing._money import money_str
from ._record import TOKEN_FIELDS
from ._tables import CALLS, DAILY

if TYPE_CHECKING:
    from ..pricing._table import PricingTable

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

DIMENSIONS = (
    "model",
    "deployment",
    "deployment-type",
    "region",
    "day",
    "month",
    "service-tier",
    "match",
)
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
    """Cost under the re-pricing table of the calls it could price, when asked."""
    unrepriced_requests: int = 0
    """Calls the re-pricing table could not price."""

    @property
    def difference(self) -> Decimal | None:
        """Repriced minus recorded cost; None unless every call of the group was repriced."""
        if self.repriced_cost is None or self.unrepriced_requests:
            return None
        return self.repriced_cost - self.total_cost

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

_ROLLUP_DIMS = frozenset(DIMENSIONS) - {"service-tier", "match"}  # not in SQLite's rollup
_N_METRICS = 2 + len(TOKEN_FIELDS)
_INEXACT = sa.and_(CALLS.c.total_cost.is_not(None), CALLS.c.total_cost_pico.is_(None))
_REPRICE_DETAIL = ("model", "reported_model", "model_version", "deployment_type", "region", "day")


@dataclass(frozen=True, slots=True)
class _Ask:
    by: tuple[str, ...]
    since: dt.date | None = None
    until: dt.date | None = None
    model: str | None = None


class _Source:
    """Where an audit reads: the calls table, or SQLite's daily rollup of it."""

    def __init__(self, dialect: str, rollup: bool) -> None:
        self.dialect = dialect
        self.rollup = rollup
        self.c = DAILY.c if rollup else CALLS.c

    @classmethod
    def best(cls, dialect: str, by: Sequence[str]) -> _Source:
        return cls(dialect, dialect == "sqlite" and all(b in _ROLLUP_DIMS for b in by))

    def col(self, name: str) -> sa.ColumnElement[Any]:
        column = self.c[name]
        if self.rollup and name not in ("day", "currency"):
            return sa.func.nullif(column, "")  # the rollup stores NULL keys as ''
        return column

    def dimension(self, name: str) -> sa.ColumnElement[Any]:
        if name == "model":
            return sa.func.coalesce(self.col("model"), self.col("reported_model") + " (unresolved)")
        if name in ("deployment", "region"):
            return self.col(name)
        if name == "deployment-type":
            return self.col("deployment_type")
        if name == "service-tier":
            return self.col("service_tier")
        if name == "match":  # base-default: spend on an assumed version
            return self.col("match")
        if name == "day":
            return self.col("day")
        if name == "month":
            return sa.func.substr(self.col("day"), 1, 7)
        if name.startswith("tag:") and len(name) > 4 and not self.rollup:
            key = name[4:]
            if self.dialect == "postgresql":
                return sa.cast(CALLS.c.labels, postgresql.JSONB).op("->>")(key)
            if '"' in key or "\\" in key:
                raise LedgerError(f"--by {name}: a tag key cannot contain quotes or backslashes")
            return sa.func.json_extract(CALLS.c.labels, f'$."{key}"')
        raise LedgerError(
            f"cannot group by {name!r}; choose from {', '.join(DIMENSIONS)} or tag:KEY"
        )

    def filters(self, ask: _Ask) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if ask.since is not None:
            where.append(self.c.day >= ask.since.isoformat())
        if ask.until is not None:
            where.append(self.c.day <= ask.until.isoformat())
        if ask.model is not None:
            where.append(sa.or_(self.c.model == ask.model, self.c.reported_model == ask.model))
        return where

    def metrics(self) -> list[sa.ColumnElement[Any]]:
        """requests, priced requests, then each token kind."""
        c = self.c
        counts: list[sa.ColumnElement[Any]]
        if self.rollup:
            counts = [sa.func.sum(c.requests), sa.func.sum(c.priced_requests)]
        else:
            counts = [sa.func.count(), sa.func.sum(sa.case((c.priced, 1), else_=0))]
        return [*counts, *(sa.func.sum(c[name]) for name in TOKEN_FIELDS)]

    def costs(self) -> list[sa.ColumnElement[Any]]:
        """PostgreSQL: the NUMERIC sum. SQLite: the pico sum and the count of inexact rows."""
        c = self.c
        if self.dialect == "postgresql":
            return [sa.func.sum(c.total_cost)]
        if self.rollup:
            return [sa.func.sum(c.cost_pico), sa.func.sum(c.inexact_requests)]
        return [sa.func.sum(c.total_cost_pico), sa.func.sum(sa.case((_INEXACT, 1), else_=0))]

    def select(
        self, ask: _Ask, *, detail: Sequence[str] = (), with_cost: bool = True
    ) -> tuple[sa.Select[Any], int]:
        """The grouped query, and how many leading columns are the group key."""
        keys = [self.dimension(b) for b in ask.by]
        keys += [self.col("currency"), *(self.col(d) for d in detail)]
        values = self.metrics() + (self.costs() if with_cost else [])
        query = sa.select(*keys, *values).where(*self.filters(ask)).group_by(*keys)
        return query, len(keys)


Grouped = dict[tuple[Any, ...], tuple[list[int], Decimal]]
"""Group key (dimensions..., currency) -> (requests, priced, tokens per kind), exact cost."""


def _grouped(conn: Connection, ask: _Ask) -> Grouped:
    """Counts, tokens and exact cost per group, from the fastest source that is exact."""
    dialect = conn.dialect.name
    src = _Source.best(dialect, ask.by)
    query, n = src.select(ask)
    try:
        rows = conn.execute(query).all()
    except sa.exc.OperationalError as exc:
        if "integer overflow" not in str(exc.orig):
            raise
        return _grouped_in_python(conn, ask)
    out: Grouped = {}
    inexact = False
    for r in rows:
        metrics = [int(v or 0) for v in r[n : n + _N_METRICS]]
        costs = r[n + _N_METRICS :]
        if dialect == "postgresql":
            cost = Decimal(costs[0] or 0)
        else:
            if isinstance(costs[0], float):  # a rollup sum overflowed into REAL
                return _grouped_in_python(conn, ask)
            cost = Decimal(costs[0] or 0).scaleb(_PICO)
            inexact = inexact or bool(costs[1])
        out[tuple(r[:n])] = (metrics, cost)
    if inexact:  # totals finer than 1e-12: add them from their exact text
        raw = _Source(dialect, rollup=False)
        keys = [raw.dimension(b) for b in ask.by] + [CALLS.c.currency]
        tail = sa.select(*keys, CALLS.c.total_cost).where(*raw.filters(ask), _INEXACT)
        for r in conn.execute(tail):
            metrics, cost = out[tuple(r[:-1])]
            out[tuple(r[:-1])] = (metrics, cost + Decimal(r[-1]))
    return out


def _grouped_in_python(conn: Connection, ask: _Ask) -> Grouped:
    """The slow exact path: integer sums overflowed, so costs are added with Decimal."""
    raw = _Source(conn.dialect.name, rollup=False)
    query, n = raw.select(ask, with_cost=False)
    out: Grouped = {
        tuple(r[:n]): ([int(v or 0) for v in r[n:]], Decimal(0)) for r in conn.execute(query)
    }
    keys = [raw.dimension(b) for b in ask.by] + [CALLS.c.currency]
    costs = sa.select(*keys, CALLS.c.total_cost).where(
        *raw.filters(ask), CALLS.c.total_cost.is_not(None)
    )
    for r in conn.execute(costs):
        metrics, cost = out[tuple(r[:-1])]
        out[tuple(r[:-1])] = (metrics, cost + Decimal(r[-1]))
    return out


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
    ask = _Ask(tuple(by) or ("model",), since, until, model)
    for name in ask.by:  # reject a bad dimension before touching the database
        _Source(engine.dialect.name, rollup=False).dimension(name)
    with engine.connect() as conn:
        grouped = _grouped(conn, ask)
        rows = [
            AuditRow(
                keys=key[:-1],
                currency=key[-1],
                requests=metrics[0],
                priced_requests=metrics[1],
                tokens=dict(zip(TOKEN_FIELDS, metrics[2:], strict=True)),
                total_cost=cost,
            )
            for key, (metrics, cost) in grouped.items()
        ]
        if reprice is not None:
            _reprice(conn, rows, ask, reprice)
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, Decimal(0)) + row.total_cost
    for row in rows:
        grand = totals[row.currency]
        row.share = (row.total_cost / grand).quantize(_SHARE) if grand else None
    if any(name in ("day", "month") for name in ask.by):
        rows.sort(key=lambda r: tuple("" if k is None else k for k in r.keys))
    else:
        rows.sort(key=lambda r: (-r.total_cost, tuple("" if k is None else k for k in r.keys)))
    return rows


def _reprice(conn: Connection, rows: list[AuditRow], ask: _Ask, reprice: Reprice) -> None:
    """Price the recorded usage again, aggregated per model/deployment type/region/day.

    Cost is linear in tokens at fixed rates, so pricing summed tokens equals summing
    the per-call prices exactly, with far fewer lookups.
    """
    src = _Source.best(conn.dialect.name, ask.by)
    query, n = src.select(ask, detail=_REPRICE_DETAIL, with_cost=False)
    index = {(*row.keys, row.currency): row for row in rows}
    for row in rows:
        row.repriced_cost = Decimal(0)
    head = n - len(_REPRICE_DETAIL)
    for r in conn.execute(query):
        row = index[tuple(r[:head])]
        model, reported, version, dep_type, region, day = r[head:n]
        count = int(r[n])
        tokens = {k: int(v or 0) for k, v in zip(TOKEN_FIELDS, r[n + 2 :], strict=True)}
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
        grouped = _grouped(conn, _Ask(()))
    return {key[0]: money_str(cost) for key, (_, cost) in sorted(grouped.items())}


def daily_spend(
    engine: Engine,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
) -> list[tuple[str, str | None, str, Decimal]]:
    """(day, model, currency, exact cost) for every day and model version with calls."""
    with engine.connect() as conn:
        grouped = _grouped(conn, _Ask(("day", "model"), since, until, model))
    return sorted(
        ((k[0], k[1], k[2], cost) for k, (_, cost) in grouped.items()),
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
        head += ["REPRICED", "DIFFERENCE", "NOT REPRICED"]
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
        t.total_cost += r.total_cost
        for name, v in r.tokens.items():
            t.tokens[name] = t.tokens.get(name, 0) + v
        if r.repriced_cost is not None:
            t.repriced_cost = (t.repriced_cost or Decimal(0)) + r.repriced_cost
            t.unrepriced_requests += r.unrepriced_requests
    footer = [line(["TOTAL", *[""] * (len(by) - 1)], t) for t in totals.values()]
    out = text_table(head, body, footer, left=len(by), rules=True)
    return "\n".join(out) + "\n"
