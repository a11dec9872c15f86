"""What Azure billed beside what azcost recorded, per period, model, deployment type, token kind.

The billed side comes from Cost Management exports (:mod:`azcost.azure._billed`), the
recorded side from the ledger (:mod:`azcost.ledger._metered`), both per UTC day and in
the units Azure meters; they are rolled up to the day or month asked for and compared
group by group. ``expected_cost`` prices the *billed* tokens at the pricing table's
rate of each day, so a negotiated discount or a wrong table shows as ``rate-differs``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..azure._billed import BilledUsage, CurrencyMismatchError, Excluded, Unreadable, read_billed
from ..errors import AzcostError
from ..ledger._metered import RecordedUsage, recorded_usage
from ..pricing._cost import EXACT

if TYPE_CHECKING:
    from ..ledger._writer import Ledger
    from ..pricing._cost import Rates
    from ..pricing._table import PricingTable

__all__ = ["STATUSES", "ReconcileRow", "Reconciliation", "Status", "reconcile"]

Status = Literal["match", "untracked", "unbilled", "rate-differs", "billed-only", "recorded-only"]
STATUSES: tuple[Status, ...] = (
    "match",
    "untracked",
    "unbilled",
    "rate-differs",
    "billed-only",
    "recorded-only",
)
"""Every status a group can have."""

_SHARE = Decimal("0.0001")
# Money and token sums are exact (EXACT), whatever the caller's context. The tracked share
# and the ratio of recorded to billed tokens are not money: they run in _RATIO (28 digits).
_RATIO = decimal.Context(prec=28)
_TEXT_KINDS = ("input", "cached_input", "output")


@dataclass(frozen=True, slots=True)
class ReconcileRow:
    """One group: what Azure billed and what azcost recorded for it, and how they compare."""

    period: str
    """The UTC day (``2026-11-02``) or month (``2026-11``)."""
    model: str
    """Model version (``gpt-4o-2024-08-06``)."""
    deployment_type: str
    """Deployment type (global, data-zone, regional, ...)."""
    token_kind: str
    """input (uncached), cached_input, output, audio_input, audio_output or flat."""
    currency: str
    """Currency of the amounts."""
    billed_tokens: Decimal
    """Tokens Azure billed (quantity x unit of measure)."""
    recorded_tokens: int
    """Tokens azcost recorded."""
    billed_cost: Decimal
    """What Azure charged, exact."""
    recorded_cost: Decimal
    """What azcost recorded for the priced calls, exact."""
    expected_cost: Decimal | None
    """The billed tokens at the pricing table's rate; None when the table has no rate."""
    status: Status
    """match, untracked, unbilled, rate-differs, billed-only or recorded-only."""
    unpriced_calls: int = 0
    """Calls of the group azcost recorded without a price."""


@dataclass
class Reconciliation:
    """The comparison: one row per group, the totals, and every row left out and why."""

    rows: list[ReconcileRow]
    """Groups in period, model, deployment type, kind order."""
    by: Literal["day", "month"]
    """The period of a group."""
    currency: str
    """Currency of every amount."""
    tolerance: Decimal
    """Relative difference within which tokens (and cost against the rate) match."""
    billed: BilledUsage
    """What was read from the exports: files, rows left out by reason, unreadable rows."""
    calls: int = 0
    """Ledger calls in scope."""
    calls_without_resource: int = 0
    """With ``resource``: calls of the period whose resource is not known (left out)."""
    totals: dict[str, Decimal | None] = field(default_factory=dict)
    """billed_cost, recorded_cost, expected_cost (None when some group has none)."""
    tracked_share: Decimal | None = None
    """Share of the billed token spend whose tokens azcost recorded (None when nothing billed)."""

    @property
    def excluded(self) -> list[Excluded]:
        """Export rows left out of the comparison, by reason, largest cost first."""
        return sorted(self.billed.excluded.values(), key=lambda e: (-e.cost, e.reason))

    @property
    def unreadable(self) -> list[Unreadable]:
        """Export rows that could not be read (the first 1,000)."""
        return self.billed.unreadable

    @property
    def differs(self) -> bool:
        """True when any group is not ``match`` or any export row could not be read."""
        return bool(self.billed.unreadable_rows) or any(r.status != "match" for r in self.rows)


def _rate(rates: Rates, kind: str) -> Decimal | None:
    if kind == "flat":
        return rates.input if rates.input == rates.output else None
    return rates.of(kind)


def _expected(
    table: PricingTable, billed: Mapping[tuple[str, str, str, str], list[Decimal]]
) -> dict[tuple[str, str, str, str], Decimal | None]:
    """Each billed day-group's tokens at the table's rate of that day (None: no rate)."""
    out: dict[tuple[str, str, str, str], Decimal | None] = {}
    for key, (tokens, _) in billed.items():
        day, model, dtype, kind = key
        try:
            rates = table.rates(model, deployment_type=dtype, at=dt.date.fromisoformat(day))
        except AzcostError:
            out[key] = None
            continue
        rate = _rate(rates, kind)
        out[key] = None if rate is None else EXACT.multiply(tokens, rate)
    return out


def _fold_flat(
    billed: Mapping[tuple[str, str, str, str], Any],
    recorded: dict[tuple[str, str, str, str], list[Any]],
) -> None:
    """Where Azure bills one flat meter for text, sum the recorded text kinds into it."""
    flat = {key[:3] for key in billed if key[3] == "flat"}
    for key in [k for k in recorded if k[:3] in flat and k[3] in _TEXT_KINDS]:
        tokens, cost, unpriced = recorded.pop(key)
        into = recorded.setdefault((*key[:3], "flat"), [0, Decimal(0), 0])
        into[0] += tokens
        into[1] = EXACT.add(into[1], cost)
        into[2] = max(into[2], unpriced)


