"""Reading a call's token usage: one function for every shape LangChain clients report.

Chat models put usage in ``AIMessage.usage_metadata`` (LangChain's names:
``input_tokens``, ``output_tokens``, ``input_token_details``,
``output_token_details``); completion LLMs and older clients put OpenAI's
``token_usage`` in ``llm_output``. :func:`read_usage` turns either into one
:class:`Usage` per prompt of the result, with the model name and service tier the
response reports:

- the model name from ``response_metadata`` then ``llm_output``, under ``model_name``
  (langchain-openai) or ``model`` (langchain-azure-ai);
- the service tier from ``response_metadata``, the generation's info, then
  ``llm_output``; on the ``priority`` and ``flex`` tiers langchain-openai names the
  detail keys ``priority_cache_read``, ``flex_reasoning``, ... and those are read;
- an empty or missing usage is *unknown* usage, never zero tokens, except for the
  later prompts of a batch whose usage the first prompt carries (LangChain's
  ``LLMResult.flatten()`` gives them an empty ``token_usage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from langchain_core.outputs import LLMResult

__all__ = ["NO_USAGE_CHAT", "NO_USAGE_LLM", "Usage", "read_usage"]

NO_USAGE_CHAT = "the chat model reported no token usage (a stream without a usage chunk?)"
"""Why a chat model's call has unknown usage."""
NO_USAGE_LLM = (
    "the completion model reported no token usage (legacy completions report none when "
    "streaming: streaming=True)"
)
"""Why a completion LLM's call has unknown usage."""

NO_USAGE = "the result carries no token usage"
"""Why a result without generations has unknown usage."""

_EMPTY: Mapping[str, Any] = {}
_TIERED = frozenset({"priority", "flex"})  # tiers langchain-openai prefixes detail keys with


class Usage(NamedTuple):
    """The tokens of one prompt's answer as the client reported them, and what ran it."""

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
    """Model name in the response, or None."""
    service_tier: str | None = None
    """Service tier the response names (``default``, ``priority``, ``flex``), or None."""
    missing: str | None = None
    """Why the usage is unknown, when it is."""


def _from_metadata(usage: Mapping[str, Any], reported: str | None, tier: str | None) -> Usage:
    cached = audio_in = reasoning = audio_out = 0
    details = usage.get("input_token_details")
    if details:
        cached = details.get(f"{tier}_cache_read" if tier in _TIERED else "cache_read") or 0
        audio_in = details.get("audio") or 0
    details = usage.get("output_token_details")
    if details:
        reasoning = details.get(f"{tier}_reasoning" if tier in _TIERED else "reasoning") or 0
        audio_out = details.get("audio") or 0
    return Usage(
        True,
        usage.get("input_tokens") or 0,
        cached,
        usage.get("output_tokens") or 0,
        reasoning,
        audio_in,
        audio_out,
        reported,
        tier,
    )


def _from_token_usage(tu: Mapping[str, Any], reported: str | None, tier: str | None) -> Usage:
    if "input_tokens" in tu:  # langchain-azure-ai's inference client: LangChain's names
        return _from_metadata(tu, reported, tier)
    return Usage(
        True,
        tu.get("prompt_tokens") or 0,
        (tu.get("prompt_tokens_details") or _EMPTY).get("cached_tokens") or 0,
        tu.get("completion_tokens") or 0,
        (tu.get("completion_tokens_details") or _EMPTY).get("reasoning_tokens") or 0,
        (tu.get("prompt_tokens_details") or _EMPTY).get("audio_tokens") or 0,
        (tu.get("completion_tokens_details") or _EMPTY).get("audio_tokens") or 0,
        reported,
        tier,
    )


def _named(meta: Mapping[str, Any] | None, key: str) -> Any:
    if not meta:
        return None
    if key == "model":
        return meta.get("model_name") or meta.get("model")
    return meta.get(key)


def read_usage(response: LLMResult, batch_size: int = 1) -> list[Usage]:
    """The usage of every prompt of ``response`` (one prompt of ``batch_size``), in order."""
    llm_output = response.llm_output or _EMPTY
    shared = llm_output.get("token_usage")
    # a later prompt of a batch after flatten() has an empty token_usage: its tokens
    # are in the first prompt's figure
    shares = bool(shared) or (shared is not None and batch_size > 1)
    out: list[Usage] = []
    # a result without generations (built by hand) is one request, as LangChain's
    # OpenAICallbackHandler counts it
    for i, generations in enumerate(response.generations or ([],)):
        gen = generations[0] if generations else None
        message = getattr(gen, "message", None)
        meta = getattr(message, "response_metadata", None)
        reported = _named(meta, "model") or _named(llm_output, "model")
        tier = (
            _named(meta, "service_tier")
            or _named(getattr(gen, "generation_info", None), "service_tier")
            or llm_output.get("service_tier")
        )
        usage = getattr(message, "usage_metadata", None)
        if usage:
            out.append(_from_metadata(usage, reported, tier))
        elif shared and i == 0:
            out.append(_from_token_usage(shared, reported, tier))
        elif shares:  # a later prompt of one request: its usage is in the first prompt's
            out.append(Usage(True, 0, 0, 0, 0, 0, 0, reported, tier))
        else:
            why = NO_USAGE_CHAT if message is not None else NO_USAGE_LLM if gen else NO_USAGE
            out.append(Usage(False, 0, 0, 0, 0, 0, 0, reported, tier, why))
    return out
