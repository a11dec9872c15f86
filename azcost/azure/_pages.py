"""Reading Retail Prices API pages: rows with exact prices, errors naming file, item and meter.

A page is ``{"Items": [...], "NextPageLink": ...}``; every number is read as a
``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._input import read_text
from .._parse import loads_json
from ..errors import InputFileError, RetailImportError

__all__ = ["RetailRow", "parse_json", "read_pages", "rows_from_page"]


@dataclass(frozen=True)
class RetailRow:
    """One item of a Retail Prices API page, with where it was read."""

    file: str
    """The page file (or URL) the row came from."""
    index: int
    """0-based position of the row in the page's ``Items``."""
    meter_name: str
    """``meterName``."""
    product_name: str
    """``productName``."""
    service_name: str
    """``serviceName``."""
    unit: str
    """``unitOfMeasure`` (``1K`` or ``1M`` for token meters)."""
    price: Decimal
    """``retailPrice``, exact."""
    region: str
    """``armRegionName``, lower case."""
    start: dt.date
    """``effectiveStartDate`` (UTC day)."""
    price_type: str
    """``type``: ``Consumption``, ``DevTestConsumption``, ``Reservation``."""
    currency: str
    """``currencyCode``."""
    tier_minimum: Decimal
    """``tierMinimumUnits``."""

    def where(self) -> str:
        """``file: item N (meterName 'x')`` for messages."""
        return f"{self.file}: item {self.index} (meterName {self.meter_name!r})"


def _need(item: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        got = "missing" if key not in item else f"{type(value).__name__} {value!r}"
        raise RetailImportError(f"{where}: field {key!r} must be a {kind.__name__}, got {got}")
    return value


_ZERO = Decimal(0)


def _amount(
    item: Mapping[str, Any], key: str, where: str, missing: Decimal | None = None
) -> Decimal:
    """A number >= 0 as a Decimal; text, a boolean or a negative is a located error, never 0."""
    if key not in item and missing is not None:
        return missing
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        got = "missing" if key not in item else f"{value!r}"
        raise RetailImportError(f"{where}: field {key!r} must be a number >= 0, got {got}")
    return value


def rows_from_page(page: Any, source: str) -> list[RetailRow]:
    """The rows of one parsed page (a dict with ``Items``); errors name the file, item and meter."""
    if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
        raise RetailImportError(
            f"{source}: not a Retail Prices API response (expected an object with an 'Items' list)"
        )
    rows = []
    for i, item in enumerate(page["Items"]):
        if not isinstance(item, dict):
            raise RetailImportError(f"{source}: item {i}: not an object")
        meter = item.get("meterName")
        where = f"{source}: item {i}"
        if isinstance(meter, str):
            where += f" (meterName {meter!r})"
        price = _amount(item, "retailPrice", where)
        start_text = _need(item, "effectiveStartDate", str, where)
        try:
            start = dt.datetime.fromisoformat(start_text.replace("Z", "+00:00")[:25])
        except ValueError:
            raise RetailImportError(
                f"{where}: field 'effectiveStartDate' is not a date-time: {start_text!r}"
            ) from None
        if start.tzinfo is not None:
            start = start.astimezone(dt.timezone.utc)
        rows.append(
            RetailRow(
                file=source,
                index=i,
                meter_name=_need(item, "meterName", str, where),
                product_name=_need(item, "productName", str, where),
                service_name=str(item.get("serviceName") or ""),
                unit=_need(item, "unitOfMeasure", str, where),
                price=price,
                region=str(item.get("armRegionName") or "").strip().lower(),
                start=start.date(),
                price_type=_need(item, "type", str, where),
                currency=_need(item, "currencyCode", str, where),
                tier_minimum=_amount(item, "tierMinimumUnits", where, missing=_ZERO),
            )
        )
    return rows


def parse_json(text: str, source: str) -> Any:
    """A page's JSON (``Decimal`` numbers, bounded depth and size); errors name line:column."""
    try:
        return loads_json(text, source)
    except InputFileError as exc:
        raise RetailImportError(str(exc)) from None


def read_pages(paths: Sequence[str | Path]) -> tuple[list[RetailRow], list[str]]:
    """Rows of saved API pages, and warnings (e.g. no page in the set is the last one)."""
    rows: list[RetailRow] = []
    next_links = 0
    for path in paths:
        try:
            text = read_text(path)
        except InputFileError as exc:
            raise RetailImportError(str(exc)) from None
        page = parse_json(text, str(path))
        rows.extend(rows_from_page(page, str(path)))
        if isinstance(page, dict) and page.get("NextPageLink"):
            next_links += 1
    warnings = []
    if paths and next_links == len(paths):
        warnings.append(
            "every page given has a NextPageLink: the last page (and maybe others) is missing"
        )
    return rows, warnings
