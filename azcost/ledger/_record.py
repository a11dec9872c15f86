"""One priced (or unpriced) call, as the callback hands it to the ledger."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from decimal import Decimal
from typing import Any

from ..pricing._kinds import COST_FIELDS, TOKEN_FIELDS
from ..pricing._money import money_str

__all__ = ["COST_FIELDS", "TOKEN_FIELDS", "CallRecord", "new_record"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """Everything known about one completed LLM call: identity, usage, exact cost."""

    run_id: str
    """LangChain run id: the idempotency key (a retried write never duplicates)."""
    timestamp: dt.datetime
    """When the call ended, UTC."""
    deployment: str | None = None
    """Azure deployment name, when known."""
    reported_model: str | None = None
    """Model name as the response or client reported it."""
    model: str | None = None
    """Canonical versioned model name; None when the model could not be resolved."""
    model_version: str | None = None
    """Model version configured on the client or deployments map, if any."""
    deployment_type: str | None = None
    """Deployment type whose rates were used (global, data-zone, regional, ...)."""
    region: str | None = None
    """Azure region, when known."""
    resource: str | None = None
    """Azure OpenAI resource (account) name, when known: matched against cost exports."""
    service_tier: str | None = None
    """Service tier the response named (``default``, ``priority``, ``flex``), when it did."""
    match: str | None = None
    """How the model was matched (a MatchKind value)."""
    input_tokens: int = 0
    """Prompt tokens, cached included."""
    cached_input_tokens: int = 0
    """Prompt tokens read from the cache."""
    output_tokens: int = 0
    """Completion tokens, reasoning included."""
    reasoning_tokens: int = 0
    """Reasoning tokens (part of output_tokens)."""
    audio_input_tokens: int = 0
    """Audio prompt tokens."""
    audio_output_tokens: int = 0
    """Audio completion tokens."""
    cached_audio_input_tokens: int = 0
    """Audio prompt tokens read from the cache."""
    image_input_tokens: int = 0
    """Image prompt tokens not read from the cache."""
    cached_image_input_tokens: int = 0
    """Image prompt tokens read from the cache."""
    image_output_tokens: int = 0
    """Image completion tokens."""
    input_cost: Decimal | None = None
    """Cost of uncached text input."""
    cached_input_cost: Decimal | None = None
    """Cost of cached input."""
    output_cost: Decimal | None = None
    """Cost of text output."""
    audio_input_cost: Decimal | None = None
    """Cost of audio input."""
    audio_output_cost: Decimal | None = None
    """Cost of audio output."""
    cached_audio_input_cost: Decimal | None = None
    """Cost of cached audio input."""
    image_input_cost: Decimal | None = None
    """Cost of image input."""
    cached_image_input_cost: Decimal | None = None
    """Cost of cached image input."""
    image_output_cost: Decimal | None = None
    """Cost of image output."""
    total_cost: Decimal | None = None
    """Total cost; None when unpriced."""
    currency: str = "USD"
    """Currency of the costs."""
    pricing_version: str | None = None
    """Version of the pricing table used."""
    price_effective_from: dt.date | None = None
    """Start of the price period used."""
    priced: bool = False
    """True when the call was priced."""
    unpriced_reason: str | None = None
    """Why the call could not be priced (unknown model, no usage reported, ...)."""
    usage_known: bool = True
    """False when the call reported no token usage at all."""
    tags: tuple[str, ...] = ()
    """The run's LangChain tags."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The run's LangChain metadata (JSON-able values; e.g. user, feature)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: decimals as exact strings, dates ISO 8601."""
        out = asdict(self)
        for name in COST_FIELDS:
            value = out[name]
            out[name] = None if value is None else money_str(value)
        out["timestamp"] = self.timestamp.isoformat()
        eff = self.price_effective_from
        out["price_effective_from"] = None if eff is None else eff.isoformat()
        out["tags"] = list(self.tags)
        out["metadata"] = dict(self.metadata)
        return out

    def to_json(self) -> str:
        """One JSON line, without the fields that are null and the token counts that are 0.

        :meth:`from_json` and ``ledger import`` read a field left out as that default;
        :meth:`to_dict` (and ``ledger export --format csv``) keep every field.
        """
        out = self.to_dict()
        for name in _LEFT_OUT:
            if out[name] is None or out[name] == 0:  # a token count is an int; 0 is its default
                del out[name]
        return json.dumps(out, separators=(",", ":"), default=str, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """Inverse of :meth:`to_dict`, checked; ``RecordError`` (a ValueError) names the field."""
        from ._checks import record_from_dict  # the checks module builds on this one

        return record_from_dict(dict(data))

    @classmethod
    def from_json(cls, line: str) -> CallRecord:
        """Parse one JSON line written by :meth:`to_json`, checked as :meth:`from_dict`."""
        from ._checks import record_from_json  # the checks module builds on this one

        return record_from_json(line)


def _check_layout() -> None:
    """The record's token and cost fields are the kinds table's, in its order, adjacent."""
    names = [f.name for f in fields(CallRecord)]
    start = names.index("input_tokens")
    if tuple(names[start : start + len(TOKEN_FIELDS) + len(COST_FIELDS)]) != (
        *TOKEN_FIELDS,
        *COST_FIELDS,
    ):  # pragma: no cover - fails at import when a token kind is added to one side only
        raise RuntimeError(
            f"CallRecord's token and cost fields must be {TOKEN_FIELDS + COST_FIELDS} in order "
            "(azcost.pricing._kinds.KINDS): declare the new kind's fields"
        )


_check_layout()

_LEFT_OUT = tuple(
    f.name for f in fields(CallRecord) if f.default is None or f.name in TOKEN_FIELDS
)  # what to_json leaves out at its default: None, or a token count of 0

# The callback's fast path. The frozen ``__init__`` stores each of the fields through
# ``object.__setattr__`` (~5 us per record). ``_Draft`` has the same slots in the same
# order but is not frozen, so its ``__init__`` stores them directly (~0.5 us); the draft
# then becomes a CallRecord by ``__class__`` assignment, which CPython allows between
# classes of identical layout, and is as frozen as any other record from then on.
_Draft = make_dataclass("_Draft", [(f.name, f.type) for f in fields(CallRecord)], slots=True)
_set_class = object.__setattr__


def new_record(*values: Any) -> CallRecord:
    """A :class:`CallRecord` from all its field values, positionally, in declaration order.

    For the callback's hot path (no defaults, no checks); elsewhere call ``CallRecord(...)``.
    """
    rec = _Draft(*values)
    _set_class(rec, "__class__", CallRecord)
    return rec  # type: ignore[no-any-return]  # a CallRecord since the line above
