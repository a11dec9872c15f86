"""The spend ledger: call records, the batched writer, its database, audits and reports.

Owns the record of a priced call, the SQLite/PostgreSQL schema and its named
migrations, the spool, and every report read from the database. Imports
``pricing`` (money and re-pricing) and never the callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord, new_record

if TYPE_CHECKING:
    from ._audit import AuditResult, AuditRow, Reprice, audit
    from ._checks import (
        MAX_COST,
        MAX_COST_PLACES,
        MAX_TOKENS,
        RecordError,
        check_record,
        record_from_json,
    )
    from ._db import create_ledger_engine, default_url, display_url, resolve_url, sqlite_path
    from ._html import write_report
    from ._metered import recorded_usage
    from ._migrations import MIGRATIONS, migrate
    from ._rollup_tags import (
        RollupTag,
        add_rollup_tags,
        backfill_rollup_tag,
        remove_rollup_tag,
        rollup_tags,
    )
    from ._rollups import ROLLUP_BATCH_SQL
    from ._sums import total_by_currency
    from ._tables import (
        COLUMNS,
        ROLLUP_KEYS,
        ROLLUP_SUMS,
        TABLES,
        insert_sql,
        on_dialect,
        rollup_values,
        row_of,
    )
    from ._writer import Durability, Ledger

__all__ = [
    "COLUMNS",
    "COST_FIELDS",
    "MAX_COST",
    "MAX_COST_PLACES",
    "MAX_TOKENS",
    "MIGRATIONS",
    "ROLLUP_BATCH_SQL",
    "ROLLUP_KEYS",
    "ROLLUP_SUMS",
    "TABLES",
    "TOKEN_FIELDS",
    "AuditResult",
    "AuditRow",
    "CallRecord",
    "Durability",
    "Ledger",
    "RecordError",
    "Reprice",
    "RollupTag",
    "add_rollup_tags",
    "audit",
    "backfill_rollup_tag",
    "check_record",
    "create_ledger_engine",
    "default_url",
    "display_url",
    "insert_sql",
    "migrate",
    "new_record",
    "on_dialect",
    "record_from_json",
    "recorded_usage",
    "remove_rollup_tag",
    "resolve_url",
    "rollup_tags",
    "rollup_values",
    "row_of",
    "sqlite_path",
    "total_by_currency",
    "write_report",
]

# SQLAlchemy is imported on first use only
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "AuditResult": "._audit",
        "AuditRow": "._audit",
        "Reprice": "._audit",
        "audit": "._audit",
        **dict.fromkeys(
            ("MAX_COST", "MAX_COST_PLACES", "MAX_TOKENS", "RecordError", "check_record"),
            "._checks",
        ),
        "record_from_json": "._checks",
        "write_report": "._html",
        "create_ledger_engine": "._db",
        "default_url": "._db",
        "display_url": "._db",
        "MIGRATIONS": "._migrations",
        "migrate": "._migrations",
        "recorded_usage": "._metered",
        "total_by_currency": "._sums",
        **dict.fromkeys(("COLUMNS", "ROLLUP_KEYS", "ROLLUP_SUMS", "TABLES"), "._tables"),
        **dict.fromkeys(("insert_sql", "on_dialect", "rollup_values", "row_of"), "._tables"),
        "ROLLUP_BATCH_SQL": "._rollups",
        "RollupTag": "._rollup_tags",
        "add_rollup_tags": "._rollup_tags",
        "backfill_rollup_tag": "._rollup_tags",
        "remove_rollup_tag": "._rollup_tags",
        "rollup_tags": "._rollup_tags",
        "resolve_url": "._db",
        "sqlite_path": "._db",
        "Durability": "._writer",
        "Ledger": "._writer",
    },
)
