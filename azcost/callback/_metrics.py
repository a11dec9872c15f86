"""Live spend metrics: each call the handler counts, as OpenTelemetry measurements.

:class:`SpendMetrics` records, per counted call, on a meter named ``azcost``:

- ``gen_ai.client.token.usage`` (histogram, ``{token}``), the GenAI semantic
  convention's: one ``input`` and one ``output`` measurement per call with known usage
  (embeddings: ``input`` only). ``input`` counts every input token, cached and audio
  included; ``output`` every output token, reasoning and audio included: the
  convention's two token types, summing to the handler's ``prompt_tokens`` and
  ``completion_tokens``. The kinds billed at their own rate are in the cost.
- ``azcost.requests`` (counter, ``{request}``): every call, priced or not, with
  ``azcost.priced`` and, for an unpriced call, the category of its reason.
- ``azcost.cost`` (counter): the exact cost of each priced call, as an integer number
  of a sub-unit of the table's currency (``pUSD`` = 10^-12 USD): the coarsest SI-prefixed
  unit in which every rate of the loaded table prices one token to a whole number, so
  every call's cost, and every sum of them, is a whole number of it. Nothing is
  rounded; an unpriced call adds nothing here.

Attributes are bounded: the GenAI ones, the deployment, deployment type, service tier,
priced/unpriced, and only the metadata keys the user lists. OpenTelemetry is imported
when metrics are first asked for; a failing meter or exporter is said once and never
breaks the call.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from .._version import __version__
from ..errors import InvalidUsageError, MetricsWarning, NoPriceError, UnknownModelError
from ..pricing._cost import EXACT, Rates
from ..pricing._kinds import KINDS
from ..pricing._table import Cost, PricingTable
from ._identity import Client, Identity
from ._usage import Usage

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter, MeterProvider

MetricsSource: TypeAlias = "bool | MeterProvider | Meter | None"
"""What ``metrics=`` takes: True (the global MeterProvider), a MeterProvider or a Meter."""

__all__ = [
    "CHAT",
    "EMBEDDINGS",
    "TEXT_COMPLETION",
    "MetricsSource",
    "SpendMetrics",
    "cost_sub_unit",
]

logger = logging.getLogger("azcost")

CHAT = "chat"
"""``gen_ai.operation.name`` of a chat model's call."""
TEXT_COMPLETION = "text_completion"
"""``gen_ai.operation.name`` of a completion LLM's call."""
EMBEDDINGS = "embeddings"
"""``gen_ai.operation.name`` of an embeddings request."""
PROVIDER = "azure.ai.openai"  # the convention's gen_ai.provider.name for Azure OpenAI

# the convention's bucket boundaries for gen_ai.client.token.usage
_TOKEN_BUCKETS = tuple(4**i for i in range(14))
# SI prefixes by the number of decimal places of a sub-unit ("u" for micro, as UCUM)
_PREFIXES = {0: "", 3: "m", 6: "u", 9: "n", 12: "p", 15: "f", 18: "a", 21: "z", 24: "y"}
_PER_TOKEN_PLACES = 6  # rates are per 1M tokens
_CACHE_MAX = 4096
_RESERVED = ("gen_ai.", "azcost.")
_PLAIN = (str, bool, int, float)
_scaleb = EXACT.scaleb
_INPUT = next(i for i, k in enumerate(KINDS) if k.name == "input")
_OUTPUT = next(i for i, k in enumerate(KINDS) if k.name == "output")
INTERNAL_ERROR = "internal_error"
"""Reason category of a call the handler failed to read (counted, never priced)."""

_sub_units: weakref.WeakKeyDictionary[PricingTable, tuple[int, str]] = weakref.WeakKeyDictionary()


