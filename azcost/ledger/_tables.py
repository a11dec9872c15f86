"""The ledger's tables and rows: the latest schema, the daily rollup, record <-> row.

Money is stored exactly. PostgreSQL: unconstrained ``NUMERIC`` (``NUMERIC(38, 18)``
would silently round a cost with more than 18 decimal places; unconstrained NUMERIC
keeps every digit). SQLite: decimal *text* in a ``TEXT`` column (a NUMERIC column would
give the value REAL affinity and turn it into a binary float). Because SQLite cannot sum
decimal text exactly, each row also carries ``total_cost_pico``: the total as an integer
number of 1e-12 currency units, so ``SUM()`` over millions of rows is exact and fast.
It is NULL when the total is not a whole number of pico-units (more than 12 decimal
places) or would not fit in 64 bits; the text column stays the source of truth and the
audit adds those rows from the text, so totals are exact in every case.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from ..pricing import money_str
from ..pricing._cost import EXACT
from ._checks import check_labels_json
from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord

__all__ = [
    "CALLS",
    "COLUMNS",
    "DAILY",
    "IDENTITY_FIELDS",
    "MIGRATIONS_TABLE",
    "ROLLUP_KEYS",
    "ROLLUP_SUMS",
    "ROLLUP_TAGS",
    "TABLES",
    "TAG_DAILY",
    "TAG_KEYS",
    "Money",
    "calls_columns",
    "daily_table",
    "insert_sql",
    "labels_of",
    "on_dialect",
    "pico",
    "record_from_row",
    "rollup_sums",
    "rollup_values",
    "row_of",
    "tag_daily_table",
    "tags_meta_json",
]

# --------------------------------------------------------------------------- tables


class Money(sa.types.TypeDecorator[Decimal]):
    """Exact money: NUMERIC on PostgreSQL, decimal text on SQLite."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(asdecimal=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return money_str(Decimal(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


_meta = sa.MetaData()

MIGRATIONS_TABLE = sa.Table(
    "azcost_migrations",
    _meta,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False),
)


IDENTITY_FIELDS = (
    "deployment",
    "reported_model",
    "model",
    "model_version",
    "deployment_type",
    "region",
    "match",
)
"""Record fields that say which model ran where, stored as text columns in this order."""


