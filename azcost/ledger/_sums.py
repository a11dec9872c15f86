"""Exact grouped sums over the ledger: the query every audit, report and stats reads.

Totals are exact. Each audit reads from the fastest source that can answer it exactly
(:func:`plan`): SQLite's daily rollup, the rollup of the one tag key asked (kept on
both backends), else every call. PostgreSQL sums NUMERIC. SQLite sums integer 1e-12
units (see :mod:`azcost.ledger._tables`), then adds from the decimal text the rare rows
whose total is not a whole number of 1e-12 units; if an integer sum overflows 64 bits,
the costs are added in Python with ``Decimal`` from every call instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from ..errors import LedgerError
from ..pricing._cost import EXACT
from ..pricing._money import money_str
from ._checks import MAX_COST
from ._record import COST_FIELDS, TOKEN_FIELDS
from ._rollup_tags import ready_tags
from ._tables import CALLS, DAILY, MIGRATIONS_TABLE, TAG_DAILY

__all__ = [
    "DIMENSIONS",
    "Ask",
    "Grouped",
    "Plan",
    "Source",
    "daily_spend",
    "damaged_error",
    "damaged_run_ids",
    "grouped",
    "ledger_stats",
    "plan",
    "read_grouped",
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

_ROLLUP_DIMS = frozenset(DIMENSIONS) - {"match"}  # not in the rollups' keys
_N_METRICS = 2 + len(TOKEN_FIELDS)
_INEXACT = sa.and_(CALLS.c.total_cost.is_not(None), CALLS.c.total_cost_pico.is_(None))


@dataclass(frozen=True, slots=True)
class Ask:
    """What an audit asks: the group dimensions and the filters."""

    by: tuple[str, ...]
    since: dt.date | None = None
    until: dt.date | None = None
    model: str | None = None


class Source:
    """Where an audit reads: the calls table, SQLite's daily rollup, or a tag's rollup."""

    def __init__(self, dialect: str, rollup: bool, tag: str | None = None) -> None:
        self.dialect = dialect
        self.rollup = rollup or tag is not None
        self.tag = tag
        self.c = TAG_DAILY[dialect].c if tag is not None else DAILY.c if rollup else CALLS.c

    def col(self, name: str) -> sa.ColumnElement[Any]:
        """A column of the source; the rollup's '' keys read as NULL."""
        column = self.c[name]
        if self.rollup and name not in ("day", "currency"):
            return sa.func.nullif(column, "")  # the rollup stores NULL keys as ''
        return column

    def dimension(self, name: str) -> sa.ColumnElement[Any]:
        """The SQL expression of one ``--by`` value; :class:`LedgerError` for a bad one."""
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
        if self.tag is not None and name == f"tag:{self.tag}":
            return sa.case((self.c.tagged == 1, self.c.tag_value))  # untagged: NULL
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

    def filters(self, ask: Ask) -> list[sa.ColumnElement[bool]]:
        """The WHERE clauses of the asked period and model."""
        where: list[sa.ColumnElement[bool]] = []
        if self.tag is not None:
            where.append(self.c.tag_key == self.tag)
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
        self, ask: Ask, *, detail: Sequence[str] = (), with_cost: bool = True
    ) -> tuple[sa.Select[Any], int]:
        """The grouped query, and how many leading columns are the group key."""
        keys = [self.dimension(b) for b in ask.by]
        keys += [self.col("currency"), *(self.col(d) for d in detail)]
        values = self.metrics() + (self.costs() if with_cost else [])
        query = sa.select(*keys, *values).where(*self.filters(ask)).group_by(*keys)
        return query, len(keys)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where an audit reads (the fastest exact source) and why, as the audit reports it."""

    source: Source
    name: str
    """``rollup`` (SQLite's daily rollup), ``rollup:KEY`` (a tag's rollup) or ``scan``."""
    note: str
    """What was read, in words; for a scan, why no rollup could answer."""


def _scan(dialect: str, why: str) -> Plan:
    return Plan(Source(dialect, rollup=False), "scan", f"every call ({why})")


def plan(conn: Connection, ask: Ask) -> Plan:
    """The source that answers *ask* exactly in the least time, and why."""
    dialect = conn.dialect.name
    tags = list(dict.fromkeys(b[4:] for b in ask.by if b.startswith("tag:")))
    others = [b for b in ask.by if not b.startswith("tag:") and b not in _ROLLUP_DIMS]
    if not tags:
        if dialect == "sqlite" and not others:
            return Plan(Source(dialect, rollup=True), "rollup", "the daily rollup")
        if others:
            return _scan(dialect, f"--by {others[0]} is not in the daily rollup")
        return _scan(dialect, "PostgreSQL keeps no daily rollup; it sums NUMERIC")
    kept = ready_tags(conn)
    key = tags[0]
    if len(tags) > 1:
        return _scan(dialect, "each tag key is rolled up on its own, not two together")
    if key not in kept:
        return _scan(dialect, f"tag {key!r} is not rolled up: azcost ledger rollup add {key}")
    if not kept[key]:
        why = f"the rollup of tag {key!r} is not backfilled yet: azcost ledger rollup add {key}"
        return _scan(dialect, why)
    if others:
        return _scan(dialect, f"--by {others[0]} is not in the rollup of tag {key!r}")
    return Plan(
        Source(dialect, rollup=True, tag=key), f"rollup:{key}", f"the rollup of tag {key!r}"
    )


Grouped = dict[tuple[Any, ...], tuple[list[int], Decimal]]
"""Group key (dimensions..., currency) -> (requests, priced, tokens per kind), exact cost."""


def grouped(conn: Connection, ask: Ask) -> Grouped:
    """Counts, tokens and exact cost per group, from the fastest source that is exact."""
    return read_grouped(conn, ask)[0]


def read_grouped(conn: Connection, ask: Ask) -> tuple[Grouped, Plan]:
    """As :func:`grouped`, with where the sums were read.

    A ledger holding values no exact total can include (written before records were
    checked: NaN, infinite, negative, non-numeric) raises :class:`LedgerError` naming
    the run ids.
    """
    try:
        out, used = _grouped(conn, ask, plan(conn, ask))
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise damaged_error(conn) from exc
    for metrics, cost in out.values():
        if not cost.is_finite() or cost < 0 or any(type(v) is not int or v < 0 for v in metrics):
            raise damaged_error(conn)
    return out, used


def _overflowed(conn: Connection, ask: Ask) -> tuple[Grouped, Plan]:
    return grouped_in_python(conn, ask), _scan(conn.dialect.name, "a sum passed 64 bits")


def _grouped(conn: Connection, ask: Ask, chosen: Plan) -> tuple[Grouped, Plan]:
    dialect = conn.dialect.name
    query, n = chosen.source.select(ask)
    try:
        rows = conn.execute(query).all()
    except sa.exc.OperationalError as exc:
        if "integer overflow" not in str(exc.orig):
            raise
        return _overflowed(conn, ask)
    out: Grouped = {}
    inexact = False
    for r in rows:
        metrics = [_count(v) for v in r[n : n + _N_METRICS]]
        costs = r[n + _N_METRICS :]
        if dialect == "postgresql":
            cost = Decimal(costs[0] or 0)
        else:
            if isinstance(costs[0], float):  # a rollup sum overflowed into REAL
                return _overflowed(conn, ask)
            cost = EXACT.scaleb(Decimal(costs[0] or 0), _PICO)
            inexact = inexact or bool(costs[1])
        out[tuple(r[:n])] = (metrics, cost)
    if inexact:  # totals finer than 1e-12: add them from their exact text
        raw = Source(dialect, rollup=False)
        keys = [raw.dimension(b) for b in ask.by] + [CALLS.c.currency]
        tail = sa.select(*keys, CALLS.c.total_cost).where(*raw.filters(ask), _INEXACT)
        for r in conn.execute(tail):
            metrics, cost = out[tuple(r[:-1])]
            out[tuple(r[:-1])] = (metrics, EXACT.add(cost, Decimal(r[-1])))
    return out, chosen


def _count(value: Any) -> int:
    """A summed count as an int (None is 0); a float means a damaged row was summed."""
    if value is None:
        return 0
    if type(value) is Decimal and value.is_finite() and value == value.to_integral_value():
        return int(value)  # PostgreSQL sums BIGINT as NUMERIC
    if type(value) is not int:
        raise ValueError(f"a token or request sum is {value!r}, not an integer")
    return value


def grouped_in_python(conn: Connection, ask: Ask) -> Grouped:
    """The slow exact path: integer sums overflowed, so costs are added with Decimal."""
    raw = Source(conn.dialect.name, rollup=False)
    query, n = raw.select(ask, with_cost=False)
    out: Grouped = {
        tuple(r[:n]): ([_count(v) for v in r[n:]], Decimal(0)) for r in conn.execute(query)
    }
    keys = [raw.dimension(b) for b in ask.by] + [CALLS.c.currency]
    costs = sa.select(*keys, CALLS.c.total_cost).where(
        *raw.filters(ask), CALLS.c.total_cost.is_not(None)
    )
    for r in conn.execute(costs):
        metrics, cost = out[tuple(r[:-1])]
        out[tuple(r[:-1])] = (metrics, EXACT.add(cost, Decimal(r[-1])))
    return out


def total_by_currency(engine: Engine) -> dict[str, str]:
    """Exact total recorded spend per currency, as decimal strings."""
    with engine.connect() as conn:
        sums = grouped(conn, Ask(()))
    return {key[0]: money_str(cost) for key, (_, cost) in sorted(sums.items())}


def daily_spend(
    engine: Engine,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    model: str | None = None,
) -> list[tuple[str, str | None, str, Decimal]]:
    """(day, model, currency, exact cost) for every day and model version with calls."""
    with engine.connect() as conn:
        sums = grouped(conn, Ask(("day", "model"), since, until, model))
    return sorted(
        ((k[0], k[1], k[2], cost) for k, (_, cost) in sums.items()),
        key=lambda t: (t[0], t[1] or "", t[2]),
    )


# --------------------------------------------------------------------------- damage

_SHOWN_IDS = 10


def _bad_cost(col: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        # NaN sorts above every number in PostgreSQL, so it fails "< MAX_COST" too
        return sa.not_(sa.and_(col >= 0, col < MAX_COST))
    # SQLite keeps money as plain decimal text: anything else is damage
    text = sa.type_coerce(col, sa.Text)
    return sa.or_(text.op("GLOB")("*[^0-9.]*"), text == "", sa.func.typeof(col) != "text")


def _bad_count(col: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return col < 0
    return sa.or_(sa.func.typeof(col) != "integer", col < 0)


def damaged_run_ids(conn: Connection) -> tuple[int, list[str]]:
    """How many records hold values no exact total can include, and the first run ids."""
    dialect = conn.dialect.name
    c = CALLS.c
    bad = [_bad_count(c[name], dialect) for name in TOKEN_FIELDS]
    bad += [sa.and_(c[name].is_not(None), _bad_cost(c[name], dialect)) for name in COST_FIELDS]
    where = sa.or_(*bad)
    n = conn.execute(sa.select(sa.func.count()).select_from(CALLS).where(where)).scalar_one()
    ids = conn.scalars(sa.select(c.run_id).where(where).order_by(c.run_id).limit(_SHOWN_IDS))
    return int(n), list(ids)


def damaged_error(conn: Connection) -> LedgerError:
    """The error for a ledger whose sums are not exact numbers, naming the bad run ids."""
    n, ids = damaged_run_ids(conn)
    if not n:
        return LedgerError("the ledger's sums are not exact numbers; no damaged record was found")
    more = f" and {n - len(ids)} more" if n > len(ids) else ""
    return LedgerError(
        f"the ledger holds {n} record(s) with a non-finite, negative or non-numeric cost or "
        f"token count (written before records were checked): run id(s) {', '.join(ids)}{more}"
    )


def ledger_stats(engine: Engine) -> dict[str, Any]:
    """Counts, time span, exact spend per currency and applied migrations."""
    c = CALLS.c
    with engine.connect() as conn:
        n, first, last, priced = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(c.ts),
                sa.func.max(c.ts),
                sa.func.sum(sa.case((c.priced, 1), else_=0)),
            )
        ).one()
        migrations = list(
            conn.scalars(sa.select(MIGRATIONS_TABLE.c.name).order_by(MIGRATIONS_TABLE.c.name))
        )
        damaged, ids = damaged_run_ids(conn)
        total = (
            None
            if damaged
            else {
                key[0]: money_str(cost) for key, (_, cost) in sorted(grouped(conn, Ask(())).items())
            }
        )
    return {
        "records": n,
        "priced": int(priced or 0),
        "unpriced": n - int(priced or 0),
        "first": first,
        "last": last,
        "total_cost": total,
        "damaged_records": damaged,
        "damaged_run_ids": ids,
        "migrations": migrations,
    }
