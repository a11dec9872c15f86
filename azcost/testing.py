"""Helpers for testing cost code offline: fake Azure chat and embeddings models, a ledger.

:class:`FakeAzureChatModel` answers like ``azcost.chat.AzureChatOpenAI`` talking to
Azure, with no network: the versioned model name exactly once in
``response_metadata["model_name"]`` and ``llm_output["model_name"]``, token usage in
``usage_metadata`` (cached and reasoning tokens included), and streaming whose
final chunk carries the usage. Token counts are set on the model, so a test knows
the exact cost to expect::

    llm = FakeAzureChatModel(deployment_name="prod-chat", model="gpt-35-turbo",
                             model_version="0301", input_tokens=31, output_tokens=8)
    with azcost.get_cost_callback() as cb:
        llm.invoke("hello")
    assert cb.total_cost == Decimal("0.000078")

:class:`FakeAzureEmbeddings` is counted like ``azcost.embeddings.AzureOpenAIEmbeddings``:
one request per ``chunk_size`` texts, one token per word.

:class:`MemoryLedger` takes the place of a database ledger in a test: the handler hands
it one :class:`~azcost.ledger.CallRecord` per call, kept in order in ``records``.

:func:`active_handlers` says which ``get_cost_callback()`` blocks are open in the
current context (empty once every block has exited, whatever raised inside).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel, ConfigDict, Field

from .callback._handler import CostCallbackHandler
from .callback._identity import Client
from .callback._scope import active_handlers as _active_handlers
from .callback._scope import after_request, before_request
from .callback._usage import Usage
from .ledger import CallRecord
from .pricing._resolve import join_version

__all__ = ["FakeAzureChatModel", "FakeAzureEmbeddings", "MemoryLedger", "active_handlers"]


def active_handlers() -> list[CostCallbackHandler]:
    """The handlers of the ``get_cost_callback()`` blocks active here, outermost first."""
    return list(_active_handlers())


class MemoryLedger:
    """A ledger that keeps every record in memory, for tests: pass it as ``ledger=``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self.flushes = 0
        """How many times :meth:`flush` was called (the handler flushes at the block's end)."""
        self.closed = False
        """True once :meth:`close` was called (the handler closes only ledgers it opened)."""

    @property
    def records(self) -> list[CallRecord]:
        """The records received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._records)

    def record(self, rec: CallRecord) -> None:
        """Keep one call's record (thread-safe, like the database ledger)."""
        with self._lock:
            self._records.append(rec)

    def flush(self, timeout: float | None = None) -> None:
        """Nothing to wait for: every record is kept as it arrives; counted in ``flushes``."""
        with self._lock:
            self.flushes += 1

    def close(self) -> None:
        """Mark the ledger closed; its records stay readable."""
        self.closed = True

    def clear(self) -> None:
        """Forget the records received so far."""
        with self._lock:
            self._records.clear()


