"""What the cost handler keeps: totals per model version, unpriced calls, ledger records.

Pure data and formatting, no LangChain: the handler in :mod:`azcost._callback`
fills these under its lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from ._identity import Identity
from ._money import money_str
from ._pricing import Cost
from ._record import CallRecord

__all__ = ["ModelUsage", "UnpricedCall", "build_record", "render_summary"]

_ZERO = Decimal(0)


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
    audio_input_tokens: int = 0
    """Audio input tokens."""
    audio_output_tokens: int = 0
    """Audio output tokens."""
    total_cost: Decimal = _ZERO
    """Exact cost."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.prompt_tokens + self.completion_tokens


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


def _json_safe(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if not metadata:
        return {}
    return {
        str(k): v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
        for k, v in metadata.items()
    }


def build_record(
    run_id: UUID,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    deployment: str | None,
    reported: str | None,
    ident: Identity,
    cost: Cost | None,
    error: Exception | None,
    known: bool,
    tokens: tuple[int, int, int, int, int, int],
    *,
    currency: str,
    pricing_version: str,
) -> CallRecord:
    """The ledger's record of one completed call, priced or not."""
    prompt, cached, completion, reasoning, audio_in, audio_out = tokens
    common: dict[str, Any] = {
        "run_id": str(run_id),
        "timestamp": dt.datetime.now(dt.timezone.utc),
        "deployment": deployment,
        "reported_model": reported,
        "model": ident.model,
        "model_version": ident.version,
        "region": ident.region,
        "match": ident.match.value if ident.match is not None else None,
        "input_tokens": prompt,
        "cached_input_tokens": cached,
        "output_tokens": completion,
        "reasoning_tokens": reasoning,
        "audio_input_tokens": audio_in,
        "audio_output_tokens": audio_out,
        "currency": currency,
        "pricing_version": pricing_version,
        "usage_known": known,
        "tags": tuple(tags or ()),
        "metadata": _json_safe(metadata),
    }
    if cost is not None:
        return CallRecord(
            **common,
            deployment_type=cost.deployment_type.value,
            input_cost=cost.input_cost,
            cached_input_cost=cost.cached_input_cost,
            output_cost=cost.output_cost,
            audio_input_cost=cost.audio_input_cost,
            audio_output_cost=cost.audio_output_cost,
            total_cost=cost.total,
            price_effective_from=cost.period.effective_from,
            priced=True,
        )
    dtype = ident.deployment_type
    return CallRecord(
        **common,
        deployment_type=dtype.value if dtype is not None else None,
        priced=False,
        unpriced_reason=str(error),
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
    table = [header, *rows, total]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    out = [line(header), *(line(r) for r in rows), line(total)]
    if unpriced:
        out.append(f"unpriced: {len(unpriced)} call(s)")
        out.extend(f"  {u.reported_model or u.deployment or '?'}: {u.reason}" for u in unpriced)
    return "\n".join(out)
