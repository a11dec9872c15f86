"""azcost.testing.FakeAzureChatModel: Azure's output contract, offline."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import LLMResult

from azcost import get_cost_callback
from azcost.testing import FakeAzureChatModel, active_handlers


class Ends(BaseCallbackHandler):
    """Keeps every LLMResult and start kwargs."""

    def __init__(self) -> None:
        self.results: list[LLMResult] = []
        self.serialized: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kw: Any) -> None:
        self.serialized.append(serialized)
        self.metadata.append(kw.get("metadata") or {})

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def _stream(llm: FakeAzureChatModel, config: Any) -> Any:
    chunks = list(llm.stream("hi", config=config))
    out = chunks[0]
    for c in chunks[1:]:
        out = out + c
    return out


def _astream(llm: FakeAzureChatModel, config: Any) -> Any:
    async def go() -> Any:
        out = None
        async for c in llm.astream("hi", config=config):
            out = c if out is None else out + c
        return out

    return asyncio.run(go())


MODES = {
    "invoke": lambda llm, config: llm.invoke("hi", config=config),
    "batch": lambda llm, config: llm.batch(["hi"], config=config)[0],
    "ainvoke": lambda llm, config: asyncio.run(llm.ainvoke("hi", config=config)),
    "stream": _stream,
    "astream": _astream,
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(
    ("model", "version", "expected"),
    [
        ("gpt-35-turbo", "0301", "gpt-35-turbo-0301"),
        ("gpt-4o-2024-08-06", "2024-08-06", "gpt-4o-2024-08-06"),
        ("gpt-4o", "", "gpt-4o"),
    ],
    ids=["append", "already", "none"],
)
def test_output_carries_the_version_once_and_the_usage(
    mode: str, model: str, version: str, expected: str
) -> None:
    llm = FakeAzureChatModel(
        model=model, model_version=version, input_tokens=31, output_tokens=8, cached_tokens=5
    )
    ends = Ends()
    message = MODES[mode](llm, {"callbacks": [ends]})
    assert message.response_metadata["model_name"] == expected
    assert message.usage_metadata["input_tokens"] == 31
    assert message.usage_metadata["output_tokens"] == 8
    assert message.usage_metadata["input_token_details"]["cache_read"] == 5
    [result] = ends.results
    if result.llm_output is not None:
        assert result.llm_output["model_name"] == expected
        assert result.llm_output["token_usage"]["prompt_tokens"] == 31


def test_callbacks_see_deployment_and_version_at_start() -> None:
    ends = Ends()
    llm = FakeAzureChatModel(deployment_name="prod-chat", model_version="0301")
    llm.invoke("hi", config={"callbacks": [ends]})
    kwargs = ends.serialized[0]["kwargs"]
    assert (kwargs["deployment_name"], kwargs["model_version"]) == ("prod-chat", "0301")
    assert ends.metadata[0]["ls_provider"] == "azure"
    assert ends.metadata[0]["ls_model_name"] == "gpt-35-turbo-0301"


def test_stream_ends_with_a_usage_chunk() -> None:
    chunks = list(FakeAzureChatModel(input_tokens=3, output_tokens=2).stream("hi"))
    with_usage = [
        i for i, c in enumerate(chunks) if isinstance(c, AIMessageChunk) and c.usage_metadata
    ]
    assert len(with_usage) == 1
    assert all(not c.content for c in chunks[with_usage[0] :])  # after the text, like Azure


def test_stream_without_usage_reports_none() -> None:
    chunks = list(FakeAzureChatModel(stream_usage=False).stream("hi"))
    assert all(not c.usage_metadata for c in chunks)


def test_token_counts_default_to_an_estimate_of_the_text() -> None:
    llm = FakeAzureChatModel(response="one two three")
    short = llm.invoke("hi").usage_metadata
    long = llm.invoke("hi " * 100).usage_metadata
    assert short is not None
    assert long is not None
    assert short["output_tokens"] == 3
    assert long["input_tokens"] > short["input_tokens"] > 0


def test_cached_tokens_beyond_the_prompt_are_refused() -> None:
    with pytest.raises(ValueError, match="exceed"):
        FakeAzureChatModel(input_tokens=3, cached_tokens=4).invoke("hi")


def test_active_handlers_are_the_open_blocks_outermost_first_and_none_after() -> None:
    assert active_handlers() == []
    with get_cost_callback() as outer:
        with get_cost_callback() as inner:
            assert active_handlers() == [outer, inner]
        assert active_handlers() == [outer]
    assert active_handlers() == []


BLOCK_OPENAI = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("langchain_openai", "openai", "langchain_community"):
            raise ImportError(f"{name} is blocked: base dependencies only")
sys.meta_path.insert(0, Block())
from azcost.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_demo_runs_on_base_dependencies_and_prices_per_version(fmt: str) -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_OPENAI, "demo", "--format", fmt],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    if fmt == "text":
        assert "gpt-35-turbo 0301, stream" in proc.stdout
        assert "unpriced" in proc.stdout
        return
    data = json.loads(proc.stdout)
    example = [c for c in data["calls"] if c["call"].startswith("gpt-35-turbo 0301")]
    assert [c["mode"] for c in example] == ["invoke", "stream", "batch", "ainvoke"]
    assert {c["cost"] for c in example} == {"0.000078"}
    assert data["by_model"]["gpt-4o-2024-08-06"]["cached_tokens"] == 400
    assert data["unpriced_requests"] == 1
