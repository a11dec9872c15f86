"""The cost callback: every LangChain call priced by the model version that really ran.

``get_cost_callback()`` installs a :class:`CostCallbackHandler` for the calls made
inside a ``with`` block (sync or async) through langchain-core's configure hook,
registered once per process. Blocks nest (the outer one sees the inner calls),
exit cleanly however they exit, and stay isolated between threads and asyncio
tasks as far as ContextVars propagate.

The handler reads usage from ``AIMessage.usage_metadata`` (falling back to
``llm_output["token_usage"]``) and the model from, most reliable first: the
deployments map, the client's own parameters seen at start (``deployment_name``,
``model_version``, ``ls_model_name``), then the name in the response. Unpriced calls
are listed with a reason, never counted as a silent zero.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook

from ..errors import (
    AzcostError,
    BudgetExceededError,
    InvalidUsageError,
    NoPriceError,
    UnpricedCallWarning,
)
from ..ledger._record import CallRecord
from ..pricing._money import money_str
from ..pricing._table import Cost, PricingTable
from ._deployments import Deployment, DeploymentsSource, load_deployments
from ._identity import Identity, identify
from ._tally import ModelUsage, UnpricedCall, build_record, render_summary

__all__ = [
    "CostCallbackHandler",
    "CostCallbackScope",
    "LedgerLike",
    "ModelUsage",
    "UnpricedCall",
    "get_cost_callback",
    "get_openai_callback",
]

logger = logging.getLogger("azcost")

_ZERO = Decimal(0)
_IDENTITY_CACHE_MAX = 4096
OnUnknown = Literal["warn", "raise", "ignore"]


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


class CostCallbackHandler(BaseCallbackHandler):
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
        budget: Decimal | int | str | None = None,
        ledger: LedgerLike | str | None = None,
        strict: bool = False,
    ) -> None:
        super().__init__()
        if on_unknown not in ("warn", "raise", "ignore"):
            raise ValueError(f"on_unknown must be 'warn', 'raise' or 'ignore', not {on_unknown!r}")
        if isinstance(budget, float):
            raise TypeError(
                f"budget must be a Decimal, int or decimal string, not a float ({budget!r})"
            )
        self.pricing = _load_table(pricing)
        """The pricing table calls are priced with."""
        self.deployments: dict[str, Deployment] = (
            load_deployments(deployments) if deployments is not None else {}
        )
        """Deployment name -> the model version it serves."""
        self.on_unknown: OnUnknown = on_unknown
        """What an unpriced call does: warn, raise or ignore (it is listed in every case)."""
        self.budget = None if budget is None else Decimal(budget)
        """Spend at which further calls are refused, or None."""
        self.ledger: LedgerLike | None = None
        """Where each call's record goes (a ``Ledger`` when given a URL), or None."""
        self.owns_ledger = isinstance(ledger, str)
        """True when the ledger was opened from a URL here, so :meth:`close` closes it."""
        self.strict = strict
        """Let the handler's own errors propagate into the user's call."""
        self.raise_error = strict or self.budget is not None or on_unknown == "raise"
        self.total_tokens = 0
        """Input plus output tokens of every call with known usage."""
        self.prompt_tokens = 0
        """Input tokens, cached included."""
        self.prompt_tokens_cached = 0
        """Input tokens read from the cache."""
        self.completion_tokens = 0
        """Output tokens, reasoning included."""
        self.reasoning_tokens = 0
        """Reasoning tokens."""
        self.successful_requests = 0
        """Completed calls, priced or not."""
        self.total_cost = _ZERO
        """Exact cost of the priced calls."""
        self.by_model: dict[str, ModelUsage] = {}
        """Canonical versioned model name -> its requests, tokens and cost."""
        self.unpriced_requests: list[UnpricedCall] = []
        """Calls that could not be priced, with the reason."""
        self.closed = False
        """Set by :meth:`close` (also at the end of its ``get_cost_callback`` block): later
        events are ignored."""
        self._lock = threading.Lock()
        self._runs: dict[
            UUID, tuple[Mapping[str, Any] | None, list[str] | None, Mapping[str, Any] | None]
        ] = {}
        self._identities: dict[tuple[str | None, ...], Identity] = {}
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
        self._start(run_id, serialized, tags, metadata)

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
        self._start(run_id, serialized, tags, metadata)

    def _start(
        self,
        run_id: UUID,
        serialized: dict[str, Any],
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        if self.closed:
            return
        if self.budget is not None:
            self.check_budget()
        self._runs[run_id] = (serialized, tags, metadata)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A failed call is not counted."""
        self._runs.pop(run_id, None)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Count and price the call."""
        started = self._runs.pop(run_id, None)
        if started is None or self.closed:
            return  # never started here, or already counted through another route
        try:
            deliberate = self._account(response, run_id, started)
        except Exception as exc:
            if self.strict:
                raise
            logger.warning("azcost: could not price run %s: %r", run_id, exc, exc_info=True)
            warnings.warn(
                f"azcost could not price run {run_id}: {exc!r}", UnpricedCallWarning, stacklevel=2
            )
            with self._lock:
                self.successful_requests += 1
                self.unpriced_requests.append(
                    UnpricedCall(
                        str(run_id), f"internal error: {exc!r}", None, None, None, False, 0, 0
                    )
                )
            return
        if deliberate is not None:
            raise deliberate  # on_unknown="raise"

    # ------------------------------------------------------------------ accounting

    def _account(
        self,
        response: LLMResult,
        run_id: UUID,
        started: tuple[Mapping[str, Any] | None, list[str] | None, Mapping[str, Any] | None],
    ) -> AzcostError | None:
        """Count every prompt of the result; return the error to raise under on_unknown='raise'."""
        serialized, tags, metadata = started
        deliberate: AzcostError | None = None
        kw = serialized.get("kwargs") if serialized else None
        if kw:
            deployment = kw.get("deployment_name") or kw.get("azure_deployment")
            version = kw.get("model_version") or None
            kw_model = kw.get("model_name") or kw.get("model")
        else:
            deployment = version = kw_model = None
        ls_model = metadata.get("ls_model_name") if metadata else None
        llm_output = response.llm_output
        for i, generations in enumerate(response.generations):
            gen = generations[0] if generations else None
            message = getattr(gen, "message", None)
            usage = getattr(message, "usage_metadata", None)
            reported = None
            meta = getattr(message, "response_metadata", None)
            if meta:
                reported = meta.get("model_name")
            if not reported and llm_output:
                reported = llm_output.get("model_name")
            known = True
            audio_in = audio_out = cached = reasoning = 0
            if usage:
                prompt = usage.get("input_tokens", 0)
                completion = usage.get("output_tokens", 0)
                details = usage.get("input_token_details")
                if details:
                    cached = details.get("cache_read") or 0
                    audio_in = details.get("audio") or 0
                details = usage.get("output_token_details")
                if details:
                    reasoning = details.get("reasoning") or 0
                    audio_out = details.get("audio") or 0
            elif llm_output and i == 0 and "token_usage" in llm_output:
                # LLMResult.flatten() leaves later prompts of one request an empty
                # token_usage: their usage was reported with the first prompt.
                tu = llm_output["token_usage"] or {}
                prompt = tu.get("prompt_tokens") or 0
                completion = tu.get("completion_tokens") or 0
                cached = (tu.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
                reasoning = (tu.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
            else:
                known = False
                prompt = completion = 0
            key = (deployment, version, ls_model, kw_model, reported)
            ident = self._identities.get(key)
            if ident is None:
                ident = identify(
                    self.pricing,
                    self.deployments,
                    deployment,
                    version,
                    ls_model,
                    kw_model,
                    reported,
                )
                if len(self._identities) < _IDENTITY_CACHE_MAX:
                    self._identities[key] = ident
            cost: Cost | None = None
            error: AzcostError | None = ident.error
            if error is None:
                if known:
                    try:
                        cost = self.pricing.cost(
                            ident.model,  # type: ignore[arg-type]  # set whenever error is None
                            input_tokens=prompt,
                            output_tokens=completion,
                            cached_input_tokens=cached,
                            reasoning_tokens=reasoning,
                            audio_input_tokens=audio_in,
                            audio_output_tokens=audio_out,
                            deployment_type=ident.deployment_type,
                            region=ident.region,
                        )
                    except (NoPriceError, InvalidUsageError) as exc:
                        error = exc
                else:
                    error = InvalidUsageError(
                        f"model {reported or deployment or ident.model!r}: the call reported no "
                        "token usage (streaming with stream_usage=False?)"
                    )
            with self._lock:
                self.successful_requests += 1
                if known:
                    self.prompt_tokens += prompt
                    self.completion_tokens += completion
                    self.total_tokens += prompt + completion
                    self.prompt_tokens_cached += cached
                    self.reasoning_tokens += reasoning
                if cost is not None:
                    total = cost.total
                    self.total_cost += total
                    per = self.by_model.get(cost.model)
                    if per is None:
                        per = self.by_model[cost.model] = ModelUsage()
                    per.requests += 1
                    per.prompt_tokens += prompt
                    per.prompt_tokens_cached += cached
                    per.completion_tokens += completion
                    per.reasoning_tokens += reasoning
                    per.audio_input_tokens += audio_in
                    per.audio_output_tokens += audio_out
                    per.total_cost += total
                else:
                    self.unpriced_requests.append(
                        UnpricedCall(
                            str(run_id),
                            str(error),
                            reported,
                            ident.model,
                            deployment,
                            known,
                            prompt,
                            completion,
                        )
                    )
            if self.ledger is not None:
                rec = build_record(
                    run_id,
                    tags,
                    metadata,
                    deployment,
                    reported,
                    ident,
                    cost,
                    error,
                    known,
                    (prompt, cached, completion, reasoning, audio_in, audio_out),
                    currency=self.pricing.currency,
                    pricing_version=self.pricing.version,
                )
                try:
                    self.ledger.record(rec)
                except Exception as exc:  # a ledger never breaks the call
                    if self.strict:
                        raise
                    logger.warning("azcost: ledger refused run %s: %r", run_id, exc)
            if error is not None and self.on_unknown != "ignore":
                if self.on_unknown == "raise":
                    deliberate = deliberate or error
                else:
                    warnings.warn(
                        f"azcost: call not priced: {error}", UnpricedCallWarning, stacklevel=3
                    )
        return deliberate

    # ------------------------------------------------------------------ display

    def summary(self) -> str:
        """A plain-text table: requests, tokens and cost per model version, then unpriced calls."""
        with self._lock:
            by_model = {k: replace(v) for k, v in self.by_model.items()}
            unpriced = list(self.unpriced_requests)
            totals = (
                self.successful_requests,
                self.prompt_tokens,
                self.prompt_tokens_cached,
                self.completion_tokens,
                self.reasoning_tokens,
                self.total_cost,
            )
        return render_summary(self.pricing.currency, by_model, unpriced, totals)

    def __repr__(self) -> str:
        lines = [
            f"Tokens Used: {self.total_tokens}",
            f"\tPrompt Tokens: {self.prompt_tokens}",
            f"\t\tPrompt Tokens Cached: {self.prompt_tokens_cached}",
            f"\tCompletion Tokens: {self.completion_tokens}",
            f"\t\tReasoning Tokens: {self.reasoning_tokens}",
            f"Successful Requests: {self.successful_requests}",
            f"Total Cost ({self.pricing.currency}): ${money_str(self.total_cost)}",
        ]
        for name, u in sorted(self.by_model.items()):
            lines.append(f"\t{name}: {u.requests} request(s), ${money_str(u.total_cost)}")
        if self.unpriced_requests:
            lines.append(f"Unpriced Requests: {len(self.unpriced_requests)}")
        return "\n".join(lines)

    def __copy__(self) -> CostCallbackHandler:
        return self  # LangChain copies configs: the totals must stay shared

    def __deepcopy__(self, memo: Any) -> CostCallbackHandler:
        return self


class _Fanout(BaseCallbackHandler):
    """The one handler the configure hook sees while blocks are nested: forwards to each."""

    run_inline = True
    ignore_chain = True  # skip chain events: only model calls matter
    ignore_agent = True
    ignore_retriever = True
    ignore_retry = True
    ignore_custom_event = True

    def __init__(self, handlers: tuple[CostCallbackHandler, ...]) -> None:
        super().__init__()
        self.handlers = handlers
        self.raise_error = any(h.raise_error for h in handlers)

    def _start(self, event: str, *args: Any, **kwargs: Any) -> None:
        for h in self.handlers:  # refuse before anyone records the start
            if h.budget is not None:
                h.check_budget()
        for h in self.handlers:
            getattr(h, event)(*args, **kwargs)

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        """Forward to every active handler."""
        self._start("on_chat_model_start", *args, **kwargs)

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        """Forward to every active handler."""
        self._start("on_llm_start", *args, **kwargs)

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        """Forward to every active handler."""
        for h in self.handlers:
            h.on_llm_error(*args, **kwargs)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        """Forward to every active handler; the first deliberate error is raised after all ran."""
        first: BaseException | None = None
        for h in self.handlers:
            try:
                h.on_llm_end(*args, **kwargs)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    def __copy__(self) -> _Fanout:
        return self

    def __deepcopy__(self, memo: Any) -> _Fanout:
        return self


_active: ContextVar[BaseCallbackHandler | None] = ContextVar("azcost_cost_callback", default=None)
register_configure_hook(_active, inheritable=True)  # once per process: at import


class CostCallbackScope:
    """The context manager ``get_cost_callback`` returns; ``with`` or ``async with``."""

    def __init__(self, handler: CostCallbackHandler) -> None:
        self.handler = handler
        """The handler this block installs."""
        self._token: Token[BaseCallbackHandler | None] | None = None
        self._previous: BaseCallbackHandler | None = None

    def __enter__(self) -> CostCallbackHandler:
        if self._token is not None:
            raise RuntimeError("a get_cost_callback() block cannot be entered twice")
        current = _active.get()
        self._previous = current
        if current is None:
            installed: BaseCallbackHandler = self.handler
        elif isinstance(current, _Fanout):
            installed = _Fanout((*current.handlers, self.handler))
        else:
            installed = _Fanout((current, self.handler))  # type: ignore[arg-type]  # only ours go there
        self._token = _active.set(installed)
        return self.handler

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.handler.closed = True
        token, self._token = self._token, None
        try:
            if token is not None:
                _active.reset(token)
        except ValueError:  # exited in another context than it was entered in
            _active.set(self._previous)
        finally:
            self.handler.close()  # flush the ledger; close it when opened from a URL

    async def __aenter__(self) -> CostCallbackHandler:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def get_cost_callback(
    pricing: PricingTable | str | Path | Sequence[str | Path] | None = None,
    *,
    deployments: DeploymentsSource | None = None,
    on_unknown: OnUnknown = "warn",
    budget: Decimal | int | str | None = None,
    ledger: LedgerLike | str | None = None,
) -> CostCallbackScope:
    """Price every LangChain call made inside the block: ``with get_cost_callback() as cb:``."""
    handler = CostCallbackHandler(
        pricing, deployments=deployments, on_unknown=on_unknown, budget=budget, ledger=ledger
    )
    return CostCallbackScope(handler)


def get_openai_callback() -> CostCallbackScope:
    """Drop-in for ``langchain_community.callbacks.get_openai_callback``, priced by azcost."""
    return get_cost_callback()


def _iter_active() -> Iterator[CostCallbackHandler]:
    """The handlers active in this context, outermost first (for tests and debugging)."""
    current = _active.get()
    if isinstance(current, _Fanout):
        yield from current.handlers
    elif isinstance(current, CostCallbackHandler):
        yield current
