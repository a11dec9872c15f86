"""Embeddings priced like chat calls: every API request's ``usage.prompt_tokens`` counted.

LangChain's embeddings fire no callbacks, and langchain-openai discards the usage each
embeddings response carries. :class:`AzureOpenAIEmbeddings` (a drop-in subclass of
langchain-openai's) and :func:`track` (for an existing instance of the stock class,
``OpenAIEmbeddings`` included) wrap the client's ``embeddings.create`` so that every
request — one per ``chunk_size`` texts, sync or async, inside ``FAISS.from_texts`` or
``InMemoryVectorStore.from_texts`` too — is counted and priced by model version in
every ``get_cost_callback()`` / ``get_openai_callback()`` block it runs in (and the
``handlers`` given to :func:`track`). The deployments map and ``model_version`` apply
as for chat; a request over a block's budget is refused before it is sent. Needs the
``openai`` extra: ``pip install 'azcost[openai]'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import model_validator

from .callback._handler import CostCallbackHandler
from .callback._identity import Client
from .callback._scope import after_request, before_request
from .callback._usage import Usage

try:
    from langchain_openai import AzureOpenAIEmbeddings as _AzureOpenAIEmbeddings
    from langchain_openai import OpenAIEmbeddings
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "azcost.embeddings needs langchain-openai: pip install 'azcost[openai]'"
    ) from exc

__all__ = ["AzureOpenAIEmbeddings", "track"]

E = TypeVar("E", bound=OpenAIEmbeddings)
_NO_DETAILS: dict[str, int] = {}


def _client_of(embeddings: OpenAIEmbeddings) -> Client:
    deployment = getattr(embeddings, "deployment", None)
    return Client(
        deployment,
        getattr(embeddings, "model_version", None) or None,
        None,
        embeddings.model,
        getattr(embeddings, "azure_endpoint", None),
    )


def _usage_of(response: Any) -> Usage:
    usage = response.get("usage") if isinstance(response, dict) else response.usage
    model = response.get("model") if isinstance(response, dict) else response.model
    tokens = None
    if usage is not None:
        tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else usage.prompt_tokens
    if tokens is None:
        why = "the embeddings response carries no usage"
        return Usage(False, 0, 0, 0, _NO_DETAILS, model or None, None, why)
    return Usage(True, tokens, 0, 0, _NO_DETAILS, model or None)


class _Counter:
    """Counts each request made through one client, for the handlers active at the time."""

    def __init__(self, owner: OpenAIEmbeddings, handlers: tuple[CostCallbackHandler, ...]) -> None:
        self.owner = owner
        self.handlers = handlers

    def before(self) -> list[CostCallbackHandler]:
        return before_request(self.handlers)

    def after(self, handlers: list[CostCallbackHandler], response: Any) -> None:
        if handlers:
            after_request(handlers, _usage_of(response), _client_of(self.owner))


class _CountedEmbeddings:
    """``client.embeddings`` of the openai SDK whose ``create`` is counted."""

    def __init__(self, inner: Any, counter: _Counter) -> None:
        self._inner = inner
        self._counter = counter

    def create(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request, then count its usage."""
        handlers = self._counter.before()
        response = self._inner.create(*args, **kwargs)
        self._counter.after(handlers, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _AsyncCountedEmbeddings(_CountedEmbeddings):
    async def create(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request, then count its usage."""
        handlers = self._counter.before()
        response = await self._inner.create(*args, **kwargs)
        self._counter.after(handlers, response)
        return response


def track(embeddings: E, handlers: Iterable[CostCallbackHandler] = ()) -> E:
    """Count every request of ``embeddings`` (stock langchain-openai class); returns it.

    Requests are counted in the ``get_cost_callback()`` blocks they run in, and always
    by ``handlers``. Tracking an instance twice counts each request once.
    """
    counter = _Counter(embeddings, tuple(handlers))
    for attr, wrapper in (
        ("client", _CountedEmbeddings),
        ("async_client", _AsyncCountedEmbeddings),
    ):
        inner = getattr(embeddings, attr, None)
        if isinstance(inner, _CountedEmbeddings):
            inner._counter = counter
        elif inner is not None:
            object.__setattr__(embeddings, attr, wrapper(inner, counter))
    return embeddings


class AzureOpenAIEmbeddings(_AzureOpenAIEmbeddings):
    """langchain-openai's AzureOpenAIEmbeddings; every request is counted by the cost callback."""

    model_version: str | None = None
    """Model version deployed (``1`` for text-embedding-3-small, ``2`` for ada-002)."""

    @model_validator(mode="after")
    def _count_requests(self) -> AzureOpenAIEmbeddings:
        return track(self)
