"""Reading Cost Management "cost and usage details" files: layout by header, rows streamed.

Cost Management exports and the portal's downloads come in several layouts, told
apart by their header row; column names are compared case-insensitively:

- actual and amortized cost details of EA and pay-as-you-go accounts (``Date``,
  ``MeterName``, ``Quantity``, ``UnitOfMeasure``, ``CostInBillingCurrency`` or ``Cost``,
  ``BillingCurrency``/``BillingCurrencyCode``, ``ResourceId``) and of MCA accounts
  (the same in camelCase: ``date``, ``meterName``, ``costInBillingCurrency``, ...);
- FOCUS 1.0 and 1.0r2 (``ChargePeriodStart``, ``BilledCost``, ``PricingQuantity``,
  ``PricingUnit``, ``x_SkuMeterName``) and FOCUS 1.2 (``SkuMeter``).

``.csv`` and ``.csv.gz`` files are streamed row by row through :mod:`azcost._input`
(regular files only, size-capped, strict UTF-8), so a multi-GB export runs in
bounded memory; Parquet files (``azcost[parquet]``) are read in record batches.
Each row comes out as the few fields reconciliation needs, with its file and line.
"""

from __future__ import annotations

import csv
import io
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from .._input import iter_lines, open_binary
from ..errors import InputFileError

__all__ = ["FIELDS", "ExportRows", "Layout", "detect_layout", "iter_export"]

FIELDS = ("date", "meter", "quantity", "unit", "cost", "currency", "resource", "service")
"""The fields of a row, in the order :func:`iter_export` yields them."""

# field -> header names (lower case) that carry it, preferred first
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "date": ("chargeperiodstart", "date", "usagedate", "usagedatetime"),
    "meter": ("skumeter", "x_skumetername", "metername"),
    "quantity": ("pricingquantity", "quantity", "usagequantity", "consumedquantity"),
    "unit": ("x_pricingunitdescription", "pricingunit", "unitofmeasure", "consumedunit"),
    "cost": ("billedcost", "costinbillingcurrency", "cost", "pretaxcost"),
    "currency": ("billingcurrency", "billingcurrencycode", "currency"),
    "resource": ("resourceid", "instanceid", "instancename"),
}
# columns naming the service; a row is an Azure OpenAI candidate when one says "openai"
_SERVICE = (
    "metersubcategory",
    "x_skumetersubcategory",
    "productname",
    "servicename",
    "metercategory",
    "x_skumetercategory",
    "consumedservice",
)
_REQUIRED = ("date", "meter", "quantity", "unit", "cost")
_CSV_FIELD_LIMIT = 1024 * 1024  # AdditionalInfo and Tags hold JSON; one line is capped anyway
_BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Layout:
    """Which kind of cost details file a header belongs to, and where each field is."""

    name: str
    """``EA/pay-as-you-go cost details``, ``MCA cost details``, ``FOCUS 1.0`` or ``FOCUS 1.2``."""
    columns: tuple[str, ...]
    """The header's column names, for each of :data:`FIELDS` (service: joined), as written."""
    positions: tuple[int, ...]
    """Column index of each field but ``service`` (-1 when absent)."""
    service: tuple[int, ...]
    """Column indexes naming the service."""


def detect_layout(header: Sequence[str], path: str) -> Layout:
    """The layout of a header row; :class:`InputFileError` when it is not a cost details file."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    lower = {n.lower(): i for i, n in reversed(list(enumerate(names)))}
    if len(lower) < len(names) and len({n.lower() for n in names if n}) < sum(
        1 for n in names if n
    ):
        twice = next(n for i, n in enumerate(names) if n and lower[n.lower()] != i)
        raise InputFileError(
            f"column {twice!r} appears twice in the header: which one holds the value?",
            path=path,
            line=1,
        )
    positions: list[int] = []
    found: list[str] = []
    for field in FIELDS[:-1]:
        index = next((lower[c] for c in _CANDIDATES[field] if c in lower), -1)
        positions.append(index)
        found.append(names[index] if index >= 0 else "")
    missing = [f for f, i in zip(FIELDS, positions, strict=False) if i < 0 and f in _REQUIRED]
    if missing:
        raise InputFileError(
            "not a Cost Management cost details file (EA, MCA, pay-as-you-go or FOCUS): "
            f"the header has no column for {', '.join(missing)}",
            path=path,
            line=1,
        )
    service = tuple(lower[c] for c in _SERVICE if c in lower)
    if "chargeperiodstart" in lower:
        name = "FOCUS 1.2" if "skumeter" in lower else "FOCUS 1.0"
    elif names[positions[1]] == "meterName":
        name = "MCA cost details"
    else:
        name = "EA/pay-as-you-go cost details"
    found.append("+".join(names[i] for i in service))
    return Layout(name, tuple(found), tuple(positions), service)


class ExportRows:
    """The rows of one export, as field tuples; ``line`` is the line of the last one yielded.

    Each tuple holds date, meter, quantity, unit, cost, currency and resource (``''`` when
    the file has no such column), then the values of the service columns.
    """

    def __init__(self, layout: Layout, rows: Iterator[tuple[str, ...]], line: Any) -> None:
        self.layout = layout
        """The file's layout."""
        self._rows = rows
        self._line = line

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        return self._rows

    @property
    def line(self) -> int:
        """Line number (1 is the header) of the row last yielded."""
        value: int = self._line()
        return value


