"""Recorded usage in the units Azure meters: per UTC day, model, deployment type, token kind.

Azure bills uncached input apart from cached input, and text apart from audio and
images, so the recorded tokens are regrouped the same way, one group per kind of
:mod:`azcost.pricing._kinds` (``input`` = prompt tokens less every input part: cached,
audio, image; ``output`` = completion tokens less audio and image), each kind with its
exact recorded cost. One ``GROUP BY`` over the calls does it in the database.

On SQLite money is decimal text, which ``sum()`` would turn into binary floats. A
per-kind cost below 1,000 with at most 11 decimal places (told from its text: at most
13 characters, the point among the first four) is summed instead as
``round(cost * 1e12)``: its double is within a few ulps of the exact value, and below
1e15 units that error stays under 0.5, so the rounding lands on the exact integer.
Other costs (rare) are added in Python from their text, so every sum is exact.
PostgreSQL sums its ``NUMERIC`` columns exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..pricing._cost import EXACT
from ..pricing._kinds import DETAIL_KINDS
from ..pricing._kinds import KINDS as PRICED_KINDS
from ._tables import CALLS

__all__ = ["KINDS", "MeteredKey", "RecordedUsage", "recorded_usage"]


def _metered_kinds() -> tuple[tuple[str, str, str], ...]:
    """Each kind of the pricing table with the SQL of its tokens as Azure meters them."""
    out = []
    for kind in PRICED_KINDS:
        tokens = kind.token_field
        if kind.is_total:  # the total less its parts: what is left is plain text
            parts = [k.token_field for k in DETAIL_KINDS if k.side == kind.side]
            tokens = " - ".join([tokens, *parts])
        out.append((kind.name, tokens, kind.cost_field))
    return tuple(out)


KINDS = _metered_kinds()
"""(token kind as metered, SQL of its recorded tokens, its cost column)."""

MeteredKey = tuple[str, str, str, str]
"""(UTC day, model version, deployment type, token kind)."""

_UNKNOWN_TYPE = "(unknown)"
_PICO = Decimal("1e-12")
# a cost text summed in SQL as integer 1e-12 units (see the module docstring): "0", or at
# most 13 characters with the point at the 2nd to 4th: below 1,000 with at most 11 places
_FAST = (
    "({c} IS NOT NULL AND ({c} = '0' OR (length({c}) <= 13 AND instr({c}, '.') BETWEEN 2 AND 4)))"
)


@dataclass
class RecordedUsage:
    """Recorded tokens and exact cost per group, and what could not be grouped."""

    groups: dict[MeteredKey, list[Any]] = field(default_factory=dict)
    """key -> [tokens, exact cost of the priced calls, calls not priced]."""
    currencies: set[str] = field(default_factory=set)
    """Currencies of the recorded costs."""
    calls: int = 0
    """Calls in scope."""
    without_resource: int = 0
    """With a resource filter: calls in the period whose resource is not known."""


def _model_sql() -> str:
    return "coalesce(model, reported_model || ' (unresolved)', '(unknown)')"


def _where(since: dt.date | None, until: dt.date | None, resource: bool) -> str:
    parts = ["1 = 1"]
    if since is not None:
        parts.append("day >= :since")
    if until is not None:
        parts.append("day <= :until")
    if resource:
        parts.append("lower(resource) = :resource")
    return " AND ".join(parts)


def recorded_usage(
    engine: Engine,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    resource: str | None = None,
) -> RecordedUsage:
    """Recorded usage per (day, model, deployment type, kind), exact, from one grouped query."""
    params: dict[str, Any] = {}
    if since is not None:
        params["since"] = since.isoformat()
    if until is not None:
        params["until"] = until.isoformat()
    if resource is not None:
        params["resource"] = resource.strip().lower()
    out = RecordedUsage()
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        where = _where(since, until, resource is not None)
        kinds = _used_kinds(conn, where, params)
        try:
            _grouped(conn, out, kinds, where, params, sqlite, _FAST)
        except sa.exc.OperationalError as exc:
            if "integer overflow" not in str(exc.orig):
                raise
            # a sum past 64 bits: every cost is added in Python instead
            out = RecordedUsage()
            _grouped(conn, out, kinds, where, params, sqlite, "(0 = 1)")
            if sqlite:
                _inexact(conn, out, kinds, where, params, "(0 = 1)")
        else:
            if sqlite:
                _inexact(conn, out, kinds, where, params, _FAST)
        if resource is not None:
            unknown = _where(since, until, False) + " AND resource IS NULL"
            out.without_resource = conn.execute(
                sa.text(f"SELECT count(*) FROM {CALLS.name} WHERE {unknown}"), params
            ).scalar_one()
    return out


def _used_kinds(
    conn: Connection, where: str, params: dict[str, Any]
) -> tuple[tuple[str, str, str], ...]:
    """The kinds with tokens, or a cost other than '0' or NULL, in scope (one ungrouped scan)."""
    probes = []
    for _, tokens, cost in KINDS:
        probes += [
            f"sum(CASE WHEN {tokens} != 0 THEN 1 ELSE 0 END)",
            f"sum(CASE WHEN {cost} IS NOT NULL AND {cost} != '0' THEN 1 ELSE 0 END)",
        ]
    query = f"SELECT {', '.join(probes)} FROM {CALLS.name} WHERE {where}"
    row = conn.execute(sa.text(query), params).one()
    return tuple(k for i, k in enumerate(KINDS) if row[2 * i] or row[2 * i + 1])


def _grouped(
    conn: Connection,
    out: RecordedUsage,
    kinds: tuple[tuple[str, str, str], ...],
    where: str,
    params: dict[str, Any],
    sqlite: bool,
    fast_sql: str,
) -> None:
    sums = []
    for _, tokens, column in kinds:
        sums.append(f"sum({tokens})")
        if sqlite:
            fast = fast_sql.format(c=column)
            sums.append(
                f"sum(CASE WHEN {column} = '0' THEN 0 "
                f"WHEN {fast} THEN CAST(round({column} * 1e12) AS INTEGER) END)"
            )
        else:
            sums.append(f"sum({column})")
    query = (
        f"SELECT day, {_model_sql()}, coalesce(deployment_type, '{_UNKNOWN_TYPE}'), currency, "
        f"{', '.join(['count(*)', 'sum(CASE WHEN priced THEN 0 ELSE 1 END)', *sums])} "
        f"FROM {CALLS.name} WHERE {where} GROUP BY 1, 2, 3, 4"
    )
    for row in conn.execute(sa.text(query), params):
        day, model, dtype, currency, calls, unpriced = row[:6]
        out.calls += calls
        out.currencies.add(currency)
        for i, (kind, _, _) in enumerate(kinds):
            tokens, summed = row[6 + 2 * i], row[7 + 2 * i]
            if not tokens and summed is None:
                continue
            cost = Decimal(summed or 0)
            if sqlite:
                cost = EXACT.multiply(cost, _PICO)
            key = (day, model, dtype, kind)
            sums_ = out.groups.setdefault(key, [0, Decimal(0), 0])
            sums_[0] += int(tokens or 0)
            sums_[1] = EXACT.add(sums_[1], cost)
            sums_[2] = max(sums_[2], int(unpriced or 0))


def _inexact(
    conn: Connection,
    out: RecordedUsage,
    kinds: tuple[tuple[str, str, str], ...],
    where: str,
    params: dict[str, Any],
    fast_sql: str,
) -> None:
    """SQLite: add the costs the integer sum left out, exactly, from their text."""
    for kind, _, cost in kinds:
        fast = fast_sql.format(c=cost)
        query = (
            f"SELECT day, {_model_sql()}, coalesce(deployment_type, '{_UNKNOWN_TYPE}'), {cost} "
            f"FROM {CALLS.name} WHERE {where} AND {cost} IS NOT NULL AND NOT {fast}"
        )
        for day, model, dtype, amount in conn.execute(sa.text(query), params):
            key = (day, model, dtype, kind)
            sums = out.groups.setdefault(key, [0, Decimal(0), 0])
            sums[1] = EXACT.add(sums[1], Decimal(amount))
