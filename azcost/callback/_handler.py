"""The cost handler: every LangChain call priced by the model version that really ran.

For each prompt of a finished call :class:`CostCallbackHandler` reads the usage
(:mod:`._usage`), identifies the model version (:mod:`._identity`), prices it
(:mod:`._price`), adds it to its totals and hands a record to the ledger. Unpriced
calls are listed with a reason, never counted as a silent zero. ``with`` blocks that
install a handler for every call inside live in :mod:`._scope`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol
from uuid import UUID, uuid4

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from ..errors import (
    AssumedVersionError,
    AssumedVersionWarning,
    AzcostError,
    BudgetExceededError,
    CachedTokensUnknownWarning,
    UnpricedCallWarning,
)
from ..ledger._record import CallRecord
from ..pricing._money import money_str
from ..pricing._table import Cost, PricingTable
from ._deployments import Deployment, DeploymentsSource, load_deployments
from ._identity import (
    Client,
    ClientCache,
    Identity,
    cached_client,
    identify,
    no_chat_usage_reason,
)
from ._metrics import CHAT, MetricsSource, SpendMetrics
from ._price import price
from ._tally import Totals, UnpricedCall, build_record
from ._usage import NO_USAGE_CHAT, Usage, read_plain_usage, read_usage

__all__ = ["CostCallbackHandler", "LedgerLike", "OnAssumed", "OnUnknown"]

logger = logging.getLogger("azcost")

_ZERO = Decimal(0)
_IDENTITY_CACHE_MAX = 4096
OnUnknown = Literal["warn", "raise", "ignore"]

OnAssumed = Literal["warn", "raise", "ignore"]
_CHOICES = ("warn", "raise", "ignore")

_NO_USAGE = Usage(False, 0, 0, 0, {}, None)
_NOTHING_KNOWN = (None, None, None, False, 0, 0)
_CACHE_UNKNOWN = (
    "azcost: langchain-azure-ai's AzureAIChatCompletionsModel does not pass on cached input "
    "tokens: its calls are priced with all input at the full input rate, above the true cost "
    "when the prompt cache was hit (AzureAIOpenAIApiChatModel reports them)"
)
_Started = tuple[Mapping[str, Any] | None, list[str] | None, Mapping[str, Any] | None, int, int]
"""What a start event left for the end: serialized client, tags, metadata, batch size, and
how many times the start was delivered to this handler."""
_NOT_STARTED: _Started = (None, None, None, 1, 1)
_COUNTED: Mapping[str, Any] = {}  # in place of serialized: the call was counted already


class LedgerLike(Protocol):
    """What the handler needs from a ledger: ``record`` (non-blocking), ``flush``, ``close``."""

    def record(self, rec: CallRecord) -> None:
        """Store one call."""

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every recorded call is stored."""

    def close(self) -> None:
        """Flush and release resources."""


def _load_table(pricing: PricingTable | str | Path | Sequence[str | Path] | None) -> PricingTable:
    from ..pricing._load import load_pricing

    if pricing is None:
        return load_pricing()
    if isinstance(pricing, PricingTable):
        return pricing
    if isinstance(pricing, (str, Path)):
        return load_pricing(pricing)
    return load_pricing(*pricing)


