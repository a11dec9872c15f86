"""The spend ledger: call records, the batched writer, its database, audits and reports.

Owns the record of a priced call, the SQLite/PostgreSQL schema and its named
migrations, the spool, and every report read from the database. Imports
``pricing`` (money and re-pricing) and never the callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ._record import CallRecord

if TYPE_CHECKING:
    from ._audit import AuditRow, Reprice, audit
    from ._db import default_url, display_url, resolve_url, sqlite_path
    from ._html import write_report
    from ._migrations import migrate
    from ._writer import Durability, Ledger

__all__ = [
    "AuditRow",
    "CallRecord",
    "Durability",
    "Ledger",
    "Reprice",
    "audit",
    "default_url",
    "display_url",
    "migrate",
    "resolve_url",
    "sqlite_path",
    "write_report",
]

# SQLAlchemy is imported on first use only
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "AuditRow": "._audit",
        "Reprice": "._audit",
        "audit": "._audit",
        "write_report": "._html",
        "default_url": "._db",
        "display_url": "._db",
        "migrate": "._migrations",
        "resolve_url": "._db",
        "sqlite_path": "._db",
        "Durability": "._writer",
        "Ledger": "._writer",
    },
)