def calls_columns(tokens: Sequence[str], costs: Sequence[str]) -> list[sa.Column[Any]]:
    """The columns of ``azcost_calls`` with the given token and cost columns."""
    cols: list[sa.Column[Any]] = [
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("ts", sa.Text, nullable=False),
        sa.Column("day", sa.Text, nullable=False),
    ]
    cols += [sa.Column(name, sa.Text) for name in IDENTITY_FIELDS]
    cols += [sa.Column(name, sa.BigInteger, nullable=False) for name in tokens]
    cols += [sa.Column(name, Money) for name in costs]
    cols += [
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("pricing_version", sa.Text),
        sa.Column("price_effective_from", sa.Text),
        sa.Column("priced", sa.Boolean, nullable=False),
        sa.Column("unpriced_reason", sa.Text),
        sa.Column("usage_known", sa.Boolean, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("run_metadata", sa.Text, nullable=False),
    ]
    return cols


CALLS = sa.Table(
    "azcost_calls",
    _meta,
    *calls_columns(TOKEN_FIELDS, COST_FIELDS),
    sa.Column("total_cost_pico", sa.BigInteger),
    sa.Column("labels", sa.Text),
    sa.Column("resource", sa.Text),
    sa.Column("service_tier", sa.Text),
)
"""The ledger table, latest schema: one row per completed call."""

sa.Index(f"ix_{CALLS.name}_day", CALLS.c.day)
sa.Index(
    f"ix_{CALLS.name}_inexact",
    CALLS.c.day,
    sqlite_where=sa.text("total_cost IS NOT NULL AND total_cost_pico IS NULL"),
    info={"dialect": "sqlite"},
)

COLUMNS: tuple[str, ...] = tuple(c.name for c in CALLS.columns)
"""Column order used by :func:`row_of` and :func:`insert_sql`."""


# --------------------------------------------------------------------------- rows

_PICO = 12
_INT64 = 2**63


def pico(total: Decimal | None) -> int | None:
    if total is None:
        return None
    scaled = EXACT.scaleb(total, _PICO)  # never rounded, whatever the caller's context
    if scaled != scaled.to_integral_value():
        return None
    value = int(scaled)
    return value if -_INT64 < value < _INT64 else None


def labels_of(tags: Iterable[str], metadata: dict[str, Any]) -> dict[str, str]:
    """What ``--by tag:KEY`` reads: ``KEY:value`` or ``KEY=value`` tags, then scalar metadata."""
    labels: dict[str, str] = {}
    for tag in tags:
        for sep in (":", "="):
            key, found, value = tag.partition(sep)
            if found and key:
                labels[key] = value
                break
    for key, value in metadata.items():
        if isinstance(value, (str, int, float, bool)):
            labels[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return labels


_UTC = dt.timezone.utc


def _ts_text(ts: dt.datetime) -> tuple[str, str]:
    if ts.tzinfo is not _UTC:
        ts = ts.replace(tzinfo=_UTC) if ts.tzinfo is None else ts.astimezone(_UTC)
    text = ts.isoformat(timespec="microseconds")
    return text, text[:10]


# allow_nan=False: a NaN or infinite float in metadata is refused, not stored as bare NaN
_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str, allow_nan=False).encode


_JSON_CACHE: dict[Any, tuple[str, str, str]] = {}
_CACHEABLE = frozenset((str, int, bool, type(None)))


def tags_meta_json(tags: tuple[str, ...], metadata: Mapping[str, Any]) -> tuple[str, str, str]:
    """(tags, metadata, labels) as JSON; memoised, since most runs repeat a few tag sets."""
    # the key carries each value's type: 1 and True are equal but encode differently.
    # Floats are not cached (0.0 == -0.0), nor lists and dicts (unhashable or mutable).
    values = tuple(metadata.values())
    types = tuple(map(type, values))
    key: Any = (tags, tuple(metadata), values, types)
    if _CACHEABLE.issuperset(types):
        found = _JSON_CACHE.get(key)
    else:
        key, found = None, None
    if found is None:
        meta = dict(metadata)
        found = (_json(list(tags)), _json(meta), _json(labels_of(tags, meta)))
        check_labels_json(found[0], found[1])
        if key is not None:
            if len(_JSON_CACHE) >= 4096:
                _JSON_CACHE.clear()
            _JSON_CACHE[key] = found
    return found


_record_tokens = attrgetter(*TOKEN_FIELDS)
_record_costs = attrgetter(*COST_FIELDS)
_record_identity = attrgetter(*IDENTITY_FIELDS)


def row_of(rec: CallRecord, *, text_money: bool) -> tuple[Any, ...]:
    """One record as a tuple in :data:`COLUMNS` order (money as text when ``text_money``)."""
    ts, day = _ts_text(rec.timestamp)
    costs: tuple[Any, ...] = _record_costs(rec)
    if text_money:
        # format(..., "f"): exact plain decimal text, never an exponent
        costs = tuple(None if c is None else format(c, "f") for c in costs)
    eff = rec.price_effective_from
    tags = rec.tags
    metadata = rec.metadata
    if tags or metadata:
        tags_json, meta_json, labels_json = tags_meta_json(tags, metadata)
    else:
        tags_json, meta_json, labels_json = "[]", "{}", "{}"
    return (
        rec.run_id,
        ts,
        day,
        *_record_identity(rec),
        *_record_tokens(rec),
        *costs,
        rec.currency,
        rec.pricing_version,
        None if eff is None else eff.isoformat(),
        bool(rec.priced),
        rec.unpriced_reason,
        bool(rec.usage_known),
        tags_json,
        meta_json,
        pico(rec.total_cost),
        labels_json,
        rec.resource,
        rec.service_tier,
    )


def record_from_row(row: sa.Row[Any] | Sequence[Any]) -> CallRecord:
    """Inverse of :func:`row_of` for a row selected in :data:`COLUMNS` order (not checked)."""
    values = dict(zip(COLUMNS, row, strict=True))
    eff = values["price_effective_from"]
    data: dict[str, Any] = {
        "run_id": values["run_id"],
        "timestamp": dt.datetime.fromisoformat(values["ts"]).astimezone(_UTC),
        "price_effective_from": None if eff is None else dt.date.fromisoformat(eff),
        "priced": bool(values["priced"]),
        "usage_known": bool(values["usage_known"]),
        "tags": tuple(json.loads(values["tags"])),
        "metadata": json.loads(values["run_metadata"]),
    }
    for name in (
        *IDENTITY_FIELDS,
        "resource",
        "service_tier",
        "currency",
        "pricing_version",
        "unpriced_reason",
        *TOKEN_FIELDS,
    ):
        data[name] = values[name]
    for name in COST_FIELDS:
        value = values[name]
        data[name] = None if value is None else Decimal(value)
    return CallRecord(**data)


def insert_sql(dialect: str) -> str:
    """The idempotent insert in the driver's paramstyle: a known run id is skipped."""
    mark = "?" if dialect == "sqlite" else "%s"
    return (
        f"INSERT INTO {CALLS.name} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(COLUMNS))}) ON CONFLICT (run_id) DO NOTHING"
    )


# The daily rollup (SQLite only): one row per ROLLUP_KEYS with running sums, added to by
# the writer in each batch's transaction (ROLLUP_BATCH_SQL). Audits by any of its keys,
# and re-pricing (which needs the tier), read it instead of every call: the same time at
# 1M or 10M calls. NULL keys are stored as '' (NULLs in a SQLite primary key are distinct,
# which would defeat the upsert). A pico sum past 64 bits becomes REAL; the audit then
# reads the calls. PostgreSQL sums NUMERIC and keeps no daily rollup (only tag rollups).

ROLLUP_KEYS = (
    "day", "model", "reported_model", "model_version", "deployment", "deployment_type",
    "region", "service_tier", "currency",
)  # fmt: skip  # the day first, the currency last (rollup_values relies on it)


def rollup_sums(tokens: Sequence[str]) -> tuple[str, ...]:
    """The summed columns of the daily rollup with the given token columns."""
    return ("requests", "priced_requests", *tokens, "cost_pico", "inexact_requests")


def daily_table(tokens: Sequence[str], keys: Sequence[str] = ROLLUP_KEYS) -> sa.Table:
    """The daily rollup table with the given token columns and keys."""
    return sa.Table(
        "azcost_daily",
        sa.MetaData(),
        *(sa.Column(k, sa.Text, primary_key=True) for k in keys),
        *(sa.Column(k, sa.BigInteger, nullable=False) for k in rollup_sums(tokens)),
        info={"dialect": "sqlite"},
    )


ROLLUP_SUMS = rollup_sums(TOKEN_FIELDS)

DAILY = daily_table(TOKEN_FIELDS)
"""The SQLite daily rollup of ``azcost_calls`` (see the comment above)."""

# The tag rollups (both backends): for each tag key listed in azcost_rollup_tags, one row
# per (key, value, and the daily rollup's keys), kept by the writer in each batch's
# transaction. ``tagged`` is 0 for the calls without the key (value ''), so a value ''
# stays apart from no value. ``backfilled_through``: the calls written before the key was
# added are counted up to this run id; ``ready`` once all of them are.

ROLLUP_TAGS = sa.Table(
    "azcost_rollup_tags",
    _meta,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("added_at", sa.Text, nullable=False),
    sa.Column("ready", sa.Boolean, nullable=False),
    sa.Column("backfilled_through", sa.Text, nullable=False),
)
"""The tag keys kept in :data:`TAG_DAILY`, and how far each one's backfill got."""

TAG_KEYS = ("tag_key", "tagged", "tag_value", *ROLLUP_KEYS)


def tag_daily_table(tokens: Sequence[str], dialect: str, keys: Sequence[str]) -> sa.Table:
    """The tag rollup with these tokens and keys; cost in pico units (SQLite) or NUMERIC."""
    costs: list[sa.Column[Any]]
    if dialect == "postgresql":
        costs = [sa.Column("total_cost", Money, nullable=False)]
    else:
        costs = [sa.Column(k, sa.BigInteger, nullable=False) for k in rollup_sums(())[-2:]]
    return sa.Table(
        "azcost_tag_daily",
        sa.MetaData(),
        *(
            sa.Column(k, sa.Integer if k == "tagged" else sa.Text, primary_key=True)
            for k in ("tag_key", "tagged", "tag_value", *keys)
        ),
        *(sa.Column(k, sa.BigInteger, nullable=False) for k in rollup_sums(tokens)[:-2]),
        *costs,
        info={"dialect": dialect},
    )


TAG_DAILY = {d: tag_daily_table(TOKEN_FIELDS, d, ROLLUP_KEYS) for d in ("sqlite", "postgresql")}
"""The tag rollup of each backend."""

TABLES: tuple[sa.Table, ...] = (MIGRATIONS_TABLE, CALLS, DAILY, ROLLUP_TAGS, *TAG_DAILY.values())
"""Every table of the latest schema, with its indexes; the migrations must arrive at it."""


def on_dialect(item: sa.Table | sa.Index, dialect: str) -> bool:
    """True when the latest schema has *item* on *dialect* (``info["dialect"]`` limits it)."""
    only = item.info.get("dialect")
    return only is None or only == dialect


def rollup_values(
    prefix: str, tokens: Sequence[str] = TOKEN_FIELDS, keys: Sequence[str] = ROLLUP_KEYS
) -> list[str]:
    """SQL expressions of one call's rollup *keys* and sums (columns read with *prefix*)."""
    inexact = f"{prefix}total_cost IS NOT NULL AND {prefix}total_cost_pico IS NULL"
    return [
        f"{prefix}day",
        *(f"coalesce({prefix}{k}, '')" for k in keys[1:-1]),
        f"{prefix}currency",
        "1",
        f"CASE WHEN {prefix}priced THEN 1 ELSE 0 END",
        *(f"{prefix}{t}" for t in tokens),
        f"coalesce({prefix}total_cost_pico, 0)",
        f"CASE WHEN {inexact} THEN 1 ELSE 0 END",
    ]
