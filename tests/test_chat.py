"""azcost.chat.AzureChatOpenAI: the version exactly once in the output, in every mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from azure_server import AzureServer, DeploymentSpec
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_openai import AzureChatOpenAI as UpstreamAzureChatOpenAI

from azcost.chat import AzureChatOpenAI


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            "base": DeploymentSpec("gpt-35-turbo"),
            "versioned": DeploymentSpec("gpt-4o-2024-08-06"),
        }
    ).start()
    yield srv
    srv.stop()


class Ends(BaseCallbackHandler):
    """Keeps every LLMResult handed to on_llm_end."""

    def __init__(self) -> None:
        self.results: list[LLMResult] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def make(server: AzureServer, deployment: str, version: str) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_deployment=deployment,
        api_version="2024-10-21",
        model_version=version,
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
    )


def run(llm: AzureChatOpenAI, mode: str, ends: Ends) -> BaseMessage:
    config: Any = {"callbacks": [ends]}
    if mode == "invoke":
        return llm.invoke("hi", config=config)
    if mode == "batch":
        return llm.batch(["hi"], config=config)[0]
    if mode == "stream":
        chunks = list(llm.stream("hi", config=config))
    elif mode == "ainvoke":
        return asyncio.run(llm.ainvoke("hi", config=config))
    else:

        async def collect() -> list[Any]:
            return [c async for c in llm.astream("hi", config=config)]

        chunks = asyncio.run(collect())
    out = chunks[0]
    for c in chunks[1:]:
        out = out + c
    return out


CASES = [
    ("base", "0301", "gpt-35-turbo-0301"),
    ("versioned", "2024-08-06", "gpt-4o-2024-08-06"),
    ("base", "", "gpt-35-turbo"),
]


@pytest.mark.parametrize("mode", ["invoke", "stream", "batch", "ainvoke", "astream"])
@pytest.mark.parametrize(
    ("deployment", "version", "expected"), CASES, ids=["append", "already", "none"]
)
def test_output_names_the_version_exactly_once(
    server: AzureServer, mode: str, deployment: str, version: str, expected: str
) -> None:
    ends = Ends()
    message = run(make(server, deployment, version), mode, ends)
    assert message.response_metadata["model_name"] == expected
    [result] = ends.results
    generation = result.generations[0][0]
    assert isinstance(generation, ChatGeneration)
    assert generation.message.response_metadata["model_name"] == expected
    if result.llm_output is not None:  # streaming hands callbacks no llm_output
        assert result.llm_output["model_name"] == expected


# langchain-openai sums the usage of a batch's prompts field by field and warns on the
# fields the openai SDK leaves None (image_tokens, text_tokens, ...): upstream behaviour,
# the same with Azure itself; what this test checks is the model name.
@pytest.mark.filterwarnings("ignore:Unexpected type for token usage:UserWarning")
def test_each_prompt_of_generate_reports_the_version_once(server: AzureServer) -> None:
    ends = Ends()
    prompts: list[list[BaseMessage]] = [[HumanMessage("hi")], [HumanMessage("ho")]]
    make(server, "versioned", "2024-08-06").generate(prompts, callbacks=[ends])
    names = [r.llm_output["model_name"] for r in ends.results if r.llm_output]
    assert names == ["gpt-4o-2024-08-06"] * 2


def test_upstream_client_still_doubles_the_version(server: AzureServer) -> None:
    upstream = UpstreamAzureChatOpenAI(
        azure_deployment="versioned",
        api_version="2024-10-21",
        model_version="2024-08-06",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
    )
    # the behaviour azcost.chat fixes: if this starts failing, upstream fixed it too
    assert upstream.invoke("hi").response_metadata["model_name"] == "gpt-4o-2024-08-06-2024-08-06"


def test_is_a_drop_in_subclass() -> None:
    assert issubclass(AzureChatOpenAI, UpstreamAzureChatOpenAI)
    overridden = {
        name
        for name in vars(AzureChatOpenAI)
        if not name.startswith("__") and callable(vars(AzureChatOpenAI)[name])
    }
    assert overridden - {"_versioned", "_fix_result", "_fix_chunk"} == {
        "_generate",
        "_agenerate",
        "_stream",
        "_astream",
    }
