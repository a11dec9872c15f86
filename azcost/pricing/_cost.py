"""Exact cost of one call: per-token rates, token checks and the per-kind breakdown.

Arithmetic runs in :data:`EXACT`, a decimal context whose precision and exponent range
are the largest the decimal module allows, with rounding trapped: a product of a token
count and a rate, and a sum of such products, is never rounded, whatever the size of
the numbers and whatever decimal context the caller has set.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import InvalidUsageError, NoPriceError
from ._deployment_types import DeploymentType
from ._kinds import KIND_OF_TOKEN_FIELD, KINDS, TOKEN_FIELDS, TokenKind
from ._money import money_str
from ._records import Period
from ._resolve import Resolution
from ._tiers import STANDARD

__all__ = ["EXACT", "NO_DETAILS", "Cost", "Rates", "priced_total"]

EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Rounded, decimal.Overflow],
)
"""Exact decimal arithmetic: a result that would need rounding raises instead."""

_mul = EXACT.multiply
_fma = EXACT.fma
_PER_TOKEN = -6  # rates are per 1M tokens: scaleb(-6) is exact
_ZERO = Decimal(0)
_INPUT = next(i for i, k in enumerate(KINDS) if k.name == "input")
_OUTPUT = next(i for i, k in enumerate(KINDS) if k.name == "output")
_KIND_INDEX = {k.name: i for i, k in enumerate(KINDS)}
_INDEX_OF_FIELD = {k.token_field: i for i, k in enumerate(KINDS)}
_ON_INPUT = tuple(k.side == "input" for k in KINDS)
_PART_INDEX = {k.token_field: i for i, k in enumerate(KINDS) if not k.is_total}

NO_DETAILS: Mapping[str, int] = MappingProxyType({})
"""The token details of a call with only input and output tokens."""


class Rates:
    """The rates of one price period, per token, with where they came from."""

    __slots__ = (
        "_tiers",
        "deployment_type",
        "input",
        "model",
        "output",
        "per_token",
        "period",
        "region",
        "service_tier",
        "source",
        "text_units",
    )

    def __init__(
        self,
        model: str,
        deployment_type: DeploymentType,
        region: str | None,
        period: Period,
        service_tier: str = STANDARD,
    ) -> None:
        self.model = model
        self.deployment_type = deployment_type
        self.region = region
        self.period = period
        self.source = period.source
        self.service_tier = service_tier
        """The tier whose rates these are: ``standard`` (the period's own) or ``priority``..."""
        per_mtok = period.rates if service_tier == STANDARD else period.tier_rates(service_tier)
        if per_mtok is None:
            raise _no_tier(model, deployment_type, region, period, service_tier)
        self.per_token: tuple[Decimal | None, ...] = tuple(
            None if r is None else EXACT.scaleb(r, _PER_TOKEN) for r in per_mtok
        )
        """Rate per token of each kind, in :data:`KINDS` order; None where not sold."""
        rate = self.per_token[_INPUT]
        assert rate is not None  # the schema requires an input rate
        self.input: Decimal = rate
        """Per-token rate of (uncached, text) input."""
        self.output: Decimal | None = self.per_token[_OUTPUT]
        """Per-token rate of (text) output; None for embeddings."""
        self.text_units = None if self.output is None else _units(self.input, self.output)
        """``(input, output, unit)``: the text rates as whole multiples of one power of ten,
        so a call of text tokens only costs ``unit * (input * tokens in + output * tokens
        out)``, exactly as summing each count times its rate; None without an output rate."""
        self._tiers: dict[str, Rates] | None = None

    def on_tier(self, tier: str) -> Rates:
        """The rates of the same period on a service tier; NoPriceError where it has none."""
        tiers = self._tiers
        if tiers is None:
            tiers = self._tiers = {}
        found = tiers.get(tier)
        if found is None:
            found = tiers[tier] = Rates(
                self.model, self.deployment_type, self.region, self.period, tier
            )
        return found

    def of(self, kind: str) -> Decimal | None:
        """The per-token rate of one kind (``"audio_input"``), or None where not sold."""
        return self.per_token[_KIND_INDEX[kind]]

    if TYPE_CHECKING:  # at run time, one property per kind (below): no __getattr__ hook

        def __getattr__(self, name: str) -> Decimal | None:
            """A per-token rate by kind name: ``rates.cached_input``."""

    def __repr__(self) -> str:
        where = self.deployment_type.value + (f"@{self.region}" if self.region else "")
        tier = "" if self.service_tier == STANDARD else f" {self.service_tier}"
        return f"<Rates {self.model} {where}{tier} from {self.period.effective_from}>"


def _no_tier(
    model: str, dtype: DeploymentType, region: str | None, period: Period, tier: str
) -> NoPriceError:
    where = dtype.value + (f" in {region}" if region else "")
    sold = ", ".join([STANDARD, *(name for name, _ in period.tiers)])
    return NoPriceError(
        model,
        f"no {tier!r} service-tier price in the {where} period from {period.effective_from} "
        f"(tiers priced: {sold}); a call on one tier is never priced at another's rates",
    )


def _units(input_rate: Decimal, output_rate: Decimal) -> tuple[int, int, Decimal]:
    """Two rates as whole multiples of the power of ten of the finer one's last digit."""
    exponent = min(_exponent(input_rate), _exponent(output_rate))
    return (
        int(EXACT.scaleb(input_rate, -exponent)),
        int(EXACT.scaleb(output_rate, -exponent)),
        EXACT.scaleb(Decimal(1), exponent),
    )


def _exponent(rate: Decimal) -> int:
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int)  # rates are finite
    return exponent