class FakeAzureChatModel(BaseChatModel):
    """An offline chat model with Azure's output contract and configurable token counts."""

    model_config = ConfigDict(populate_by_name=True)

    deployment_name: str = "gpt-35-turbo"
    """Azure deployment name (arbitrary, like ``prod-chat``)."""
    model_name: str = Field(default="gpt-35-turbo", alias="model")
    """Name the service reports: Azure's base name or a versioned one (``gpt-4o-2024-08-06``)."""
    model_version: str = ""
    """Model version deployed; appended to the reported name unless it already ends with it."""
    response: str = "Hello! How can I help you today?"
    """Text of every answer."""
    input_tokens: int | None = Field(default=None, ge=0)
    """Prompt tokens reported; None counts about four characters of the prompt per token."""
    output_tokens: int | None = Field(default=None, ge=0)
    """Completion tokens reported (reasoning included); None counts the answer's words."""
    cached_tokens: int = Field(default=0, ge=0)
    """Prompt tokens reported as read from the cache."""
    reasoning_tokens: int = Field(default=0, ge=0)
    """Completion tokens reported as reasoning."""
    stream_usage: bool = True
    """Send a final usage chunk when streaming (Azure's ``stream_options.include_usage``)."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serializable, so callbacks see ``deployment_name`` and ``model_version`` at start."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Namespace in LangChain's serialized form."""
        return ["azcost", "testing"]

    @property
    def _llm_type(self) -> str:
        return "fake-azure-openai-chat"

    @property
    def versioned_name(self) -> str:
        """The model name answers carry: the reported name with the version exactly once."""
        return join_version(self.model_name, self.model_version or None)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "azure"
        params["ls_model_name"] = self.versioned_name
        return params

    # ------------------------------------------------------------------ usage

    def _usage(self, messages: list[BaseMessage]) -> UsageMetadata:
        if self.input_tokens is not None:
            prompt = self.input_tokens
        else:
            chars = sum(len(str(m.content)) for m in messages)
            prompt = max(1, (chars + 3) // 4) + 3 * len(messages)
        completion = (
            self.output_tokens if self.output_tokens is not None else len(self.response.split())
        )
        if self.cached_tokens > prompt or self.reasoning_tokens > completion:
            raise ValueError(
                f"cached ({self.cached_tokens}) or reasoning ({self.reasoning_tokens}) tokens "
                f"exceed input ({prompt}) or output ({completion}) tokens"
            )
        return {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
            "input_token_details": {"cache_read": self.cached_tokens},
            "output_token_details": {"reasoning": self.reasoning_tokens},
        }

    def _token_usage(self, usage: UsageMetadata) -> dict[str, Any]:
        return {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }

    # ------------------------------------------------------------------ generation

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        usage = self._usage(messages)
        name = self.versioned_name
        message = AIMessage(
            content=self.response,
            usage_metadata=usage,
            response_metadata={"model_name": name, "finish_reason": "stop"},
        )
        return ChatResult(
            generations=[
                ChatGeneration(message=message, generation_info={"finish_reason": "stop"})
            ],
            llm_output={"token_usage": self._token_usage(usage), "model_name": name},
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, None, **kwargs)

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        usage = self._usage(messages) if self.stream_usage else None
        words = self.response.split(" ")
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        yield ChatGenerationChunk(
            message=AIMessageChunk(content=""),
            generation_info={"finish_reason": "stop", "model_name": self.versioned_name},
        )
        if usage is not None:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


class FakeAzureEmbeddings(BaseModel, Embeddings):
    """Offline embeddings whose requests the cost callback counts like Azure's, a token a word."""

    deployment: str = "text-embedding-3-small"
    """Azure deployment name."""
    model: str = "text-embedding-3-small"
    """Model name the service reports."""
    model_version: str = ""
    """Model version deployed (``1``); empty leaves it to the deployments map or the table."""
    chunk_size: int = Field(default=2048, gt=0)
    """Texts per request, as langchain-openai's ``chunk_size``."""
    dimensions: int = Field(default=8, gt=0)
    """Length of every vector."""

    def _request(self, texts: list[str]) -> list[list[float]]:
        handlers = before_request()
        vectors = [
            [float((len(text) + i) % 7) / 7 for i in range(self.dimensions)] for text in texts
        ]
        tokens = sum(len(text.split()) for text in texts)
        client = Client(self.deployment, self.model_version or None, None, self.model)
        after_request(handlers, Usage(True, tokens, 0, 0, {}, self.model), client)
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, one counted request per ``chunk_size`` texts."""
        out: list[list[float]] = []
        for i in range(0, len(texts), self.chunk_size):
            out.extend(self._request(texts[i : i + self.chunk_size]))
        return out

    def embed_query(self, text: str) -> list[float]:
        """One vector, one counted request."""
        return self._request([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """As :meth:`embed_documents`, in the caller's context."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """As :meth:`embed_query`, in the caller's context."""
        return self.embed_query(text)
