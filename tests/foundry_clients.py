"""langchain-azure-ai's Foundry clients built for the local Azure server, and ways to call them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure_server import AzureServer
from langchain_azure_ai.chat_models import AzureAIOpenAIApiChatModel
from langchain_azure_ai.chat_models.inference import AzureAIChatCompletionsModel

from azcost import CachedTokensUnknownWarning

MESSAGES = [("system", "You are helpful."), ("human", "Hello!")]
DEPRECATED = "AzureAIChatCompletionsModel requires Azure AI Inference beta SDK"


class EntraCredential:
    """A TokenCredential handing out a fixed Entra token; remembers the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("entra-token", int(time.time()) + 3600)


def inference(server: AzureServer, deployment: str, **kw: Any) -> AzureAIChatCompletionsModel:
    with pytest.warns(DeprecationWarning, match=DEPRECATED):  # the class is deprecated
        return AzureAIChatCompletionsModel(
            endpoint=f"{server.endpoint}/models", credential="test", model=deployment, **kw
        )


def responses(server: AzureServer, deployment: str) -> AzureAIOpenAIApiChatModel:
    return AzureAIOpenAIApiChatModel(
        endpoint=f"{server.endpoint}/openai/v1",
        credential="test",
        api_version="preview",
        model=deployment,
        max_retries=0,
    )


def project(
    server: AzureServer, deployment: str, credential: EntraCredential | None = None
) -> AzureAIOpenAIApiChatModel:
    return AzureAIOpenAIApiChatModel(
        project_endpoint=f"{server.endpoint}/api/projects/proj",
        credential=credential or EntraCredential(),
        model=deployment,
        max_retries=0,
    )


CLIENTS: dict[str, Callable[[AzureServer, str], Any]] = {
    "AzureAIChatCompletionsModel": inference,
    "AzureAIOpenAIApiChatModel Responses (/openai/v1)": responses,
    "AzureAIOpenAIApiChatModel Responses (project endpoint)": project,
}
RESPONSES = {k: v for k, v in CLIENTS.items() if v is not inference}


def only_the_dropped_cache(make: Callable[[AzureServer, str], Any]) -> list[type[Warning]]:
    """The warnings an exact block of this client says: the inference client's dropped cache."""
    return [CachedTokensUnknownWarning] if make is inference else []


def dropped_cache_said(make: Callable[[AzureServer, str], Any]) -> Any:
    """Expects the block's CachedTokensUnknownWarning of the inference client, else nothing."""
    if make is inference:
        return pytest.warns(CachedTokensUnknownWarning)
    return contextlib.nullcontext()


async def closed(llm: Any, work: Any) -> None:
    try:
        await work
    finally:
        aclose = getattr(llm, "aclose", None)  # the inference client's aiohttp session
        if aclose is not None:
            await aclose()


def invoke_(llm: Any) -> None:
    llm.invoke(MESSAGES)


def stream_(llm: Any) -> None:
    for _ in llm.stream(MESSAGES):
        pass


def ainvoke_(llm: Any) -> None:
    asyncio.run(closed(llm, llm.ainvoke(MESSAGES)))


def astream_(llm: Any) -> None:
    async def go() -> None:
        async for _ in llm.astream(MESSAGES):
            pass

    asyncio.run(closed(llm, go()))


MODES: dict[str, Callable[[Any], None]] = {
    "invoke": invoke_,
    "stream": stream_,
    "ainvoke": ainvoke_,
    "astream": astream_,
}
UNARY = ("invoke", "ainvoke")  # the inference client reports no usage when streaming