def iter_export(path: str | Path) -> ExportRows:
    """The rows of a cost export, streamed; errors name the file and line."""
    name = os.fspath(path)
    if name.lower().endswith(".parquet"):
        return _iter_parquet(name)
    return _iter_csv(name)


def _picker(layout: Layout, width: int) -> tuple[Any, bool]:
    """itemgetter of the fields (absent ones index a padded ''), and whether to pad."""
    absent = any(i < 0 for i in layout.positions)
    cols = [i if i >= 0 else width for i in layout.positions]
    return itemgetter(*cols, *layout.service), absent


def _iter_csv(path: str) -> ExportRows:
    stream = io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="strict", newline="")
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    # a stray or unclosed quote is an error
    reader = csv.reader(_without_nul(stream, path), strict=True)
    try:
        header = _next_row(reader, path)
        if header is None:
            raise InputFileError("empty file: not a cost details export", path=path, line=1)
        layout = detect_layout(header, path)
    except BaseException:
        stream.close()
        raise
    rows = _csv_rows(stream, reader, layout, len(header), path)
    return ExportRows(layout, rows, lambda: reader.line_num)


def _without_nul(lines: Iterable[str], path: str) -> Iterator[str]:
    """The lines of a CSV export, refusing a NUL byte with its line.

    Python 3.10's csv module refuses NUL itself and 3.11's reads it into a field; one
    check here gives the same error, with the right line, on every version.
    """
    for number, line in enumerate(lines, 1):
        if "\x00" in line:
            raise InputFileError("a NUL byte: not a text cost export", path=path, line=number)
        yield line


def _bad_byte(path: str) -> InputFileError | None:
    """The first line that is not UTF-8, with its line and column (the error path only).

    Rows are decoded in large chunks for speed, so a decoding error does not know
    its line; the file is read again line by line to name it.
    """
    try:
        for _, text in iter_lines(path):
            if isinstance(text, InputFileError) and text.problem.startswith("not UTF-8"):
                return text
    except InputFileError:
        return None
    return None


def _next_row(reader: Any, path: str) -> list[str] | None:
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except (csv.Error, InputFileError, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
        raise _broken(path, reader.line_num + 1, exc) from None
    return row


def _broken(path: str, line: int, exc: BaseException) -> InputFileError:
    if isinstance(exc, InputFileError):
        if exc.line is not None:
            return exc
        problem = exc.problem
        if "ended before" in problem:
            problem = f"the file ends early (a truncated download?): {problem}"
        return InputFileError(problem, path=path, line=line)
    if isinstance(exc, UnicodeDecodeError):
        return _bad_byte(path) or InputFileError(f"not UTF-8 text ({exc.reason})", path=path)
    if isinstance(exc, EOFError):
        problem = "the file ends early (a truncated download?)"
    elif isinstance(exc, (zlib.error, OSError)):
        problem = f"cannot decompress or read: {exc}"
    else:
        problem = f"malformed CSV: {exc}"
    return InputFileError(problem, path=path, line=line)


def _csv_rows(
    stream: io.TextIOWrapper, reader: Any, layout: Layout, width: int, path: str
) -> Iterator[tuple[str, ...]]:
    pick, pad = _picker(layout, width)
    try:
        for row in reader:
            if len(row) == width:
                yield pick([*row, ""]) if pad else pick(row)
            elif row:  # a blank line is no row
                raise InputFileError(
                    f"{len(row)} fields where the header has {width}",
                    path=path,
                    line=reader.line_num,
                )
    except (csv.Error, InputFileError, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
        raise _broken(path, reader.line_num + 1, exc) from None
    finally:
        stream.close()


def _iter_parquet(path: str) -> ExportRows:
    try:  # optional dependency: pip install 'azcost[parquet]'
        import pyarrow.parquet as pq
    except ImportError:
        raise InputFileError(
            "reading Parquet needs pyarrow: pip install 'azcost[parquet]'", path=path
        ) from None
    open_binary(path, decompress=False).close()  # a regular file, readable
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for a bad file
        raise InputFileError(f"not a readable Parquet file: {exc}", path=path) from None
    header = list(pf.schema_arrow.names)
    layout = detect_layout(header, path)
    line = [1]
    return ExportRows(layout, _parquet_rows(pf, layout, header, path, line), lambda: line[0])


def _parquet_rows(
    pf: Any, layout: Layout, header: list[str], path: str, line: list[int]
) -> Iterator[tuple[str, ...]]:
    used = sorted({i for i in (*layout.positions, *layout.service) if i >= 0})
    slot = {col: k for k, col in enumerate(used)}
    sub = Layout(
        layout.name,
        layout.columns,
        tuple(slot.get(i, -1) for i in layout.positions),
        tuple(slot[i] for i in layout.service),
    )
    pick, pad = _picker(sub, len(used))
    names = [header[i] for i in used]
    try:
        for batch in pf.iter_batches(batch_size=_BATCH_ROWS, columns=names):
            columns = [[_text(v) for v in batch.column(k).to_pylist()] for k in range(len(names))]
            if pad:
                columns.append([""] * batch.num_rows)
            for values in zip(*columns, strict=True):
                line[0] += 1
                yield pick(values)
    except InputFileError:
        raise
    except Exception as exc:  # a damaged row group
        raise InputFileError(
            f"cannot read Parquet row group: {exc}", path=path, line=line[0]
        ) from None


def _text(value: Any) -> str:
    """A Parquet value as the text a CSV export would hold (numbers exact, dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text
    return repr(value) if isinstance(value, float) else str(value)
