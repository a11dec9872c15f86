"""The cost handler's own work per call, beside LangChain's handlers, in one run.

Times ``on_chat_model_start`` + ``on_llm_end`` (with usage) for one realistic Azure
call — the events LangChain delivers to a handler for every model call — for:

- azcost ``CostCallbackHandler`` (no ledger): tokens + exact Decimal cost per version;
- langchain-community ``OpenAICallbackHandler`` (the anchor): tokens + float cost;
- langchain-core ``UsageMetadataCallbackHandler``: tokens per model, no cost.

Handlers that do not implement ``on_chat_model_start`` get ``on_llm_start`` (what
LangChain's manager falls back to).

Beside it, the accounting ``azcost.embeddings`` adds to one embeddings request inside a
``get_cost_callback()`` block (budget check before, counting after; no HTTP), next to
``response.model_dump()``, which langchain-openai itself runs on every response (a 16-text
response of 1536-dimension vectors). Each handler's runs alternate with the others'; the
best run is kept, in CPU time of the calling thread (``time.thread_time_ns``, steady on a
loaded machine) and wall time. Run: ``.venv/bin/python bench/bench_callback.py``.

Last, what live spend metrics (``metrics=``) add to the handler's work per call: the
same call with no metrics, with OpenTelemetry's no-op MeterProvider, with the API's
global provider before an SDK is set (its proxy), and with the SDK's MeterProvider
aggregating in memory; alternated run by run, best CPU time kept.
"""

from __future__ import annotations

import argparse
import gc
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.callbacks.openai_info import OpenAICallbackHandler

SERIALIZED: dict[str, Any] = {
    "lc": 1,
    "type": "constructor",
    "id": ["langchain", "chat_models", "azure_openai", "AzureChatOpenAI"],
    "kwargs": {
        "openai_api_key": {"lc": 1, "type": "secret", "id": ["AZURE_OPENAI_API_KEY"]},
        "stream_usage": True,
        "azure_endpoint": "https://example.openai.azure.com",
        "deployment_name": "gpt-35-turbo",
        "openai_api_version": "2023-06-01-preview",
        "model_version": "0301",
        "openai_api_type": "azure",
    },
    "name": "AzureChatOpenAI",
}
INVOCATION_PARAMS: dict[str, Any] = {
    "model": "gpt-3.5-turbo",
    "model_name": "gpt-3.5-turbo",
    "stream": False,
    "azure_deployment": "gpt-35-turbo",
    "_type": "azure-openai-chat",
    "stop": None,
}
METADATA: dict[str, Any] = {
    "ls_provider": "azure",
    "ls_model_name": "gpt-35-turbo",
    "ls_model_type": "chat",
    "ls_temperature": None,
}
MESSAGES = [[SystemMessage("You are a helpful assistant."), HumanMessage("Hello!")]]
PROMPTS = ["System: You are a helpful assistant.\nHuman: Hello!"]
USAGE: Any = {
    "input_tokens": 31,
    "output_tokens": 8,
    "total_tokens": 39,
    "input_token_details": {"audio": 0, "cache_read": 0},
    "output_token_details": {"audio": 0, "reasoning": 0},
}
RESULT = LLMResult(
    generations=[
        [
            ChatGeneration(
                message=AIMessage(
                    "Hello! How can I help you today?",
                    usage_metadata=USAGE,
                    response_metadata={
                        "token_usage": {
                            "prompt_tokens": 31,
                            "completion_tokens": 8,
                            "total_tokens": 39,
                        },
                        "model_name": "gpt-35-turbo-0301",
                        "finish_reason": "stop",
                    },
                ),
                generation_info={"finish_reason": "stop"},
            )
        ]
    ],
    llm_output={
        "token_usage": {"prompt_tokens": 31, "completion_tokens": 8, "total_tokens": 39},
        "model_name": "gpt-35-turbo-0301",
    },
)