def _status(
    tol: Decimal, billed: list[Any] | None, recorded: list[Any] | None, expected: Decimal | None
) -> Status:
    if billed is None:
        return "recorded-only"
    if recorded is None:
        return "billed-only"
    b, r = billed[0], Decimal(recorded[0])
    allowed = EXACT.multiply(tol, max(b, r))
    if EXACT.subtract(b, r) > allowed:
        return "untracked"
    if EXACT.subtract(r, b) > allowed:
        return "unbilled"
    if expected is not None:
        off = EXACT.subtract(billed[1], expected).copy_abs()
        if off > EXACT.multiply(tol, expected.copy_abs()):
            return "rate-differs"
    return "match"


def _roll(
    groups: Iterable[tuple[tuple[str, str, str, str], list[Any]]], by: str
) -> dict[tuple[str, str, str, str], list[Any]]:
    out: dict[tuple[str, str, str, str], list[Any]] = {}
    for (day, model, dtype, kind), values in groups:
        key = (day[:7] if by == "month" else day, model, dtype, kind)
        found = out.get(key)
        if found is None:
            out[key] = list(values)
        else:
            for i, v in enumerate(values):
                found[i] = None if v is None or found[i] is None else _plus(found[i], v)
    return out


def _plus(a: Any, b: Any) -> Any:
    """``a + b``, exact for Decimals whatever the caller's context."""
    return a + b if type(a) is int and type(b) is int else EXACT.add(a, b)


def reconcile(
    exports: Iterable[str | Path],
    ledger: str | Ledger | None = None,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: Literal["day", "month"] = "day",
    tolerance: Decimal = Decimal("0.005"),
    resource: str | None = None,
    pricing: PricingTable | None = None,
) -> Reconciliation:
    """Compare Cost Management exports with the ledger (URL, ``Ledger``, or the default one)."""
    from ..ledger._writer import Ledger  # SQLAlchemy: imported on use

    if by not in ("day", "month"):
        raise AzcostError(f"by must be 'day' or 'month', not {by!r}")
    if pricing is None:
        from ..pricing._load import load_pricing

        pricing = load_pricing()
    currency = pricing.currency
    if isinstance(ledger, Ledger):
        billed, recorded = _both(exports, ledger, pricing, since, until, resource)
    else:
        with Ledger(ledger, create=False) as opened:  # reading never creates a ledger
            billed, recorded = _both(exports, opened, pricing, since, until, resource)
    other = sorted(recorded.currencies - {currency})
    if other:
        raise CurrencyMismatchError(
            f"the ledger holds costs in {', '.join(other)}, the exports and pricing table are "
            f"in {currency}: amounts in different currencies are not compared"
        )
    kept = {k: v for k, v in recorded.groups.items() if v[0] or v[1]}
    _fold_flat(billed.groups, kept)
    expected = _expected(pricing, billed.groups)
    billed_rolled = _roll(((k, [*v, expected[k]]) for k, v in billed.groups.items()), by)
    recorded_rolled = _roll(kept.items(), by)
    rows = []
    for key in sorted(billed_rolled.keys() | recorded_rolled.keys()):
        b = billed_rolled.get(key)
        r = recorded_rolled.get(key)
        exp = None if b is None else b[2]
        rows.append(
            ReconcileRow(
                *key,
                currency=currency,
                billed_tokens=Decimal(0) if b is None else b[0],
                recorded_tokens=0 if r is None else int(r[0]),
                billed_cost=Decimal(0) if b is None else b[1],
                recorded_cost=Decimal(0) if r is None else r[1],
                expected_cost=exp,
                status=_status(tolerance, b, r, exp),
                unpriced_calls=0 if r is None else r[2],
            )
        )
    result = Reconciliation(rows, by, currency, tolerance, billed, recorded.calls)
    result.calls_without_resource = recorded.without_resource
    _totals(result)
    return result


def _both(
    exports: Iterable[str | Path],
    ledger: Ledger,
    pricing: PricingTable,
    since: dt.date | None,
    until: dt.date | None,
    resource: str | None,
) -> tuple[BilledUsage, RecordedUsage]:
    """Read the exports while the database groups the ledger's calls on another thread.

    SQLite and PostgreSQL run the grouping query without holding the GIL, so on two
    cores the ledger side costs little more than reading the exports.
    """
    engine = ledger.read_engine()
    with ThreadPoolExecutor(1, thread_name_prefix="azcost-reconcile") as pool:
        recorded = pool.submit(recorded_usage, engine, since=since, until=until, resource=resource)
        billed = read_billed(
            exports,
            pricing.models,
            currency=pricing.currency,
            since=since,
            until=until,
            resource=resource,
        )
        return billed, recorded.result()


def _sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``values``, whatever the caller's decimal context."""
    total = Decimal(0)
    for v in values:
        total = EXACT.add(total, v)
    return total


def _totals(result: Reconciliation) -> None:
    rows = result.rows
    billed = _sum(r.billed_cost for r in rows)
    expected: Decimal | None = Decimal(0)
    for r in rows:
        if r.status == "recorded-only":
            continue
        expected = (
            None
            if expected is None or r.expected_cost is None
            else _plus(expected, r.expected_cost)
        )
    result.totals = {
        "billed_cost": billed,
        "recorded_cost": _sum(r.recorded_cost for r in rows),
        "expected_cost": expected,
    }
    with decimal.localcontext(_RATIO):
        tracked = Decimal(0)
        for r in rows:
            if r.billed_tokens > 0:
                tracked += r.billed_cost * min(Decimal(1), r.recorded_tokens / r.billed_tokens)
        result.tracked_share = (tracked / billed).quantize(_SHARE) if billed else None
