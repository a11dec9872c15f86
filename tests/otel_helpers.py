"""Shared by the spend-metrics tests: the deployments they call, reading what the SDK's
in-memory reader collected, and the check that it equals the handler's totals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from azure_server import AzureServer, DeploymentSpec
from call_modes import HELLO
from langchain_openai import AzureChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from azcost import CostCallbackHandler

DEPLOYMENTS = {
    "prod-chat": {"model": "gpt-35-turbo", "model_version": "0301"},
    "prod-4o": {"model": "gpt-4o", "model_version": "2024-08-06"},
    "reasoner": {"model": "o1", "model_version": "2024-12-17"},
}
MESSAGES = HELLO
SI_PLACES = {"": 0, "m": 3, "u": 6, "n": 9, "p": 12, "f": 15}
Points = dict[str, list[tuple[dict[str, Any], Any]]]


def start_server() -> AzureServer:
    """A local Azure OpenAI endpoint with the deployments the metrics tests call."""
    return AzureServer(
        {
            "prod-chat": DeploymentSpec("gpt-35-turbo", 31, 8),
            "prod-4o": DeploymentSpec("gpt-4o-2024-08-06", 1000, 100, cached_tokens=400),
            "reasoner": DeploymentSpec("o1-2024-12-17", 50, 300, reasoning_tokens=200),
            "bare": DeploymentSpec("gpt-35-turbo", 20, 5),
            "mystery": DeploymentSpec("mystery-model", 11, 3),
            "instruct": DeploymentSpec("gpt-35-turbo-instruct", 31, 8),
            "embed": DeploymentSpec("text-embedding-3-small"),
        }
    ).start()


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    """The metrics tests' local endpoint, one per test module."""
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """The SDK's in-memory reader the tests read the points from."""
    return InMemoryMetricReader()


@pytest.fixture
def provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A MeterProvider with the in-memory reader, passed to the handler."""
    mp = MeterProvider(metric_readers=[reader])
    yield mp
    mp.shutdown()


def chat(server: AzureServer, deployment: str) -> AzureChatOpenAI:
    return AzureChatOpenAI(
        azure_deployment=deployment,
        api_version="2024-10-21",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
        stream_usage=True,
    )


def collect(reader: InMemoryMetricReader) -> tuple[Points, dict[str, str]]:
    """Points by metric name as (attributes, value or histogram sum), and units by name."""
    out: Points = defaultdict(list)
    units: dict[str, str] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                units[m.name] = m.unit or ""
                for p in m.data.data_points:
                    value = getattr(p, "sum", None) if hasattr(p, "bucket_counts") else p.value  # type: ignore[union-attr]
                    out[m.name].append((dict(p.attributes or {}), value))
    return out, units


def tokens(points: Points, kind: str, **attrs: Any) -> int:
    return sum(
        v
        for a, v in points["gen_ai.client.token.usage"]
        if a["gen_ai.token.type"] == kind and all(a.get(k) == x for k, x in attrs.items())
    )


def requests(points: Points, **attrs: Any) -> int:
    return sum(
        v for a, v in points["azcost.requests"] if all(a.get(k) == x for k, x in attrs.items())
    )


def cost(points: Points, units: dict[str, str], currency: str = "USD") -> Decimal:
    """The azcost.cost counter's total in currency units, read from its declared sub-unit."""
    if "azcost.cost" not in points:
        return Decimal(0)
    unit = units["azcost.cost"]
    assert unit.endswith(currency), unit
    places = SI_PLACES[unit[: -len(currency)]]
    values = [v for _, v in points["azcost.cost"]]
    assert all(type(v) is int for v in values), values  # integer sub-units, never a float
    return Decimal(sum(values)).scaleb(-places)


def assert_matches(points: Points, units: dict[str, str], cb: CostCallbackHandler) -> None:
    """Every figure the metrics carry equals the handler's own total."""
    assert tokens(points, "input") == cb.prompt_tokens
    assert tokens(points, "output") == cb.completion_tokens
    assert requests(points) == cb.successful_requests
    assert requests(points, **{"azcost.priced": False}) == len(cb.unpriced_requests)
    assert requests(points, **{"azcost.version_assumed": True}) == cb.assumed_requests
    assert cost(points, units) == cb.total_cost
