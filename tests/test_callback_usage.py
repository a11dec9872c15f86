"""read_usage: one typed Usage per prompt, for every shape LangChain clients report."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from azcost.callback import NO_USAGE, NO_USAGE_CHAT, NO_USAGE_LLM, Usage, read_usage

OPENAI_USAGE: dict[str, Any] = {
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 300, "audio_tokens": 0},
}


def _chat(
    usage: dict[str, Any] | None,
    meta: dict[str, Any] | None = None,
    llm_output: dict[str, Any] | None = None,
) -> LLMResult:
    message = AIMessage("ok", usage_metadata=usage, response_metadata=meta or {})
    return LLMResult(generations=[[ChatGeneration(message=message)]], llm_output=llm_output)


def _llm(llm_output: dict[str, Any] | None, prompts: int = 1) -> LLMResult:
    return LLMResult(generations=[[Generation(text="ok")]] * prompts, llm_output=llm_output)


def _tiered(tier: str) -> dict[str, Any]:
    """usage_metadata as langchain-openai builds it for a response on ``tier``."""
    return {
        "input_tokens": 1000,
        "output_tokens": 500,
        "total_tokens": 1500,
        "input_token_details": {"audio": 0, f"{tier}_cache_read": 400, tier: 600},
        "output_token_details": {"audio": 0, f"{tier}_reasoning": 300, tier: 200},
    }


CASES: dict[str, tuple[LLMResult, int, Usage]] = {
    "chat-completions invoke (langchain-openai)": (
        _chat(
            {
                "input_tokens": 1000,
                "output_tokens": 500,
                "total_tokens": 1500,
                "input_token_details": {"audio": 0, "cache_read": 400},
                "output_token_details": {"audio": 0, "reasoning": 300},
            },
            {"model_name": "o1-2024-12-17"},
            {"token_usage": OPENAI_USAGE, "model_name": "o1-2024-12-17"},
        ),
        1,
        Usage(True, 1000, 500, 300, {"cached_input_tokens": 400}, "o1-2024-12-17"),
    ),
    "audio tokens": (
        _chat(
            {
                "input_tokens": 1000,
                "output_tokens": 500,
                "total_tokens": 1500,
                "input_token_details": {"audio": 200},
                "output_token_details": {"audio": 50},
            },
            {"model_name": "gpt-4o-audio-preview-2024-12-17"},
        ),
        1,
        Usage(
            True,
            1000,
            500,
            0,
            {"audio_input_tokens": 200, "audio_output_tokens": 50},
            "gpt-4o-audio-preview-2024-12-17",
        ),
    ),
    "priority tier (langchain-openai prefixes the detail keys)": (
        _chat(_tiered("priority"), {"model_name": "gpt-4.1", "service_tier": "priority"}),
        1,
        Usage(True, 1000, 500, 300, {"cached_input_tokens": 400}, "gpt-4.1", "priority"),
    ),
    "flex tier, named only in llm_output": (
        _chat(_tiered("flex"), {"model_name": "o3"}, {"service_tier": "flex"}),
        1,
        Usage(True, 1000, 500, 300, {"cached_input_tokens": 400}, "o3", "flex"),
    ),
    "langchain-azure-ai: model under 'model', token_usage in LangChain's names": (
        _chat(
            None,
            {"model": "gpt-4o-2024-05-13"},
            {"model": "gpt-4o-2024-05-13", "token_usage": {"input_tokens": 31, "output_tokens": 8}},
        ),
        1,
        Usage(True, 31, 8, 0, {}, "gpt-4o-2024-05-13"),
    ),
    "langchain-azure-ai: model only in llm_output": (
        _chat(
            {"input_tokens": 31, "output_tokens": 8, "total_tokens": 39}, {}, {"model": "gpt-4o"}
        ),
        1,
        Usage(True, 31, 8, 0, {}, "gpt-4o"),
    ),
    "legacy completions (llm_output token_usage)": (
        _llm({"token_usage": OPENAI_USAGE, "model_name": "gpt-35-turbo-instruct"}),
        1,
        Usage(True, 1000, 500, 300, {"cached_input_tokens": 400}, "gpt-35-turbo-instruct"),
    ),
    "legacy completions streaming: empty token_usage is unknown, not zero": (
        _llm({"token_usage": {}, "model_name": "gpt-35-turbo-instruct"}),
        1,
        Usage(False, 0, 0, 0, {}, "gpt-35-turbo-instruct", None, NO_USAGE_LLM),
    ),
    "a later prompt of a batch shares the first prompt's figure": (
        _llm({"token_usage": {}, "model_name": "gpt-35-turbo-instruct"}),
        3,
        Usage(True, 0, 0, 0, {}, "gpt-35-turbo-instruct"),
    ),
    "chat stream without a usage chunk": (
        _chat(None, {"model_name": "gpt-35-turbo"}),
        1,
        Usage(False, 0, 0, 0, {}, "gpt-35-turbo", None, NO_USAGE_CHAT),
    ),
    "a hand-built result without generations": (
        LLMResult(generations=[], llm_output={"token_usage": OPENAI_USAGE, "model_name": "x"}),
        1,
        Usage(True, 1000, 500, 300, {"cached_input_tokens": 400}, "x"),
    ),
    "a hand-built result without generations or usage": (
        LLMResult(generations=[], llm_output=None),
        1,
        Usage(False, 0, 0, 0, {}, None, None, NO_USAGE),
    ),
}


@pytest.mark.parametrize(("result", "batch_size", "expected"), CASES.values(), ids=list(CASES))
def test_usage_is_read_from_each_client_shape(
    result: LLMResult, batch_size: int, expected: Usage
) -> None:
    assert read_usage(result, batch_size) == [expected]


def test_every_prompt_of_an_unflattened_result_is_read_once() -> None:
    result = LLMResult(
        generations=[[Generation(text="a")], [Generation(text="b")]],
        llm_output={"token_usage": OPENAI_USAGE, "model_name": "gpt-35-turbo-instruct"},
    )
    first, second = read_usage(result)
    assert (first.known, first.input_tokens) == (True, 1000)
    assert (second.known, second.input_tokens, second.output_tokens) == (True, 0, 0)


def test_image_tokens_are_read_into_the_image_kinds() -> None:
    usage: dict[str, Any] = {
        "prompt_tokens": 1200,
        "completion_tokens": 4200,
        "prompt_tokens_details": {"cached_tokens": 100, "image_tokens": 1000},
        "completion_tokens_details": {"image_tokens": 4160},
    }
    [read] = read_usage(_llm({"token_usage": usage, "model_name": "gpt-image-1"}))
    assert read.details == {
        "cached_input_tokens": 100,
        "image_input_tokens": 1000,
        "image_output_tokens": 4160,
    }
    assert read.part("cached_audio_input_tokens") == 0