def one_call(handler: BaseCallbackHandler) -> Callable[[uuid.UUID], None]:
    """Start + end of one call, as the callback manager delivers them."""
    implements_chat = (
        type(handler).on_chat_model_start is not BaseCallbackHandler.on_chat_model_start
    )
    end = handler.on_llm_end
    if implements_chat:
        start_chat = handler.on_chat_model_start

        def call(run_id: uuid.UUID) -> None:
            start_chat(
                SERIALIZED,
                MESSAGES,
                run_id=run_id,
                parent_run_id=None,
                tags=[],
                metadata=METADATA,
                invocation_params=INVOCATION_PARAMS,
                batch_size=1,
            )
            end(RESULT, run_id=run_id, parent_run_id=None, tags=[])
    else:
        start = handler.on_llm_start

        def call(run_id: uuid.UUID) -> None:
            start(
                SERIALIZED,
                PROMPTS,
                run_id=run_id,
                parent_run_id=None,
                tags=[],
                metadata=METADATA,
                invocation_params=INVOCATION_PARAMS,
                batch_size=1,
            )
            end(RESULT, run_id=run_id, parent_run_id=None, tags=[])

    return call


def time_per_call(make: Callable[[], BaseCallbackHandler], n: int) -> tuple[float, float]:
    """One run of ``n`` calls: (wall, CPU time of this thread), in microseconds per call."""
    run_ids = [uuid.uuid4() for _ in range(n)]
    call = one_call(make())
    gc.collect()
    c0 = time.thread_time_ns()
    t0 = time.perf_counter_ns()
    for run_id in run_ids:
        call(run_id)
    wall = time.perf_counter_ns() - t0
    cpu = time.thread_time_ns() - c0
    return wall / n / 1000, cpu / n / 1000