class CostCallbackHandler(Totals, BaseCallbackHandler):
    """Counts tokens and exact ``Decimal`` cost per model version for every call it sees."""

    run_inline = True  # cheap and thread-safe: no executor hop in async code
    ignore_chain = True  # skip chain events: only model calls matter
    ignore_agent = True
    ignore_retriever = True
    ignore_retry = True
    ignore_custom_event = True

    def __init__(
        self,
        pricing: PricingTable | str | Path | Sequence[str | Path] | None = None,
        *,
        deployments: DeploymentsSource | None = None,
        on_unknown: OnUnknown = "warn",
        on_assumed: OnAssumed = "warn",
        budget: Decimal | int | str | None = None,
        ledger: LedgerLike | str | None = None,
        strict: bool = False,
        metrics: MetricsSource = None,
        metrics_attributes: Sequence[str] = (),
    ) -> None:
        for name, value in (("on_unknown", on_unknown), ("on_assumed", on_assumed)):
            if value not in _CHOICES:
                raise ValueError(f"{name} must be 'warn', 'raise' or 'ignore', not {value!r}")
        if isinstance(budget, float):
            raise TypeError(
                f"budget must be a Decimal, int or decimal string, not a float ({budget!r})"
            )
        self.pricing = _load_table(pricing)
        """The pricing table calls are priced with."""
        Totals.__init__(self, self.pricing.currency)
        self.deployments: dict[str, Deployment] = (
            load_deployments(deployments) if deployments is not None else {}
        )
        """Deployment name -> the model version it serves."""
        self.on_unknown: OnUnknown = on_unknown
        """What an unpriced call does: warn, raise or ignore (it is listed in every case)."""
        self.on_assumed: OnAssumed = on_assumed
        """What a call whose version was assumed does: warn (once per deployment), raise after
        counting it, or ignore (it is counted in ``assumed_requests`` in every case)."""
        self.budget = None if budget is None else Decimal(budget)
        """Spend at which further calls are refused, or None."""
        self.ledger: LedgerLike | None = None
        """Where each call's record goes (a ``Ledger`` when given a URL), or None."""
        self.owns_ledger = isinstance(ledger, str)
        """True when the ledger was opened from a URL here, so :meth:`close` closes it."""
        self.strict = strict
        """Let the handler's own errors propagate into the user's call."""
        self.raise_error = strict or self.budget is not None or "raise" in (on_unknown, on_assumed)
        self.closed = False
        """Set by :meth:`close` (also at the end of its ``get_cost_callback`` block): later
        events are ignored."""
        self._runs: dict[object, _Started] = {}  # by run_id.int (the run id if not a UUID)
        self._warned_assumed: set[str | None] = set()
        self._warned_cache = False
        self._identities: dict[tuple[Client, str | None], Identity] = {}
        self._clients: ClientCache = {}
        # the OpenTelemetry instruments each counted call is recorded on
        self._metrics = SpendMetrics(metrics, self.pricing, metrics_attributes) if metrics else None
        if isinstance(ledger, str):  # last: nothing above can fail and leave it open
            from ..ledger._writer import Ledger  # imported only when a ledger is asked for

            self.ledger = Ledger(ledger)
        else:
            self.ledger = ledger

    def close(self) -> None:
        """Stop counting; close the ledger opened from a URL, or flush the one given."""
        self.closed = True
        ledger = self.ledger
        if ledger is not None:
            if self.owns_ledger:
                ledger.close()
            else:
                ledger.flush()

    def __enter__(self) -> CostCallbackHandler:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ events

    def check_budget(self) -> None:
        """Raise :class:`BudgetExceededError` when the spend has reached the budget."""
        budget = self.budget
        if budget is not None and self.total_cost >= budget and not self.closed:
            raise BudgetExceededError(
                money_str(self.total_cost), money_str(budget), self.pricing.currency
            )

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember what the client said about itself; refuse the call when over budget."""
        if self.closed:
            return
        if self.budget is not None:
            self.check_budget()
        started = (serialized, tags, metadata, kwargs.get("batch_size", 1), 1)
        key = run_id.int if type(run_id) is UUID else run_id  # UUID's hash is a Python call
        seen = self._runs.setdefault(key, started)
        if seen is not started:
            # a handler both in a block and in the config gets every event twice: count the
            # deliveries, so the call is counted at its first end only
            self._runs[key] = (*started[:4], seen[4] + 1)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Same as :meth:`on_chat_model_start`, for completion LLMs."""
        self.on_chat_model_start(
            serialized, [], run_id=run_id, tags=tags, metadata=metadata, **kwargs
        )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed call is not counted."""
        self._runs.pop(run_id.int if type(run_id) is UUID else run_id, None)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID | None = None, **kwargs: Any) -> None:
        """Count and price the call (also when called directly, without a start event)."""
        if self.closed:
            return
        metrics: bool = kwargs.get("azcost_metrics", True)  # False: nested, see metrics_owners
        if run_id is None:
            run_id = uuid4()
            started = _NOT_STARTED
        else:
            key = run_id.int if type(run_id) is UUID else run_id
            started = self._runs.pop(key, _NOT_STARTED)
            deliveries = started[4]
            if deliveries > 1:  # the same call delivered again later: skip those
                self._runs[key] = (_COUNTED, None, None, 1, deliveries - 1)
            if started[0] is _COUNTED:
                return
        try:
            deliberate = self._account(response, run_id, started, metrics)
        except Exception as exc:
            if self.strict:
                raise
            logger.warning("azcost: could not price run %s: %r", run_id, exc, exc_info=True)
            warnings.warn(
                f"azcost could not price run {run_id}: {exc!r}", UnpricedCallWarning, stacklevel=2
            )
            reason = f"internal error: {exc!r}"
            self.add(_NO_USAGE, None, UnpricedCall(str(run_id), reason, *_NOTHING_KNOWN), False)
            if self._metrics is not None and metrics:
                self._metrics.record_unread(started[2])
            return
        if deliberate is not None:
            raise deliberate  # on_unknown="raise" or on_assumed="raise"

    @property
    def metrics_target(self) -> object | None:
        """Where this handler records metrics (the provider or meter given), or None."""
        return None if self._metrics is None else self._metrics.target

    # ------------------------------------------------------------------ accounting

    def _account(
        self, response: LLMResult, run_id: UUID, started: _Started, metrics: bool
    ) -> AzcostError | None:
        """Count every prompt of the result; return the first error to raise, if asked to."""
        serialized, tags, metadata, batch_size, _ = started
        _, client, drops_cached = cached_client(self._clients, serialized, metadata)
        plain = read_plain_usage(response)
        if plain is not None and not drops_cached:  # the usual call: one prompt, text only
            return self.count(plain, client, run_id, tags, metadata, metrics=metrics)
        deliberate: AzcostError | None = None
        for usage in (plain,) if plain is not None else read_usage(response, batch_size):
            if usage.missing == NO_USAGE_CHAT:
                usage = usage._replace(missing=no_chat_usage_reason(serialized) or NO_USAGE_CHAT)
            error = self.count(usage, client, run_id, tags, metadata, metrics=metrics)
            deliberate = deliberate or error
            if drops_cached and usage.known and not self._warned_cache:
                self._warned_cache = True
                warnings.warn(_CACHE_UNKNOWN, CachedTokensUnknownWarning, stacklevel=4)
        return deliberate

    def count(
        self,
        usage: Usage,
        client: Client,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        operation: str = CHAT,  # in metrics: chat (or, by ls_model_type, text_completion)
        *,
        metrics: bool = True,
    ) -> AzcostError | None:
        """Count one request: identify -> price -> tally -> metrics -> record -> tell.

        Returns the error to raise under ``on_unknown``/``on_assumed="raise"``, else None;
        ``metrics=False``: not recorded as metrics (another handler records it there).
        """
        ident = self._identities.get((client, usage.reported_model))
        if ident is None:
            ident = self._identify(client, usage.reported_model)
        cost, error = price(self.pricing, ident, usage)
        unpriced = None
        if error is not None:
            unpriced = UnpricedCall(
                str(run_id),
                str(error),
                usage.reported_model,
                ident.model,
                ident.deployment,
                usage.known,
                usage.input_tokens,
                usage.output_tokens,
            )
        assumed = cost is not None and ident.assumed
        self.add(usage, cost, unpriced, assumed)
        if self._metrics is not None and metrics:
            self._metrics.record(operation, usage, ident, client, cost, error, assumed, metadata)
        if self.ledger is not None:
            self._record(run_id, tags, metadata, usage, ident, cost, error)
        if error is not None:
            return self._tell_unpriced(error)
        if assumed and self.on_assumed != "ignore":
            return self._tell_assumed(ident, usage)
        return None

    def _tell_unpriced(self, error: AzcostError) -> AzcostError | None:
        if self.on_unknown == "warn":
            warnings.warn(f"azcost: call not priced: {error}", UnpricedCallWarning, stacklevel=5)
        return error if self.on_unknown == "raise" else None

    def _tell_assumed(self, ident: Identity, usage: Usage) -> AzcostError | None:
        where = ident.deployment or usage.reported_model or ident.model
        if self.on_assumed == "warn" and where in self._warned_assumed:
            return None
        model = ident.model
        message = (
            f"{'deployment' if ident.deployment else 'model'} {where!r} names no model "
            f"version: priced as {model}, the pricing table's default version; pin the "
            f"version in the deployments map (or with model_version= on AzureChatOpenAI)"
        )
        if self.on_assumed == "raise":
            return AssumedVersionError(f"azcost: {message}")
        self._warned_assumed.add(where)
        warnings.warn(f"azcost: {message}", AssumedVersionWarning, stacklevel=5)
        return None

    def _identify(self, client: Client, reported: str | None) -> Identity:
        """The model version of a call, kept per combination of names (count reads it)."""
        ident = identify(self.pricing, self.deployments, client, reported)
        if len(self._identities) < _IDENTITY_CACHE_MAX:
            self._identities[(client, reported)] = ident
        return ident

    def _record(
        self,
        run_id: UUID,
        tags: list[str] | None,
        metadata: Mapping[str, Any] | None,
        usage: Usage,
        ident: Identity,
        cost: Cost | None,
        error: AzcostError | None,
    ) -> None:
        """Hand the call's record to the ledger; a ledger error never breaks the call."""
        rec = build_record(
            run_id,
            tags,
            metadata,
            ident.deployment,
            usage,
            ident,
            cost,
            error,
            currency=self.pricing.currency,
            pricing_version=self.pricing.version,
            resource=ident.resource,
        )
        try:
            self.ledger.record(rec)  # type: ignore[union-attr]  # called only with a ledger
        except Exception as exc:
            if self.strict:
                raise
            logger.warning("azcost: ledger refused run %s: %r", run_id, exc)

    def __copy__(self) -> CostCallbackHandler:
        return self  # LangChain copies configs: the totals must stay shared

    def __deepcopy__(self, memo: Any) -> CostCallbackHandler:
        return self
