"""Reading a call's token usage: one function for every shape LangChain clients report.

Chat models put usage in ``AIMessage.usage_metadata`` (LangChain's names:
``input_tokens``, ``output_tokens``, ``input_token_details``,
``output_token_details``); completion LLMs and older clients put OpenAI's
``token_usage`` in ``llm_output``. :func:`read_usage` turns either into one
:class:`Usage` per prompt of the result, with the model name and service tier the
response reports:

- the model name from ``response_metadata`` then ``llm_output``, under ``model_name``
  (langchain-openai) or ``model`` (langchain-azure-ai);
- the token details into the kinds of :data:`azcost.pricing.KINDS` (cached, audio and
  image input, audio and image output) plus reasoning;
- the service tier from ``response_metadata``, ``llm_output``, then the generation's
  info; on the ``priority`` and ``flex`` tiers langchain-openai names the
  detail keys ``priority_cache_read``, ``flex_reasoning``, ... and those are read;
- a bare token count in place of ``token_usage`` (a total, no input/output split) is
  unknown usage too: input and output tokens are priced differently;
- an empty or missing usage is *unknown* usage, never zero tokens, except for the
  later prompts of a batch whose usage the first prompt carries (LangChain's
  ``LLMResult.flatten()`` gives them an empty ``token_usage``).

:func:`read_plain_usage` reads the usual chat call (one generation, text tokens only)
in fewer steps, and leaves every other result to :func:`read_usage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from langchain_core.outputs import LLMResult

from ..pricing._kinds import KIND_OF_TOKEN_FIELD
from ..pricing._tiers import TIER_NAMES

__all__ = [
    "NO_USAGE",
    "NO_USAGE_CHAT",
    "NO_USAGE_LLM",
    "NO_USAGE_TOTAL",
    "Usage",
    "read_plain_usage",
    "read_usage",
]

NO_USAGE_CHAT = "the chat model reported no token usage (a stream without a usage chunk?)"
"""Why a chat model's call has unknown usage."""
NO_USAGE_LLM = (
    "the completion model reported no token usage (legacy completions report none when "
    "streaming: streaming=True)"
)
"""Why a completion LLM's call has unknown usage."""
NO_USAGE_TOTAL = (
    "the client reported only a total of {!r} tokens, not its input and output tokens, "
    "which are priced differently (langchain-azure-ai's Foundry agent nodes report only the total)"
)
"""Why a call whose client reported a bare token count has unknown usage."""
NO_USAGE = "the result carries no token usage"
"""Why a result without generations has unknown usage."""

_EMPTY: Mapping[str, Any] = {}
_REASONING = "reasoning_tokens"

# Where each token kind of azcost.pricing.KINDS is reported: LangChain's usage_metadata
# detail keys (langchain-openai prefixes them with the tier on priority and flex), and
# OpenAI's token_usage detail keys. Values are token fields of the kinds table.
_METADATA_INPUT = {"cache_read": "cached_input_tokens", "audio": "audio_input_tokens"}
_METADATA_INPUT["image"] = "image_input_tokens"
_METADATA_OUTPUT = {"reasoning": _REASONING, "audio": "audio_output_tokens"}
_METADATA_OUTPUT["image"] = "image_output_tokens"
_OPENAI_INPUT = {
    "cached_tokens": "cached_input_tokens",
    "audio_tokens": "audio_input_tokens",
    "image_tokens": "image_input_tokens",
}
_OPENAI_OUTPUT = {
    "reasoning_tokens": _REASONING,
    "audio_tokens": "audio_output_tokens",
    "image_tokens": "image_output_tokens",
}
for _keys in (_METADATA_INPUT, _METADATA_OUTPUT):
    _keys.update({f"{t}_{k}": f for t in TIER_NAMES for k, f in list(_keys.items())})
for _field in {*_METADATA_INPUT.values(), *_METADATA_OUTPUT.values(), *_OPENAI_INPUT.values()}:
    if _field != _REASONING and _field not in KIND_OF_TOKEN_FIELD:  # pragma: no cover
        raise RuntimeError(f"{_field} is not a token kind of azcost.pricing.KINDS")


class Usage(NamedTuple):
    """The tokens of one prompt's answer as the client reported them, and what ran it."""

    known: bool
    """False when the call reported no usage: the counts below are then 0, not measured."""
    input_tokens: int
    """Input tokens, every kind included."""
    output_tokens: int
    """Output tokens, every kind (reasoning included)."""
    reasoning_tokens: int
    """Reasoning tokens (part of the output, billed as output)."""
    details: Mapping[str, int]
    """The parts billed at their own rate, by token field of a kind
    (``cached_input_tokens``, ``audio_output_tokens``, ...); only parts with tokens."""
    reported_model: str | None
    """Model name in the response, or None."""
    service_tier: str | None = None
    """Service tier the response names (``default``, ``priority``, ``flex``), or None."""
    missing: str | None = None
    """Why the usage is unknown, when it is."""

    def part(self, token_field: str) -> int:
        """Tokens of one kind (``cached_input_tokens``); 0 when none were reported."""
        return self.details.get(token_field, 0)


