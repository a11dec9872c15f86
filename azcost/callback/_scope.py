"""Cost blocks: ``with get_cost_callback() as cb:`` prices every call made inside it.

The block installs its :class:`~azcost.callback._handler.CostCallbackHandler` for the
calls made inside (sync or async) through langchain-core's configure hook, registered
once per process. Blocks nest (the outer one sees the inner calls), exit cleanly
however they exit, and stay isolated between threads and asyncio tasks as far as
ContextVars propagate.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar, Token
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import uuid4

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from ..errors import UnpricedCallWarning
from ..pricing._table import PricingTable
from ._deployments import DeploymentsSource
from ._handler import CostCallbackHandler, LedgerLike, OnAssumed, OnUnknown
from ._identity import Client
from ._metrics import EMBEDDINGS, MetricsSource
from ._usage import Usage

__all__ = [
    "CostCallbackScope",
    "active_handlers",
    "after_request",
    "before_request",
    "get_cost_callback",
    "get_openai_callback",
]

logger = logging.getLogger("azcost")


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
        self._metrics = metrics_owners(handlers)

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
        for h, metrics in zip(self.handlers, self._metrics, strict=True):
            try:
                h.on_llm_end(*args, **kwargs, azcost_metrics=metrics)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    def __copy__(self) -> _Fanout:
        return self

    def __deepcopy__(self, memo: Any) -> _Fanout:
        return self


def metrics_owners(handlers: Iterable[CostCallbackHandler]) -> tuple[bool, ...]:
    """Which handlers record a call they all count as metrics: the first (outermost) of
    those recording to each provider or meter, so that nested blocks count it once."""
    seen: list[object] = []
    owners = []
    for h in handlers:
        target = h.metrics_target
        owners.append(target is not None and not any(target is t for t in seen))
        seen.append(target)
    return tuple(owners)


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
    on_assumed: OnAssumed = "warn",
    budget: Decimal | int | str | None = None,
    ledger: LedgerLike | str | None = None,
    metrics: MetricsSource = None,
    metrics_attributes: Sequence[str] = (),
) -> CostCallbackScope:
    """Price every LangChain call made inside the block: ``with get_cost_callback() as cb:``.

    ``metrics=True`` records each call on the global OpenTelemetry MeterProvider (or the
    MeterProvider or Meter given), with the metadata keys of ``metrics_attributes``.
    """
    handler = CostCallbackHandler(
        pricing,
        deployments=deployments,
        on_unknown=on_unknown,
        on_assumed=on_assumed,
        budget=budget,
        ledger=ledger,
        metrics=metrics,
        metrics_attributes=metrics_attributes,
    )
    return CostCallbackScope(handler)


def get_openai_callback() -> CostCallbackScope:
    """Drop-in for ``langchain_community.callbacks.get_openai_callback``, priced by azcost."""
    return get_cost_callback()


def active_handlers() -> Iterator[CostCallbackHandler]:
    """The handlers of the blocks active in this context, outermost first."""
    current = _active.get()
    if isinstance(current, _Fanout):
        yield from current.handlers
    elif isinstance(current, CostCallbackHandler):
        yield current


def before_request(extra: Iterable[CostCallbackHandler] = ()) -> list[CostCallbackHandler]:
    """The open handlers a request outside LangChain's callbacks (embeddings) is counted by:
    those of the active blocks, then ``extra``. Refuses it when one is over its budget."""
    handlers = list(active_handlers())
    handlers.extend(h for h in extra if h not in handlers)
    handlers = [h for h in handlers if not h.closed]
    for h in handlers:
        if h.budget is not None:
            h.check_budget()
    return handlers


def after_request(handlers: Iterable[CostCallbackHandler], usage: Usage, client: Client) -> None:
    """Count one finished request by each handler; accounting never breaks the request.

    Raises the first deliberate error (``on_unknown``/``on_assumed="raise"``) after all
    handlers counted it.
    """
    first: BaseException | None = None
    handlers = tuple(handlers)
    run_id = uuid4()  # one request: one record in a ledger several handlers write to
    for h, metrics in zip(handlers, metrics_owners(handlers), strict=True):
        try:
            deliberate = h.count(usage, client, run_id, operation=EMBEDDINGS, metrics=metrics)
        except Exception as exc:
            if h.strict:
                raise
            logger.warning("azcost: could not price request %s: %r", run_id, exc)
            warnings.warn(
                f"azcost could not price request {run_id}: {exc!r}",
                UnpricedCallWarning,
                stacklevel=3,
            )
            continue
        first = first or deliberate
    if first is not None:
        raise first
