"""What Azure publishes: meter names, Retail Prices API pages and their import.

Owns parsing Azure's meter names into model, version, deployment type and token
kind, reading and fetching Retail Prices API pages, and turning them into pricing
series. Imports ``pricing``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ._meters import Meter, MeterSkipped, TokenKind, parse_meter

if TYPE_CHECKING:
    from ._costexport import iter_export
    from ._fetch import fetch_pages
    from ._pages import RetailRow, read_pages, rows_from_page
    from ._retail import API_URL, ImportResult, import_rows
    from ._versions import DocumentedVersion, documented_versions, resolve_meter

__all__ = [
    "API_URL",
    "DocumentedVersion",
    "ImportResult",
    "Meter",
    "MeterSkipped",
    "RetailRow",
    "TokenKind",
    "documented_versions",
    "fetch_pages",
    "import_rows",
    "iter_export",
    "parse_meter",
    "read_pages",
    "resolve_meter",
    "rows_from_page",
]

# the retail import needs pydantic: imported on first use only
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "iter_export": "._costexport",
        "fetch_pages": "._fetch",
        "resolve_meter": "._versions",
        "DocumentedVersion": "._versions",
        "documented_versions": "._versions",
        "API_URL": "._retail",
        "ImportResult": "._retail",
        "RetailRow": "._pages",
        "import_rows": "._retail",
        "read_pages": "._pages",
        "rows_from_page": "._pages",
    },
)
