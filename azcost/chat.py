"""``AzureChatOpenAI`` whose output always names the model version exactly once.

langchain-openai appends ``model_version`` to the response's model name only in
``invoke`` (and appends it again when Azure already answered with a versioned
name, ``gpt-4o-2024-08-06-2024-08-06``); streamed output carries the bare name.
This drop-in subclass fixes the name in ``response_metadata["model_name"]`` and
``llm_output["model_name"]`` for invoke, stream, batch and async alike, through
BaseChatModel's documented extension points only (``_generate``, ``_agenerate``,
``_stream``, ``_astream``). Needs the ``openai`` extra: ``pip install 'azcost[openai]'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from .pricing._resolve import join_version, undouble

try:
    from langchain_openai import AzureChatOpenAI as _AzureChatOpenAI
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("azcost.chat needs langchain-openai: pip install 'azcost[openai]'") from exc

__all__ = ["AzureChatOpenAI"]


class AzureChatOpenAI(_AzureChatOpenAI):
    """langchain-openai's AzureChatOpenAI; the model name in its output carries the version once."""

    def _versioned(self, name: Any) -> Any:
        version = self.model_version
        if not version or not isinstance(name, str) or not name:
            return name
        return join_version(undouble(name, version), version)

    def _fix_result(self, result: ChatResult) -> ChatResult:
        if result.llm_output and "model_name" in result.llm_output:
            result.llm_output["model_name"] = self._versioned(result.llm_output["model_name"])
        for gen in result.generations:
            meta = gen.message.response_metadata
            if "model_name" in meta:
                meta["model_name"] = self._versioned(meta["model_name"])
            if gen.generation_info and "model_name" in gen.generation_info:
                gen.generation_info["model_name"] = self._versioned(
                    gen.generation_info["model_name"]
                )
        return result

    def _fix_chunk(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        info = chunk.generation_info
        if info and info.get("model_name"):
            info["model_name"] = self._versioned(info["model_name"])
        meta = chunk.message.response_metadata
        if meta.get("model_name"):
            meta["model_name"] = self._versioned(meta["model_name"])
        return chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._fix_result(super()._generate(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._fix_result(await super()._agenerate(messages, stop, run_manager, **kwargs))

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in super()._stream(*args, **kwargs):
            yield self._fix_chunk(chunk)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(*args, **kwargs):
            yield self._fix_chunk(chunk)
