"""What Azure billed for Azure OpenAI tokens, per UTC day, model version, deployment type, kind.

Rows of cost exports (:mod:`azcost.azure._costexport`) are kept when they are Azure
OpenAI token meters that the retail import's own parser reads
(:func:`~azcost.azure._meters.parse_meter`, then
:func:`~azcost.azure._versions.resolve_meter` against the pricing table's models);
quantity x unit of measure gives tokens. Every other row is counted by reason with
its cost (other services, fine-tuning, provisioned throughput, tool calls, meters the
parser cannot read, rows outside the period or of another resource), and a row that
cannot be read (a bad number, date or unit of measure) is listed with its file and
line: nothing is dropped silently. All money is ``Decimal`` from the file's text on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .._parse import MAX_EXPONENT as _EXPONENT
from .._parse import MAX_NUMBER_CHARS as _LONGEST
from ..errors import CurrencyMismatchError
from ..pricing._cost import EXACT
from ._costexport import iter_export
from ._meters import MeterSkipped, parse_meter
from ._versions import resolve_meter

__all__ = [
    "BilledUsage",
    "CurrencyMismatchError",
    "Excluded",
    "Unreadable",
    "account_of",
    "read_billed",
    "unit_tokens",
]

BilledKey = tuple[str, str, str, str]
"""(UTC day, model version, deployment type, token kind)."""

MAX_LISTED = 1000
"""Unreadable rows listed one by one; beyond that they are only counted."""

OTHER_SERVICES = "other services (not Azure OpenAI)"
OUTSIDE_PERIOD = "outside --since/--until"
OTHER_RESOURCE = "another Azure resource than --resource"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row that could not be read: where, and why."""

    file: str
    """The export file."""
    line: int
    """Its line in the file (1 is the header)."""
    problem: str
    """What is wrong with it."""


@dataclass(slots=True)
class Excluded:
    """Rows left out of the comparison for one reason."""

    reason: str
    """Why they are not Azure OpenAI token usage (or not in scope)."""
    rows: int = 0
    """How many rows."""
    cost: Decimal = Decimal(0)
    """Their cost, exact."""
    example: str = ""
    """One meter name among them."""


@dataclass
class BilledUsage:
    """The token usage an export billed, and what was left out of it and why."""

    currency: str | None = None
    """The billing currency (None when no row was read)."""
    groups: dict[BilledKey, list[Decimal]] = field(default_factory=dict)
    """(day, model, deployment type, kind) -> [tokens, cost]."""
    excluded: dict[str, Excluded] = field(default_factory=dict)
    """Reason -> rows left out for it."""
    unreadable: list[Unreadable] = field(default_factory=list)
    """Rows that could not be read (the first :data:`MAX_LISTED`)."""
    unreadable_rows: int = 0
    """How many rows could not be read."""
    files: list[tuple[str, str, int]] = field(default_factory=list)
    """(path, layout, rows) of each file read."""

    def exclude(self, reason: str, cost: Decimal, meter: str) -> None:
        """Count one row left out for ``reason``."""
        found = self.excluded.get(reason)
        if found is None:
            found = self.excluded[reason] = Excluded(reason, example=meter)
        found.rows += 1
        found.cost = EXACT.add(found.cost, cost)

    def unread(self, file: str, line: int, problem: str) -> None:
        """List one row that could not be read."""
        self.unreadable_rows += 1
        if len(self.unreadable) < MAX_LISTED:
            self.unreadable.append(Unreadable(file, line, problem))


_UNIT = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)?\s*([km])?\s*(?:tokens?|units?)?\s*")
_SCALE = {None: 1, "k": 1000, "m": 1_000_000}


def unit_tokens(unit: str) -> Decimal | None:
    """Tokens per unit of measure (``1K`` -> 1000, ``1M Tokens`` -> 1000000); None if not tokens."""
    m = _UNIT.fullmatch(unit)
    if m is None or not unit.strip() or (m.group(1) is None and m.group(2) is not None):
        return None
    count = Decimal(m.group(1) or 1)
    return EXACT.multiply(count, _SCALE[(m.group(2) or "").lower() or None])


def account_of(resource_id: str) -> str:
    """The account name in ``.../Microsoft.CognitiveServices/accounts/<name>[/...]``, lower case."""
    text = resource_id.strip().lower()
    parts = text.split("/")
    if "accounts" in parts:
        i = parts.index("accounts")
        if i + 1 < len(parts):
            return parts[i + 1]
    return parts[-1] if parts else ""


def _parse_day(text: str) -> str | None:
    """A UTC day (ISO) from ``MM/DD/YYYY``, ``YYYY-MM-DD`` or an ISO date-time; None if neither."""
    t = text.strip()
    try:
        if "/" in t:
            month, day, year = t.split(" ")[0].split("/")
            return dt.date(int(year), int(month), int(day)).isoformat()
        day_part = dt.date.fromisoformat(t[:10]).isoformat()
        rest = t[10:]
        if not rest or rest[0] not in "T ":
            return day_part if not rest else None
        tail = rest[1:]
        if tail.endswith(("Z", "+00:00")) or not re.search(r"[+-]\d\d:?\d\d$", tail):
            dt.time.fromisoformat(tail.rstrip("Z").removesuffix("+00:00"))
            return day_part
        when = dt.datetime.fromisoformat(t)
        return when.astimezone(dt.timezone.utc).date().isoformat()
    except ValueError:
        return None


