"""Reading a call's token usage: one function for every shape LangChain clients report.

Chat models put usage in ``AIMessage.usage_metadata`` (LangChain's names:
``input_tokens``, ``output_tokens``, ``input_token_details``,
``output_token_details``); completion LLMs and older clients put OpenAI's
``token_usage`` in ``llm_output``. :func:`read_usage` turns either into one
:class:`Usage` per prompt of the result, with the model name the response reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from langchain_core.outputs import LLMResult

__all__ = ["Usage", "read_usage"]


class Usage(NamedTuple):
    """The tokens of one prompt's answer as the client reported them, and the model it names."""

    known: bool
    """False when the call reported no usage: the counts below are then 0, not measured."""
    input_tokens: int
    """Input tokens, cached and audio included."""
    cached_input_tokens: int
    """Input tokens read from the cache."""
    output_tokens: int
    """Output tokens, reasoning and audio included."""
    reasoning_tokens: int
    """Reasoning tokens."""
    audio_input_tokens: int
    """Audio input tokens."""
    audio_output_tokens: int
    """Audio output tokens."""
    reported_model: str | None
    """Model name in the response (``response_metadata``, else ``llm_output``), or None."""


def _from_metadata(usage: Mapping[str, Any], reported: str | None) -> Usage:
    cached = audio_in = reasoning = audio_out = 0
    details = usage.get("input_token_details")
    if details:
        cached = details.get("cache_read") or 0
        audio_in = details.get("audio") or 0
    details = usage.get("output_token_details")
    if details:
        reasoning = details.get("reasoning") or 0
        audio_out = details.get("audio") or 0
    return Usage(
        True,
        usage.get("input_tokens", 0),
        cached,
        usage.get("output_tokens", 0),
        reasoning,
        audio_in,
        audio_out,
        reported,
    )


def _from_token_usage(tu: Mapping[str, Any], reported: str | None) -> Usage:
    return Usage(
        True,
        tu.get("prompt_tokens") or 0,
        (tu.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
        tu.get("completion_tokens") or 0,
        (tu.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0,
        0,
        0,
        reported,
    )


def read_usage(response: LLMResult) -> list[Usage]:
    """The usage of every prompt of ``response``, in order."""
    llm_output = response.llm_output
    out: list[Usage] = []
    for i, generations in enumerate(response.generations):
        gen = generations[0] if generations else None
        message = getattr(gen, "message", None)
        reported = None
        meta = getattr(message, "response_metadata", None)
        if meta:
            reported = meta.get("model_name")
        if not reported and llm_output:
            reported = llm_output.get("model_name")
        usage = getattr(message, "usage_metadata", None)
        if usage:
            out.append(_from_metadata(usage, reported))
        elif llm_output and i == 0 and "token_usage" in llm_output:
            # LLMResult.flatten() leaves later prompts of one request an empty
            # token_usage: their usage was reported with the first prompt.
            out.append(_from_token_usage(llm_output["token_usage"] or {}, reported))
        else:
            out.append(Usage(False, 0, 0, 0, 0, 0, 0, reported))
    return out