_new_usage = tuple.__new__  # a Usage without NamedTuple's Python-level __new__


def _read(
    found: Mapping[str, Any] | None, keys: Mapping[str, str], into: dict[str, int] | None
) -> dict[str, int] | None:
    """Add the non-zero detail counts of ``found`` to ``into`` (created on the first one)."""
    if found:
        for key, n in found.items():
            if n:
                field = keys.get(key)
                if field is not None:
                    if into is None:
                        into = {}
                    into[field] = into.get(field, 0) + n
    return into


def _usage(
    input_tokens: int,
    output_tokens: int,
    details: dict[str, int] | None,
    reported: str | None,
    tier: str | None,
) -> Usage:
    if details is None:  # the usual case: no part billed at its own rate, no reasoning
        return _new_usage(
            Usage, (True, input_tokens, output_tokens, 0, _EMPTY, reported, tier, None)
        )
    reasoning = details.pop(_REASONING, 0)
    return Usage(True, input_tokens, output_tokens, reasoning, details or _EMPTY, reported, tier)


def _from_metadata(usage: Mapping[str, Any], reported: str | None, tier: str | None) -> Usage:
    details = _read(usage.get("input_token_details"), _METADATA_INPUT, None)
    details = _read(usage.get("output_token_details"), _METADATA_OUTPUT, details)
    tokens_in = usage.get("input_tokens") or 0
    return _usage(tokens_in, usage.get("output_tokens") or 0, details, reported, tier)


def _from_token_usage(tu: Mapping[str, Any], reported: str | None, tier: str | None) -> Usage:
    if not isinstance(tu, Mapping):  # a bare count: langchain-azure-ai's Foundry agent nodes
        why = NO_USAGE_TOTAL.format(tu)
        return Usage(False, 0, 0, 0, _EMPTY, reported, tier, why)
    if "input_tokens" in tu:  # langchain-azure-ai's inference client: LangChain's names
        return _from_metadata(tu, reported, tier)
    details = _read(tu.get("prompt_tokens_details"), _OPENAI_INPUT, None)
    details = _read(tu.get("completion_tokens_details"), _OPENAI_OUTPUT, details)
    tokens_in = tu.get("prompt_tokens") or 0
    return _usage(tokens_in, tu.get("completion_tokens") or 0, details, reported, tier)


def _model_and_tier(
    meta: Mapping[str, Any], llm_output: Mapping[str, Any], gen: Any
) -> tuple[str | None, str | None]:
    """The model name and service tier a generation's response reports."""
    reported = (
        meta.get("model_name")
        or meta.get("model")
        or llm_output.get("model_name")
        or llm_output.get("model")
    )
    tier = meta.get("service_tier") or llm_output.get("service_tier")
    if tier is None and gen is not None and gen.generation_info:
        tier = gen.generation_info.get("service_tier")
    return reported, tier


def read_plain_usage(response: LLMResult) -> Usage | None:
    """The usage of a plain result, or None: then :func:`read_usage` reads it.

    A plain result is the usual chat call: one generation with ``usage_metadata`` that
    bills no part at its own rate (no cached, audio, image or reasoning tokens). For
    it, the answer is ``read_usage(response)[0]``, read with fewer steps.
    """
    try:
        (prompt,) = response.generations
        gen = prompt[0]
    except (ValueError, IndexError):  # not one prompt with a generation
        return None
    message = getattr(gen, "message", None)
    usage = getattr(message, "usage_metadata", None)
    if not usage:
        return None
    parts_in = usage.get("input_token_details")
    parts_out = usage.get("output_token_details")
    if (parts_in and any(parts_in.values())) or (parts_out and any(parts_out.values())):
        return None
    meta = message.response_metadata or _EMPTY  # type: ignore[union-attr]  # has usage
    llm_output = response.llm_output or _EMPTY
    # as _model_and_tier, inline: this runs once per call
    reported = (
        meta.get("model_name")
        or meta.get("model")
        or llm_output.get("model_name")
        or llm_output.get("model")
    )
    tier = meta.get("service_tier") or llm_output.get("service_tier")
    if tier is None and gen.generation_info:
        tier = gen.generation_info.get("service_tier")
    return _new_usage(
        Usage,
        (
            True,
            usage.get("input_tokens") or 0,
            usage.get("output_tokens") or 0,
            0,
            _EMPTY,
            reported,
            tier,
            None,
        ),
    )


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
        meta = getattr(message, "response_metadata", None) or _EMPTY
        reported, tier = _model_and_tier(meta, llm_output, gen)
        usage = getattr(message, "usage_metadata", None)
        if usage:
            out.append(_from_metadata(usage, reported, tier))
        elif shared and i == 0:
            out.append(_from_token_usage(shared, reported, tier))
        elif shares:  # a later prompt of one request: its usage is in the first prompt's
            out.append(Usage(True, 0, 0, 0, _EMPTY, reported, tier))
        else:
            why = NO_USAGE_CHAT if message is not None else NO_USAGE_LLM if gen else NO_USAGE
            out.append(Usage(False, 0, 0, 0, _EMPTY, reported, tier, why))
    return out