class _Reader:
    """Classifies rows, with a cache per distinct meter, unit, date and resource text."""

    def __init__(
        self,
        models: Mapping[str, Any],
        *,
        currency: str,
        since: dt.date | None,
        until: dt.date | None,
        resource: str | None,
    ) -> None:
        self.models = models
        self.currency = currency
        self.since = since.isoformat() if since else None
        self.until = until.isoformat() if until else None
        self.resource = resource.strip().lower() if resource else None
        self.meters: dict[str, tuple[str, str, str] | str] = {}
        self.units: dict[str, Decimal | None] = {}
        self.days: dict[str, str | None] = {}
        self.services: dict[tuple[str, ...], bool] = {}
        self.accounts: dict[str, str] = {}

    def meter(self, name: str) -> tuple[str, str, str] | str:
        """(model, deployment type, kind), or the reason the meter is left out."""
        found = self.meters.get(name)
        if found is None:
            try:
                meter = parse_meter(name)
                target = resolve_meter(meter, self.models)
            except MeterSkipped as exc:
                found = f"meter not priced per token: {exc.reason}"
            else:
                found = (target.model, meter.deployment_type.value, meter.kind)
            self.meters[name] = found
        return found

    def is_openai(self, fields: tuple[str, ...]) -> bool:
        """Whether a row's service columns (else its resource provider) name Azure OpenAI."""
        key = fields[7:]
        if key:
            found = any("openai" in v.lower() for v in key)
            self.services[key] = found
        else:  # no service column: the resource's provider decides (not cached by service)
            found = "microsoft.cognitiveservices" in fields[6].lower()
        return found

    def day(self, text: str) -> str | None:
        """The UTC day of a row's date text (cached), or None when it is not a date."""
        found = self.days.get(text, "")
        if found == "":
            found = self.days[text] = _parse_day(text)
        return found

    def read(self, usage: BilledUsage, path: str) -> None:
        """Add the rows of one export to ``usage``."""
        rows, n = iter_export(path), 0
        groups, currency = usage.groups, self.currency
        since, until, resource = self.since, self.until, self.resource
        meters, units, accounts = self.meters, self.units, self.accounts
        days, services = self.days, self.services
        for n, f in enumerate(rows, 1):  # noqa: B007 - n, the rows read, is used after the loop
            try:
                cost = Decimal(f[4])
            except InvalidOperation:
                cost = Decimal("NaN")
            if not cost.is_finite() or len(f[4]) > _LONGEST or abs(cost.adjusted()) > _EXPONENT:
                usage.unread(path, rows.line, f"cost {f[4]!r} is not a number")
                continue
            if f[5] != currency:
                self._currency(f[5], path, rows.line)
            if (day := days.get(f[0], "")) == "":
                day = self.day(f[0])
            if day is None:
                usage.unread(path, rows.line, f"date {f[0]!r} is neither MM/DD/YYYY nor ISO 8601")
                continue
            if (since and day < since) or (until and day > until):
                usage.exclude(OUTSIDE_PERIOD, cost, f[1])
                continue
            if resource is not None:
                if (account := accounts.get(f[6])) is None:
                    account = accounts[f[6]] = account_of(f[6])
                if account != resource:
                    usage.exclude(OTHER_RESOURCE, cost, f[1])
                    continue
            if (openai := services.get(f[7:])) is None:
                openai = self.is_openai(f)
            if not openai:
                usage.exclude(OTHER_SERVICES, cost, f[1])
                continue
            kept = meters.get(f[1]) or self.meter(f[1])
            if isinstance(kept, str):  # the reason it is not a token meter
                usage.exclude(kept, cost, f[1])
                continue
            if (per := units.get(f[3], 0)) == 0:
                per = units[f[3]] = unit_tokens(f[3])
            if per is None:
                usage.unread(path, rows.line, f"unit of measure {f[3]!r} is not a number of tokens")
                continue
            try:
                qty = Decimal(f[2])
            except InvalidOperation:
                qty = Decimal("NaN")
            if not qty.is_finite() or len(f[2]) > _LONGEST or abs(qty.adjusted()) > _EXPONENT:
                usage.unread(path, rows.line, f"quantity {f[2]!r} is not a number")
                continue
            if (sums := groups.get(key := (day, *kept))) is None:
                groups[key] = [EXACT.multiply(qty, per), cost]
            else:
                sums[0] = EXACT.add(sums[0], EXACT.multiply(qty, per))
                sums[1] = EXACT.add(sums[1], cost)
        usage.files.append((path, rows.layout.name, n))

    def _currency(self, cur: str, path: str, line: int) -> None:
        raise CurrencyMismatchError(
            f"{path}:{line}: billed in {cur or '(no currency)'!r}, but the ledger and pricing "
            f"table are in {self.currency}: amounts in different currencies are not compared"
        )


def read_billed(
    paths: Iterable[str | Path],
    models: Mapping[str, Any],
    *,
    currency: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    resource: str | None = None,
) -> BilledUsage:
    """Read every export; ``models`` are the pricing table's (canonical name -> model info)."""
    reader = _Reader(models, currency=currency, since=since, until=until, resource=resource)
    usage = BilledUsage(currency=currency)
    for path in paths:
        reader.read(usage, str(path))
    return usage
