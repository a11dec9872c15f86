"""What the cost handler keeps: totals per model version, unpriced calls, ledger records.

Pure data and formatting, no LangChain: :class:`Totals` adds each call, under its lock,
to the counters of its model version (or of the unpriced calls); the totals the handler
in :mod:`._handler` exposes (LangChain's ``OpenAICallbackHandler`` attributes, beside
``by_model`` and ``unpriced_requests``) are their sums, taken when read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from .._text import text_table
from ..ledger._record import COST_FIELDS, TOKEN_FIELDS, CallRecord, new_record
from ..pricing._cost import EXACT, Cost
from ..pricing._money import money_str
from ..pricing._tiers import STANDARD_NAMES
from ._identity import Identity
from ._usage import Usage

__all__ = ["ModelUsage", "Totals", "UnpricedCall", "build_record", "render_summary"]

_ZERO = Decimal(0)
_add = EXACT.add  # exact whatever the caller's decimal context; a C call, no context switch
_NO_COSTS: tuple[None, ...] = (None,) * len(COST_FIELDS)
_CACHED = "cached_input_tokens"
_AUDIO_IN = "audio_input_tokens"
_AUDIO_OUT = "audio_output_tokens"
_TOTAL_FIELDS = ("input_tokens", "output_tokens", "reasoning_tokens")
_STANDARD = STANDARD_NAMES | {None}  # a response naming no tier ran on the standard one


def _record_tokens(usage: Usage) -> tuple[int, ...]:
    """The call's tokens in the ledger's TOKEN_FIELDS order."""
    details = usage.details
    return tuple(
        getattr(usage, f) if f in _TOTAL_FIELDS else details.get(f, 0) for f in TOKEN_FIELDS
    )


@dataclass(slots=True)
class ModelUsage:
    """Requests, tokens and exact cost of one canonical model version."""

    requests: int = 0
    """Calls priced as this model."""
    prompt_tokens: int = 0
    """Input tokens, cached included."""
    prompt_tokens_cached: int = 0
    """Input tokens read from the cache."""
    completion_tokens: int = 0
    """Output tokens, reasoning included."""
    reasoning_tokens: int = 0
    """Reasoning tokens (part of completion_tokens)."""
    assumed_requests: int = 0
    """Calls priced as this version although nothing named it: the table's default assumed."""
    audio_input_tokens: int = 0
    """Audio input tokens."""
    audio_output_tokens: int = 0
    """Audio output tokens."""
    total_cost: Decimal = _ZERO
    """Exact cost."""
    service_tier: str | None = None
    """The service tier of these calls (``priority``...); None for the standard tier."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.prompt_tokens + self.completion_tokens


_COUNTS = tuple(
    f.name for f in dataclasses.fields(ModelUsage) if f.name not in ("total_cost", "service_tier")
)


@dataclass(frozen=True, slots=True)
class UnpricedCall:
    """A call that could not be priced, and why."""

    run_id: str
    """LangChain run id."""
    reason: str
    """Why it could not be priced."""
    reported_model: str | None
    """Model name the response or client reported."""
    model: str | None
    """Canonical model, when the name resolved but no price applied."""
    deployment: str | None
    """Azure deployment name, when known."""
    usage_known: bool
    """False when the call reported no token usage."""
    prompt_tokens: int
    """Input tokens reported (0 when unknown)."""
    completion_tokens: int
    """Output tokens reported (0 when unknown)."""


class Totals:
    """Requests, tokens and exact cost counted so far, in total and per model version.

    Each call is added to one :class:`ModelUsage`: its model version's in ``by_model``
    when priced, else the unpriced calls' own. The totals are their sums, taken when read.
    """

    def __init__(self, currency: str) -> None:
        self.currency = currency
        """Currency of every cost."""
        self.by_model: dict[str, ModelUsage] = {}
        """Canonical versioned model name -> its requests, tokens and cost; calls on another
        service tier than the standard one are a row of their own, ``"name (priority)"``."""
        self.unpriced_requests: list[UnpricedCall] = []
        """Calls that could not be priced, with the reason."""
        self._unpriced = ModelUsage()  # the unpriced calls: requests, and tokens when known
        self._lock = threading.Lock()

    def add(
        self, usage: Usage, cost: Cost | None, unpriced: UnpricedCall | None, assumed: bool
    ) -> None:
        """Count one call: its tokens when known, its cost or its place among the unpriced."""
        known, prompt, completion, reasoning, details = usage[:5]
        lock = self._lock
        lock.acquire()  # not `with`: half the time on this path
        try:
            if cost is None:
                per = self._unpriced
                if unpriced is not None:
                    self.unpriced_requests.append(unpriced)
            else:
                key = cost.model
                tier = usage.service_tier
                if tier not in _STANDARD:  # priced at that tier's rates: a row of its own
                    key = f"{key} ({tier})"
                found = self.by_model.get(key)
                if found is None:
                    found = self.by_model[key] = ModelUsage(
                        service_tier=None if key is cost.model else tier
                    )
                per = found
                per.total_cost = _add(per.total_cost, cost.total)
                if assumed:
                    per.assumed_requests += 1
            per.requests += 1
            if known:
                per.prompt_tokens += prompt
                per.completion_tokens += completion
                if reasoning:
                    per.reasoning_tokens += reasoning
                if details:
                    per.prompt_tokens_cached += details.get(_CACHED, 0)
                    per.audio_input_tokens += details.get(_AUDIO_IN, 0)
                    per.audio_output_tokens += details.get(_AUDIO_OUT, 0)
        finally:
            lock.release()

    def totals(self) -> ModelUsage:
        """Every call counted so far, summed: the priced ones of each model and the unpriced."""
        with self._lock:
            parts = (*self.by_model.values(), self._unpriced)
            out = ModelUsage(**{f: sum(getattr(u, f) for u in parts) for f in _COUNTS})
            out.total_cost = functools.reduce(_add, (u.total_cost for u in parts), _ZERO)
        return out

    @property
    def total_cost(self) -> Decimal:
        """Exact cost of the priced calls."""
        with self._lock:
            return functools.reduce(_add, (u.total_cost for u in self.by_model.values()), _ZERO)

    @property
    def successful_requests(self) -> int:
        """Completed calls, priced or not."""
        return self.totals().requests

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of every call with known usage."""
        return self.totals().total_tokens

    @property
    def prompt_tokens(self) -> int:
        """Input tokens, cached included."""
        return self.totals().prompt_tokens

    @property
    def prompt_tokens_cached(self) -> int:
        """Input tokens read from the cache."""
        return self.totals().prompt_tokens_cached

    @property
    def completion_tokens(self) -> int:
        """Output tokens, reasoning included."""
        return self.totals().completion_tokens

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens."""
        return self.totals().reasoning_tokens

    @property
    def assumed_requests(self) -> int:
        """Priced calls whose model version was assumed (the table's default of the model)."""
        return self.totals().assumed_requests

    def summary(self) -> str:
        """A plain-text table: requests, tokens and cost per model version, then unpriced calls."""
        with self._lock:
            by_model = {k: replace(v) for k, v in self.by_model.items()}
            unpriced = list(self.unpriced_requests)
        t = self.totals()
        totals = (
            t.requests,
            t.prompt_tokens,
            t.prompt_tokens_cached,
            t.completion_tokens,
            t.reasoning_tokens,
            t.total_cost,
        )
        return render_summary(self.currency, by_model, unpriced, totals)

    def __repr__(self) -> str:
        t = self.totals()
        lines = [
            f"Tokens Used: {t.total_tokens}",
            f"\tPrompt Tokens: {t.prompt_tokens}",
            f"\t\tPrompt Tokens Cached: {t.prompt_tokens_cached}",
            f"\tCompletion Tokens: {t.completion_tokens}",
            f"\t\tReasoning Tokens: {t.reasoning_tokens}",
            f"Successful Requests: {t.requests}",
            f"Total Cost ({self.currency}): ${money_str(t.total_cost)}",
        ]
        with self._lock:
            by_model = sorted(self.by_model.items())
            unpriced = len(self.unpriced_requests)
        for name, u in by_model:
            lines.append(f"\t{name}: {u.requests} request(s), ${money_str(u.total_cost)}")
        if unpriced:
            lines.append(f"Unpriced Requests: {unpriced}")
        return "\n".join(lines)


_PLAIN = frozenset({str, int, float, bool, type(None)})
_now = dt.datetime.now
_UTC = dt.timezone.utc


def _json_safe(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` with str keys and JSON-native values (others become ``str``)."""
    if not metadata:
        return {}
    out = dict(metadata)
    for k, v in out.items():  # the usual case: nothing to convert, the copy is the answer
        if type(v) not in _PLAIN or type(k) is not str:
            return {
                str(k): v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
                for k, v in metadata.items()
            }
    return out


def build_record(
    run_id: UUID,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    deployment: str | None,
    usage: Usage,
    ident: Identity,
    cost: Cost | None,
    error: Exception | None,
    *,
    currency: str,
    pricing_version: str,
    resource: str | None = None,
) -> CallRecord:
    """The ledger's record of one completed call, priced or not."""
    known = usage.known
    reported = usage.reported_model
    tokens = _record_tokens(usage)
    match = ident.match
    costs: tuple[Decimal | None, ...]
    if cost is not None:
        costs = (*cost.amounts(), cost.total)
        rates = cost.rates
        dtype: str | None = rates.deployment_type.value
        effective: dt.date | None = rates.period.effective_from
        reason = None
    else:
        costs = _NO_COSTS
        effective = None
        dtype = None if ident.deployment_type is None else ident.deployment_type.value
        reason = str(error)
    # every CallRecord field, in declaration order (see new_record)
    return new_record(
        str(run_id),  # run_id: the canonical 8-4-4-4-12 form LangChain users see
        _now(_UTC),  # timestamp
        deployment,
        reported,  # reported_model
        ident.model,
        ident.version,  # model_version
        dtype,  # deployment_type
        ident.region,
        resource,
        usage.service_tier,
        None if match is None else match.value,  # match
        *tokens,  # TOKEN_FIELDS
        *costs,  # COST_FIELDS, total_cost last
        currency,
        pricing_version,
        effective,  # price_effective_from
        cost is not None,  # priced
        reason,  # unpriced_reason
        known,  # usage_known
        () if not tags else tuple(tags),  # tags
        _json_safe(metadata),  # metadata
    )


def render_summary(
    currency: str,
    by_model: Mapping[str, ModelUsage],
    unpriced: Sequence[UnpricedCall],
    totals: tuple[int, int, int, int, int, Decimal],
) -> str:
    """A plain-text table: requests, tokens and cost per model version, then unpriced calls."""
    header = ("model", "requests", "input", "cached", "output", "reasoning", f"cost ({currency})")
    rows = [
        (
            name,
            str(u.requests),
            str(u.prompt_tokens),
            str(u.prompt_tokens_cached),
            str(u.completion_tokens),
            str(u.reasoning_tokens),
            money_str(u.total_cost),
        )
        for name, u in sorted(by_model.items())
    ]
    *counts, cost = totals
    total = ("total", *(str(c) for c in counts), money_str(cost))
    out = text_table(header, rows, [total])
    if unpriced:
        out.append(f"unpriced: {len(unpriced)} call(s)")
        out.extend(f"  {u.reported_model or u.deployment or '?'}: {u.reason}" for u in unpriced)
    return "\n".join(out)