def cost_sub_unit(table: PricingTable) -> tuple[int, str]:
    """(decimal places, unit) of the sub-unit ``azcost.cost`` counts in for ``table``.

    The places are those of the finest per-token rate of any period (service tiers
    included) of any model, rounded up to a multiple of 3 for an SI prefix:
    ``(12, "pUSD")`` for rates per 1M tokens with up to 6 decimals.
    """
    found = _sub_units.get(table)
    if found is not None:
        return found
    finest = 0
    for info in table.models.values():
        for series in info.prices:
            for period in series.periods:
                for rates in (period.rates, *(tier for _, tier in period.tiers)):
                    for rate in rates:
                        if rate:
                            exponent = rate.normalize().as_tuple().exponent
                            finest = max(finest, _PER_TOKEN_PLACES - int(exponent))
    places = -(-finest // 3) * 3
    if places not in _PREFIXES:
        raise ValueError(
            f"pricing table {table.version}: a rate with {finest - _PER_TOKEN_PLACES} "
            "decimals per 1M tokens is finer than the yocto sub-unit azcost.cost can count in"
        )
    found = (places, f"{_PREFIXES[places]}{table.currency}")
    _sub_units[table] = found
    return found


def _operation(operation: str, kind: Any) -> str:
    """``text_completion`` for a completion LLM's call (LangChain's ``ls_model_type``)."""
    return TEXT_COMPLETION if kind == "llm" and operation == CHAT else operation


def _reason(error: Exception, usage: Usage) -> str:
    """The category of an unpriced call's reason: a short, bounded attribute value."""
    if isinstance(error, UnknownModelError):
        return "unknown_model"
    if isinstance(error, NoPriceError):
        return "no_price"
    if isinstance(error, InvalidUsageError):
        return "invalid_usage" if usage.known else "no_usage"
    return "other"


def _meter_of(source: Any) -> Callable[[], Meter]:
    """How to get the ``azcost`` meter of a source given as ``metrics=`` (checked now)."""
    try:  # imported here: `import azcost` never pays for OpenTelemetry
        from opentelemetry import metrics
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("metrics need opentelemetry-api: pip install 'azcost[otel]'") from exc
    if source is True:
        return lambda: metrics.get_meter("azcost", __version__)
    if isinstance(source, metrics.MeterProvider):
        return lambda: source.get_meter("azcost", __version__)
    if isinstance(source, metrics.Meter):
        return lambda: source
    raise TypeError(f"metrics must be True, a MeterProvider or a Meter, not {source!r}")


_GLOBAL = "the global MeterProvider"


class SpendMetrics:
    """The instruments of one handler and the attribute sets of the calls it has seen."""

    def __init__(
        self, source: MetricsSource, table: PricingTable, attributes: Sequence[str] = ()
    ) -> None:
        if isinstance(attributes, str):
            raise TypeError("metrics_attributes must be a list of metadata keys, not a str")
        for key in attributes:
            if not isinstance(key, str) or not key or key.startswith(_RESERVED):
                raise ValueError(
                    f"metrics_attributes: {key!r} is not a metadata key (names starting "
                    "with gen_ai. or azcost. are azcost's own attributes)"
                )
        self.places, self.cost_unit = cost_sub_unit(table)
        self.target: object = _GLOBAL if source is True else source
        """Where the values go: handlers with the same target record a call once."""
        self.keys = tuple(dict.fromkeys(attributes))
        """The metadata keys recorded as attributes, in the order given."""
        meter_of = _meter_of(source)
        self._warned = False
        try:
            self._create(meter_of(), table.currency)
        except Exception as exc:  # the provider failed: said once, and the calls go on
            self._fail(exc)
            from opentelemetry.metrics import NoOpMeter

            self._create(NoOpMeter("azcost"), table.currency)
        self._sets: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._rates: dict[Rates, tuple[int, ...]] = {}

    def _create(self, meter: Meter, currency: str) -> None:
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.requests = meter.create_counter(
            "azcost.requests", unit="{request}", description="Calls counted, priced or not."
        )
        self.cost = meter.create_counter(
            "azcost.cost",
            unit=self.cost_unit,
            description=f"Exact cost of priced calls, in 10^-{self.places} {currency}.",
        )
        # bound once: record() runs for every call
        self._count_tokens = self.tokens.record
        self._count_request = self.requests.add
        self._add_cost = self.cost.add

    def record(
        self,
        operation: str,
        usage: Usage,
        ident: Identity,
        client: Client,
        cost: Cost | None,
        error: Exception | None,
        assumed: bool,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        """Record one counted call; an error of the meter or exporter is said once."""
        try:
            reason = None if error is None else _reason(error, usage)
            # LangChain's run metadata says "llm" for a completion LLM's call
            kind = metadata.get("ls_model_type") if metadata else None
            # the handler caches one Identity per (client, reported name): with the tier
            # and the outcome it fixes every attribute but the metadata's
            key: tuple[Any, ...] = (operation, kind, ident, usage.service_tier, reason)
            if self.keys:
                key = (*key, *self._values(metadata))
            sets = self._sets.get(key)
            if sets is None:
                sets = self._attributes(key, client, usage.reported_model, cost, assumed)
                if len(self._sets) < _CACHE_MAX:
                    self._sets[key] = sets
            tokens_in, tokens_out, call, priced_at, rate_in, rate_out = sets
            if usage.known:
                self._count_tokens(usage.input_tokens, tokens_in)
                if tokens_out is not None:
                    self._count_tokens(usage.output_tokens, tokens_out)
            self._count_request(1, call)
            if cost is not None:
                if cost.rates is priced_at and not cost.details:  # the usual call
                    units = cost.input_tokens * rate_in + cost.output_tokens * rate_out
                else:
                    units = self._units(cost)
                self._add_cost(units, call)
        except Exception as exc:
            self._fail(exc)

    def _units(self, cost: Cost) -> int:
        """The exact cost in sub-units: billed tokens of each kind times its integer rate."""
        rates = self._rates.get(cost.rates) or self._rates_of(cost.rates)
        return sum(n * r for n, r in zip(cost.billed_tokens(), rates, strict=True) if n)

    def _rates_of(self, rates: Rates) -> tuple[int, ...]:
        """Each per-token rate in sub-units (0 where not sold: no token is billed there)."""
        out = []
        for rate in rates.per_token:
            units = _scaleb(rate or 0, self.places)
            whole = int(units)
            if whole != units:  # cannot happen with the table's own rates: never rounded
                raise ValueError(
                    f"{rates.model}: a per-token rate of {rate} is not a whole number of "
                    f"{self.cost_unit}; its cost is not recorded rather than rounded"
                )
            out.append(whole)
        found = tuple(out)
        if len(self._rates) < _CACHE_MAX:
            self._rates[rates] = found
        return found

    def record_unread(self, metadata: Mapping[str, Any] | None) -> None:
        """Count a call the handler could not read (listed unpriced with an internal error)."""
        try:
            kind = metadata.get("ls_model_type") if metadata else None
            call: dict[str, Any] = {
                "gen_ai.operation.name": _operation(CHAT, kind),
                "gen_ai.provider.name": PROVIDER,
                "azcost.priced": False,
                "azcost.unpriced_reason": INTERNAL_ERROR,
            }
            self._count_request(1, call)
        except Exception as exc:
            self._fail(exc)

    def _values(self, metadata: Mapping[str, Any] | None) -> tuple[Any, ...]:
        """The listed metadata keys' values as attribute values (None where absent)."""
        if not metadata:
            return (None,) * len(self.keys)
        out = []
        for k in self.keys:
            v = metadata.get(k)
            out.append(v if v is None or isinstance(v, _PLAIN) else str(v))
        return tuple(out)

    def _attributes(
        self,
        key: tuple[Any, ...],
        client: Client,
        reported: str | None,
        cost: Cost | None,
        assumed: bool,
    ) -> tuple[Any, ...]:
        """What a call's measurements need: the attribute sets of its input tokens, output
        tokens (None: not recorded) and the call, and its integer input and output rates."""
        operation, kind, ident, tier, reason = key[:5]
        operation = _operation(operation, kind)
        genai: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": PROVIDER,
        }
        requested = client.deployment or client.model or client.ls_model or reported
        if requested:
            genai["gen_ai.request.model"] = requested
        if ident.model or reported:
            genai["gen_ai.response.model"] = ident.model or reported
        for k, v in zip(self.keys, key[5:], strict=True):
            if v is not None:
                genai[k] = v
        call = dict(genai)
        if ident.deployment:
            call["azcost.deployment"] = ident.deployment
        dtype = cost.rates.deployment_type if cost is not None else ident.deployment_type
        if dtype is not None:
            call["azcost.deployment_type"] = dtype.value
        if tier:
            call["azcost.service_tier"] = tier
        call["azcost.priced"] = reason is None
        if reason is None:
            call["azcost.version_assumed"] = assumed
        else:
            call["azcost.unpriced_reason"] = reason
        tokens_in = {**genai, "gen_ai.token.type": "input"}
        tokens_out = None if operation == EMBEDDINGS else {**genai, "gen_ai.token.type": "output"}
        if cost is None:
            return tokens_in, tokens_out, call, None, 0, 0
        rates = self._rates.get(cost.rates) or self._rates_of(cost.rates)
        return tokens_in, tokens_out, call, cost.rates, rates[_INPUT], rates[_OUTPUT]

    def _fail(self, exc: Exception) -> None:
        if self._warned:
            logger.debug("azcost: metrics not recorded: %r", exc)
            return
        self._warned = True
        logger.warning("azcost: metrics not recorded: %r", exc, exc_info=True)
        warnings.warn(
            f"azcost: spend metrics not recorded: {exc!r} (said once per handler; "
            "the call itself was counted)",
            MetricsWarning,
            stacklevel=4,
        )
