"""langchain-azure-ai's Foundry clients over HTTP to the local Azure server.

``AzureAIChatCompletionsModel`` talks azure-ai-inference's model inference API
(``.../models/chat/completions``); ``AzureAIOpenAIApiChatModel`` talks the Responses API at a
resource's ``/openai/v1`` and at a Foundry project endpoint (``AIProjectClient``'s OpenAI
client, Entra token). Each is priced exactly per model version, or listed with a reason that
fits it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain_azure_ai")
pytest.importorskip("azure.ai.inference")

from azure_server import AzureServer, DeploymentSpec, Wire
from foundry_clients import (
    CLIENTS,
    MESSAGES,
    MODES,
    RESPONSES,
    UNARY,
    EntraCredential,
    dropped_cache_said,
    inference,
    only_the_dropped_cache,
    project,
    responses,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost
from azcost import (
    AssumedVersionWarning,
    CachedTokensUnknownWarning,
    CostCallbackHandler,
    get_cost_callback,
)
from azcost.errors import UnpricedCallWarning

PROD = {"prod-4o": {"model": "gpt-4o", "model_version": "2024-05-13"}}


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            # names no version: only the deployments map says which one runs
            "prod-4o": DeploymentSpec("gpt-4o", 1000, 100),
            "dated-4o": DeploymentSpec("gpt-4o-2024-05-13", 1000, 100),
            "cached-4o": DeploymentSpec("gpt-4o-2024-08-06", 1000, 100, cached_tokens=400),
            "mystery": DeploymentSpec("gpt-9-2030-01-01", 31, 8),
        }
    ).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def table() -> azcost.PricingTable:
    return azcost.load_pricing()


def _cases() -> list[Any]:
    return [
        pytest.param(make, mode, id=f"{name}-{mode}")
        for name, make in CLIENTS.items()
        for mode in MODES
        if make is not inference or mode in UNARY
    ]


@pytest.mark.parametrize(("make", "mode"), _cases())
def test_a_foundry_deployment_is_priced_by_the_deployments_map(
    server: AzureServer,
    table: azcost.PricingTable,
    make: Callable[[AzureServer, str], Any],
    mode: str,
) -> None:
    llm = make(server, "prod-4o")
    with (
        warnings.catch_warnings(record=True) as said,
        get_cost_callback(table, deployments=PROD) as cb,
    ):
        warnings.simplefilter("always")
        MODES[mode](llm)
    assert [w.category for w in said] == only_the_dropped_cache(make)  # nothing assumed or unpriced
    expected = table.cost("gpt-4o-2024-05-13", input_tokens=1000, output_tokens=100).total
    assert expected != table.cost("gpt-4o", input_tokens=1000, output_tokens=100).total
    assert cb.total_cost == expected
    assert list(cb.by_model) == ["gpt-4o-2024-05-13"]
    assert (cb.prompt_tokens, cb.completion_tokens, cb.successful_requests) == (1000, 100, 1)
    assert server.requests[-1] == ("prod-4o", server.requests[-1][1])


@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_without_the_map_a_bare_reported_name_is_an_assumed_version(
    server: AzureServer, table: azcost.PricingTable, make: Callable[[AzureServer, str], Any]
) -> None:
    llm = make(server, "prod-4o")
    with (
        pytest.warns(AssumedVersionWarning, match="pin the version in the deployments map") as w,
        get_cost_callback(table) as cb,
        dropped_cache_said(make),
    ):
        MODES["invoke"](llm)
    assumed = table.resolve("gpt-4o").model
    assert (list(cb.by_model), cb.assumed_requests) == ([assumed], 1)
    assert "model_version= on the client" not in str(w[0].message)  # these clients have none


class Results(BaseCallbackHandler):
    """Keeps the result of every model call as the callbacks receive it."""

    def __init__(self) -> None:
        self.results: list[LLMResult] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def _message(result: LLMResult) -> BaseMessage:
    gen = result.generations[0][0]
    assert isinstance(gen, ChatGeneration)
    return gen.message


@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_the_version_the_response_names_under_model_is_priced(
    server: AzureServer, table: azcost.PricingTable, make: Callable[[AzureServer, str], Any]
) -> None:
    seen, llm = Results(), make(server, "dated-4o")
    with warnings.catch_warnings(record=True) as said, get_cost_callback(table) as cb:
        warnings.simplefilter("always")
        llm.invoke(MESSAGES, config={"callbacks": [seen]})
    assert [w.category for w in said] == only_the_dropped_cache(make)  # no version assumed
    expected = table.cost("gpt-4o-2024-05-13", input_tokens=1000, output_tokens=100).total
    assert (cb.total_cost, list(cb.by_model)) == (expected, ["gpt-4o-2024-05-13"])
    [result] = seen.results
    message = _message(result)
    assert message.response_metadata["model"] == "gpt-4o-2024-05-13"


def test_the_inference_clients_llm_output_model_is_read_on_its_own(
    server: AzureServer, table: azcost.PricingTable
) -> None:
    seen = Results()
    inference(server, "dated-4o").invoke(MESSAGES, config={"callbacks": [seen]})
    [result] = seen.results
    assert result.llm_output is not None
    assert result.llm_output["model"] == "gpt-4o-2024-05-13"  # langchain-azure-ai's key
    message = _message(result)
    message.response_metadata.clear()  # the llm_output alone names the model now
    handler = CostCallbackHandler(table)
    handler.on_llm_end(result)
    expected = table.cost("gpt-4o-2024-05-13", input_tokens=1000, output_tokens=100).total
    assert (handler.total_cost, list(handler.by_model)) == (expected, ["gpt-4o-2024-05-13"])


@pytest.mark.parametrize("make", RESPONSES.values(), ids=list(RESPONSES))
@pytest.mark.parametrize("mode", list(MODES))
def test_responses_api_cached_tokens_are_priced_at_the_cached_rate(
    server: AzureServer,
    table: azcost.PricingTable,
    make: Callable[[AzureServer, str], Any],
    mode: str,
) -> None:
    with get_cost_callback(table) as cb:
        MODES[mode](make(server, "cached-4o"))
    expected = table.cost(
        "gpt-4o-2024-08-06", input_tokens=1000, output_tokens=100, cached_input_tokens=400
    ).total
    assert expected == Decimal("0.003")  # 600 x 2.50 + 400 x 1.25 + 100 x 10.00 per 1M
    assert (cb.total_cost, cb.prompt_tokens_cached) == (expected, 400)


@pytest.mark.parametrize("mode", UNARY)
def test_the_inference_client_drops_cached_tokens_and_the_block_says_so_once(
    server: AzureServer, table: azcost.PricingTable, mode: str
) -> None:
    calls = [inference(server, "cached-4o") for _ in range(2)]
    with warnings.catch_warnings(record=True) as w, get_cost_callback(table) as cb:
        warnings.simplefilter("always")
        for llm in calls:
            MODES[mode](llm)
    [warning] = w
    assert warning.category is CachedTokensUnknownWarning
    assert "all input at the full input rate" in str(warning.message)
    # the server reported 400 cached tokens; langchain-azure-ai's usage leaves them out
    uncached = table.cost("gpt-4o-2024-08-06", input_tokens=1000, output_tokens=100).total
    assert (cb.total_cost, cb.prompt_tokens_cached) == (2 * uncached, 0)
    assert server.requests[-1][0] == "cached-4o"


def test_other_clients_raise_no_cached_tokens_warning(
    server: AzureServer, table: azcost.PricingTable
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with get_cost_callback(table) as cb:
            MODES["invoke"](responses(server, "cached-4o"))
    assert cb.prompt_tokens_cached == 400


@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_a_model_the_table_does_not_know_is_unpriced_with_a_reason_fit_for_the_client(
    server: AzureServer, table: azcost.PricingTable, make: Callable[[AzureServer, str], Any]
) -> None:
    llm = make(server, "mystery")
    with (
        pytest.warns(UnpricedCallWarning, match="unknown model 'gpt-9-2030-01-01'"),
        get_cost_callback(table) as cb,
        dropped_cache_said(make),
    ):
        MODES["invoke"](llm)
    assert (cb.total_cost, cb.successful_requests, cb.by_model) == (Decimal(0), 1, {})
    [unpriced] = cb.unpriced_requests
    assert (unpriced.usage_known, unpriced.prompt_tokens, unpriced.completion_tokens) == (
        True,
        31,
        8,
    )
    for option in ("model_version", "stream_usage", "streaming"):  # none of them is the cause
        assert option not in unpriced.reason


INFERENCE_STREAMS = {
    "stream": {},
    "astream": {},
    # Azure sends the usage chunk when asked, with empty choices: the client drops it too
    "stream, stream_options passed through": {
        "model_kwargs": {"stream_options": {"include_usage": True}}
    },
}


@pytest.mark.parametrize("how", list(INFERENCE_STREAMS))
def test_an_inference_stream_is_unknown_usage_with_the_clients_own_reason(
    server: AzureServer, table: azcost.PricingTable, how: str
) -> None:
    llm = inference(server, "dated-4o", **INFERENCE_STREAMS[how])
    with (
        pytest.warns(UnpricedCallWarning, match="AzureAIChatCompletionsModel reports no token"),
        get_cost_callback(table) as cb,
    ):
        MODES["astream" if how == "astream" else "stream"](llm)
    assert (cb.total_cost, cb.successful_requests, cb.by_model) == (Decimal(0), 1, {})
    [unpriced] = cb.unpriced_requests
    assert unpriced.usage_known is False
    assert unpriced.reason.startswith("langchain-azure-ai's AzureAIChatCompletionsModel")
    assert "stream_usage" not in unpriced.reason  # an option this client does not have
    if INFERENCE_STREAMS[how]:
        assert server.wire[-1].headers["extra-parameters"] == "pass-through"
        assert server.requests[-1][1]["stream_options"] == {"include_usage": True}


def test_each_client_speaks_its_own_wire_format(server: AzureServer) -> None:
    def last(work: Callable[[], Any]) -> tuple[Wire, dict[str, Any]]:
        work()
        return server.wire[-1], server.requests[-1][1]

    wire, body = last(lambda: MODES["invoke"](inference(server, "dated-4o")))
    assert (wire.path, wire.query) == (
        "/models/chat/completions",
        {"api-version": "2024-05-01-preview"},
    )
    assert (wire.headers["api-key"], wire.headers["authorization"]) == ("test", "Bearer test")
    assert (body["model"], body["messages"][-1]) == (
        "dated-4o",
        {"role": "user", "content": "Hello!"},
    )

    wire, body = last(lambda: MODES["invoke"](responses(server, "dated-4o")))
    assert (wire.path, wire.query) == ("/openai/v1/responses", {"api-version": "preview"})
    assert wire.headers["authorization"] == "Bearer test"
    assert body["model"] == "dated-4o"
    assert {"type": "message", "role": "user", "content": "Hello!"} in body["input"]

    credential = EntraCredential()
    wire, body = last(lambda: MODES["invoke"](project(server, "dated-4o", credential)))
    assert (wire.path, wire.query) == ("/api/projects/proj/openai/v1/responses", {})
    assert wire.headers["authorization"] == "Bearer entra-token"
    assert credential.scopes == ["https://ai.azure.com/.default"]