def _billed(input_tokens: int, output_tokens: int, details: Mapping[str, int]) -> list[int]:
    """Tokens billed per kind, in :data:`KINDS` order: the totals less their parts."""
    counts = [0] * len(KINDS)
    counts[_INPUT] = input_tokens
    counts[_OUTPUT] = output_tokens
    for name, n in details.items():
        if n:
            i = _INDEX_OF_FIELD[name]
            counts[i] = n
            counts[_INPUT if _ON_INPUT[i] else _OUTPUT] -= n
    return counts


def _unsold(rates: Rates, kind: TokenKind, n: int) -> NoPriceError:
    where = rates.deployment_type.value + (f" in {rates.region}" if rates.region else "")
    if rates.service_tier != STANDARD:
        where += f" {rates.service_tier}-tier"
    return NoPriceError(
        rates.model,
        f"{n} {kind.label} tokens, but the {where} price from "
        f"{rates.period.effective_from} has no {kind.rate_field}",
    )


def _check_total(name: str, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise InvalidUsageError(f"{name} must be a non-negative int, got {value!r}")


def _exceeded(side: str, total: int, details: Mapping[str, int]) -> InvalidUsageError:
    listed = " + ".join(
        f"{f} ({n})" for f, n in details.items() if KIND_OF_TOKEN_FIELD[f].side == side
    )
    return InvalidUsageError(
        f"{listed} exceed {side}_tokens ({total}); {side}_tokens counts every "
        f"{side} token, these parts included"
    )


def priced_total(
    rates: Rates, input_tokens: int, output_tokens: int, reasoning: int, details: Any
) -> Decimal:
    """Check the counts and price them exactly, each kind at its own rate.

    Counts that are not non-negative ints, an unknown kind or parts exceeding their total
    raise InvalidUsageError; a kind with tokens but no rate in force raises NoPriceError.
    """
    _check_total("input_tokens", input_tokens)
    _check_total("output_tokens", output_tokens)
    _check_total("reasoning_tokens", reasoning)
    total = _ZERO
    per_token = rates.per_token
    rest = [output_tokens, input_tokens]  # what the parts leave of each total
    unsold: NoPriceError | None = None
    for name, n in details.items():
        i = _PART_INDEX.get(name)
        if i is None:
            known = ", ".join(KIND_OF_TOKEN_FIELD)
            raise InvalidUsageError(f"unknown token kind {name!r}; known: {known}")
        _check_total(name, n)
        if n:
            rest[_ON_INPUT[i]] -= n
            rate = per_token[i]
            if rate is None:
                unsold = unsold or _unsold(rates, KINDS[i], n)
            else:
                total = _fma(n, rate, total)
    if rest[1] < 0:
        raise _exceeded("input", input_tokens, details)
    if rest[0] < 0:
        raise _exceeded("output", output_tokens, details)
    if reasoning > output_tokens:
        raise InvalidUsageError(
            f"reasoning_tokens ({reasoning}) exceed output_tokens ({output_tokens}); "
            "output_tokens includes them"
        )
    if unsold is not None:
        raise unsold
    if rest[1]:
        total = _fma(rest[1], rates.input, total)
    if rest[0]:
        if rates.output is None:
            raise _unsold(rates, KINDS[_OUTPUT], rest[0])
        total = _fma(rest[0], rates.output, total)
    return total


class Cost:
    """The exact cost of one call: total, amount per token kind, and the rates used."""

    __slots__ = (
        "currency",
        "details",
        "input_tokens",
        "model",
        "output_tokens",
        "rates",
        "reasoning_tokens",
        "resolution",
        "table_version",
        "total",
    )

    total: Decimal
    """Exact total cost."""
    model: str
    """Canonical versioned model name that was priced (its rates' model)."""
    rates: Rates
    """The rates used, with their period and source."""
    resolution: Resolution
    """How the model name was resolved."""
    table_version: str
    """Version of the pricing table."""
    currency: str
    """Currency of the amounts."""
    input_tokens: int
    """Input tokens, every kind included (cached, audio, image)."""
    output_tokens: int
    """Output tokens, every kind included (reasoning, audio, image)."""
    reasoning_tokens: int
    """Reasoning tokens (part of the text output, billed as output)."""
    details: Mapping[str, int]
    """Token counts of the parts (``cached_input_tokens``...) as given; absent means 0."""

    @property
    def deployment_type(self) -> DeploymentType:
        """Deployment type whose rates were used."""
        return self.rates.deployment_type

    @property
    def region(self) -> str | None:
        """Region of the region-specific series used, or None."""
        return self.rates.region

    @property
    def period(self) -> Period:
        """The price period in force."""
        return self.rates.period

    @property
    def service_tier(self) -> str:
        """The service tier whose rates were used: ``standard``, ``priority``..."""
        return self.rates.service_tier

    def billed_tokens(self) -> list[int]:
        """Tokens billed per kind, in :data:`KINDS` order (plain text = total less parts)."""
        return _billed(self.input_tokens, self.output_tokens, self.details)

    def amounts(self) -> tuple[Decimal, ...]:
        """The cost of each kind, in :data:`KINDS` order; their sum is ``total``."""
        return tuple(
            _ZERO if not n or rate is None else _mul(n, rate)
            for n, rate in zip(self.billed_tokens(), self.rates.per_token, strict=True)
        )

    def amount(self, kind: str) -> Decimal:
        """The cost of one kind (``"cached_input"``)."""
        return self.amounts()[_KIND_INDEX[kind]]

    def token_counts(self) -> dict[str, int]:
        """Every token field of a ledger record (``input_tokens``...), as reported."""
        out = dict.fromkeys(TOKEN_FIELDS, 0)
        out["input_tokens"] = self.input_tokens
        out["output_tokens"] = self.output_tokens
        out["reasoning_tokens"] = self.reasoning_tokens
        out.update(self.details)
        return out

    if TYPE_CHECKING:  # at run time, one property per field (below): no __getattr__ hook

        def __getattr__(self, name: str) -> Any:
            """A part's tokens or a kind's cost by field: ``cached_input_tokens``..."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: decimals as strings."""
        period = self.rates.period
        out: dict[str, Any] = {
            "model": self.model,
            "requested": self.resolution.requested,
            "model_version": self.resolution.model_version,
            "match": self.resolution.match.value,
            "assumed_version": self.resolution.assumed,
            "deployment_type": self.deployment_type.value,
            "region": self.region,
            "service_tier": self.service_tier,
            "effective_from": period.effective_from.isoformat(),
            "source": period.source.id,
            "source_url": self.rates.source.url,
            "table_version": self.table_version,
            "currency": self.currency,
        }
        out.update(self.token_counts())
        for kind, amount in zip(KINDS, self.amounts(), strict=True):
            out[kind.cost_field] = money_str(amount)
        out["total_cost"] = money_str(self.total)
        return out

    def __repr__(self) -> str:
        return (
            f"<Cost {self.total} {self.currency} {self.model} {self.deployment_type.value} "
            f"{self.service_tier} in={self.input_tokens} out={self.output_tokens}>"
        )


# Attributes by kind, one property each, rather than a __getattr__ hook that would slow
# every other attribute read of these objects on the per-call path.
def _rate_of(index: int, kind: TokenKind) -> property:
    return property(lambda self: self.per_token[index], doc=f"Per-token rate of {kind.label}.")


def _part_of(field: str, kind: TokenKind) -> property:
    return property(lambda self: self.details.get(field, 0), doc=f"{kind.label} tokens.")


def _amount_of(index: int, kind: TokenKind) -> property:
    return property(lambda self: self.amounts()[index], doc=f"Cost of {kind.label} tokens.")


for _index, _kind in enumerate(KINDS):
    if not hasattr(Rates, _kind.name):  # input and output are slots
        setattr(Rates, _kind.name, _rate_of(_index, _kind))
    if not hasattr(Cost, _kind.token_field):  # input_tokens and output_tokens are slots
        setattr(Cost, _kind.token_field, _part_of(_kind.token_field, _kind))
    setattr(Cost, _kind.cost_field, _amount_of(_index, _kind))