def time_embeddings(n: int, repeats: int) -> tuple[float, float]:
    """Microseconds per request: azcost's accounting, and langchain-openai's model_dump."""
    from openai.types import CreateEmbeddingResponse

    from azcost.embeddings import AzureOpenAIEmbeddings

    response = CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": i, "embedding": [0.5] * 1536} for i in range(16)
            ],
            "usage": {"prompt_tokens": 96, "total_tokens": 96},
        }
    )
    settings: dict[str, Any] = {
        "azure_deployment": "embed",
        "model_version": "1",
        "api_key": "bench",
        "azure_endpoint": "https://example.openai.azure.com",
        "api_version": "2024-10-21",
    }
    emb = AzureOpenAIEmbeddings(**settings)
    counter = emb.client._counter
    table = azcost.load_pricing()
    ours = anchor = float("inf")
    for _ in range(repeats):
        with azcost.get_cost_callback(table) as cb:
            gc.collect()
            t0 = time.perf_counter_ns()
            for _ in range(n):
                counter.after(counter.before(), response)
            ours = min(ours, (time.perf_counter_ns() - t0) / n / 1000)
        assert cb.successful_requests == n, cb.summary()
        assert cb.total_cost > 0, cb.summary()
        t0 = time.perf_counter_ns()
        for _ in range(n // 10):
            response.model_dump()
        anchor = min(anchor, (time.perf_counter_ns() - t0) / (n // 10) / 1000)
    return ours, anchor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="calls per run (default 20000)")
    parser.add_argument("--repeats", type=int, default=12, help="runs per handler; best is kept")
    parser.add_argument(
        "--callgrind",
        choices=["none", "noop", "proxy", "openai"],
        help="only run -n calls with this metrics setting (openai: the anchor handler) "
        "inside functools.reduce, for "
        "valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce",
    )
    args = parser.parse_args()
    if args.callgrind:
        calls_for_callgrind(args.callgrind, args.n)
        return

    table = azcost.load_pricing()
    ours = azcost.CostCallbackHandler(table)
    check = one_call(ours)
    check(uuid.uuid4())
    assert (
        ours.total_cost
        == azcost.load_pricing().cost("gpt-35-turbo-0301", input_tokens=31, output_tokens=8).total
    ), ours.summary()

    contenders: list[tuple[str, Callable[[], BaseCallbackHandler]]] = [
        ("azcost CostCallbackHandler", lambda: azcost.CostCallbackHandler(table)),
        ("langchain-community OpenAICallbackHandler", OpenAICallbackHandler),
        ("langchain-core UsageMetadataCallbackHandler", UsageMetadataCallbackHandler),
    ]
    wall: dict[str, float] = {name: float("inf") for name, _ in contenders}
    cpu = dict(wall)
    for _ in range(args.repeats):  # alternated runs: load on the machine hits every handler alike
        for name, make in contenders:
            w, c = time_per_call(make, args.n)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    anchor = "langchain-community OpenAICallbackHandler"
    print(f"handler work per call (start + end with usage), best of {args.repeats} x {args.n}")
    print(f"{'handler':<45} {'us/call CPU':>11} {'ratio':>6} {'us/call wall':>12} {'ratio':>6}")
    for name, _ in contenders:
        print(
            f"{name:<45} {cpu[name]:>11.2f} {cpu[name] / cpu[anchor]:>5.2f}x"
            f" {wall[name]:>12.2f} {wall[name] / wall[anchor]:>5.2f}x"
        )
    per_request, dump = time_embeddings(args.n // 5, 5)
    print(f"\nembeddings request accounting (wall), best of 5 x {args.n // 5}")
    print(f"{'work per request':<45} {'us/request':>10}")
    print(f"{'azcost.embeddings (budget check + count)':<45} {per_request:>10.2f}")
    print(f"{'langchain-openai response.model_dump()':<45} {dump:>10.2f}")
    metrics_overhead(table, args.n, args.repeats)


def metrics_overhead(table: azcost.PricingTable, n: int, repeats: int) -> None:
    """Print the CPU time per call with each metrics setting, and what it adds."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    sdk = MeterProvider(metric_readers=[InMemoryMetricReader()])
    settings: list[tuple[str, Callable[[], BaseCallbackHandler]]] = [
        ("no metrics", lambda: azcost.CostCallbackHandler(table)),
        ("metrics=NoOpMeterProvider()", lambda: _metered(table, NoOpMeterProvider())),
        ("metrics=True, no SDK set (API proxy)", lambda: _metered(table, True)),
        ("metrics=SDK MeterProvider, in-memory reader", lambda: _metered(table, sdk)),
    ]
    cpu = {name: float("inf") for name, _ in settings}
    for _ in range(repeats):
        for name, make in settings:
            cpu[name] = min(cpu[name], time_per_call(make, n)[1])
    base = cpu["no metrics"]
    print(f"\nlive spend metrics: handler work per call (CPU), best of {repeats} x {n}")
    print(f"{'metrics':<45} {'us/call CPU':>11} {'added us':>9}")
    for name, _ in settings:
        print(f"{name:<45} {cpu[name]:>11.2f} {cpu[name] - base:>9.2f}")


def calls_for_callgrind(setting: str, n: int) -> None:
    """``n`` calls inside ``functools.reduce``: callgrind counts only those (warmed by 200).

    ``none``, ``noop`` and ``proxy`` are azcost with that metrics setting; ``openai`` is
    langchain-community's ``OpenAICallbackHandler``, the anchor.
    """
    import functools

    from opentelemetry.metrics import NoOpMeterProvider

    handler: BaseCallbackHandler
    if setting == "openai":
        handler = OpenAICallbackHandler()
    else:
        metrics = {"none": None, "noop": NoOpMeterProvider(), "proxy": True}[setting]
        handler = azcost.CostCallbackHandler(azcost.load_pricing(), metrics=metrics)
    call = one_call(handler)
    run_ids = [uuid.uuid4() for _ in range(n + 200)]
    for run_id in run_ids[:200]:
        call(run_id)
    functools.reduce(lambda _, run_id: call(run_id), run_ids[200:], None)
    assert getattr(handler, "successful_requests") == n + 200  # noqa: B009  # either class


def _metered(table: azcost.PricingTable, metrics: Any) -> azcost.CostCallbackHandler:
    handler = azcost.CostCallbackHandler(table, metrics=metrics)
    one_call(handler)(uuid.uuid4())  # the call's attribute sets are built once, then reused
    return handler


if __name__ == "__main__":
    main()
