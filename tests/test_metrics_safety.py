"""Live spend metrics never break a call: a failing meter, provider or exporter is said
once; bad arguments are refused when the handler is built; the global MeterProvider is
used when none is given; ``import azcost`` does not import OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys
import uuid
import warnings
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("opentelemetry.sdk.metrics")

from azure_server import AzureServer
from langchain_core.outputs import Generation, LLMResult
from opentelemetry import metrics
from opentelemetry.metrics import Counter, Histogram, NoOpCounter, NoOpHistogram, NoOpMeter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricsData,
    PeriodicExportingMetricReader,
)
from otel_helpers import (
    DEPLOYMENTS,
    MESSAGES,
    assert_matches,
    chat,
    collect,
    provider,
    reader,
    requests,
    server,
)

import azcost
from azcost import CostCallbackHandler, MetricsWarning, get_cost_callback

__all__ = ["provider", "reader", "server"]  # fixtures used by name


@pytest.mark.parametrize("keys", [["gen_ai.token.type"], ["azcost.priced"], [""], "user"])
def test_a_reserved_or_malformed_attribute_key_is_refused(
    mini: azcost.PricingTable, provider: MeterProvider, keys: Sequence[str]
) -> None:
    with pytest.raises((ValueError, TypeError), match="metrics_attributes"):
        CostCallbackHandler(mini, metrics=provider, metrics_attributes=keys)


class _BrokenCounter(NoOpCounter):
    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        raise RuntimeError("exporter down")


class _BrokenHistogram(NoOpHistogram):
    def record(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        raise RuntimeError("exporter down")


class _BrokenMeter(NoOpMeter):
    """A meter whose every instrument raises when used."""

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        return _BrokenCounter(name)

    def create_histogram(self, name: str, *args: Any, **kwargs: Any) -> Histogram:
        return _BrokenHistogram(name)


def test_a_failing_meter_never_breaks_the_call_and_is_said_once(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    with (
        warnings.catch_warnings(record=True) as said,
        get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=_BrokenMeter("x")) as cb,
    ):
        warnings.simplefilter("always")
        for _ in range(3):
            answer = chat(server, "prod-chat").invoke(MESSAGES)
    assert answer.content
    [warned] = [w for w in said if w.category is MetricsWarning]
    assert "exporter down" in str(warned.message)
    assert cb.successful_requests == 3
    assert cb.total_cost == 3 * Decimal("0.000078")


class _RefusingProvider(MeterProvider):
    def get_meter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("provider shut down")


def test_a_provider_that_refuses_a_meter_never_breaks_the_calls(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    with pytest.warns(MetricsWarning, match="provider shut down"):
        handler = CostCallbackHandler(mini, deployments=DEPLOYMENTS, metrics=_RefusingProvider())
    chat(server, "prod-chat").invoke(MESSAGES, config={"callbacks": [handler]})
    assert handler.total_cost == Decimal("0.000078")


def test_a_metrics_source_of_the_wrong_type_is_refused(mini: azcost.PricingTable) -> None:
    with pytest.raises(TypeError, match="MeterProvider"):
        CostCallbackHandler(mini, metrics="prometheus")  # type: ignore[arg-type]


class _FailingExporter(MetricExporter):
    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kw: Any) -> Any:
        raise RuntimeError("collector unreachable")

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kw: Any) -> None:
        pass


def test_a_failing_exporter_never_breaks_the_call(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    failing = PeriodicExportingMetricReader(_FailingExporter(), export_interval_millis=3_600_000)
    mp = MeterProvider(metric_readers=[failing])
    try:
        with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=mp) as cb:
            chat(server, "prod-chat").invoke(MESSAGES)
            failing.force_flush()  # an export that raises, in the middle of the block
            chat(server, "prod-chat").invoke(MESSAGES)
    finally:
        mp.shutdown()
    assert cb.successful_requests == 2
    assert cb.total_cost == 2 * Decimal("0.000078")


def test_a_call_the_handler_cannot_read_is_still_a_request(
    mini: azcost.PricingTable, provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    handler = CostCallbackHandler(mini, metrics=provider)
    broken = {"prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": 7}
    run_id = uuid.uuid4()
    handler.on_llm_start({}, ["Hello"], run_id=run_id, metadata={"ls_model_type": "llm"})
    result = LLMResult(generations=[[Generation(text="x")]], llm_output={"token_usage": broken})
    with pytest.warns(azcost.UnpricedCallWarning, match="could not price"):
        handler.on_llm_end(result, run_id=run_id)
    points, _ = collect(reader)
    assert handler.successful_requests == requests(points) == 1
    [(attrs, _)] = points["azcost.requests"]
    assert attrs["azcost.unpriced_reason"] == "internal_error"
    assert attrs["gen_ai.operation.name"] == "text_completion"


def test_the_global_meter_provider_is_used_when_none_is_given(
    server: AzureServer, mini: azcost.PricingTable, reader: InMemoryMetricReader
) -> None:
    # built before the application sets its provider: the API's proxy forwards to it
    handler = CostCallbackHandler(mini, deployments=DEPLOYMENTS, metrics=True)
    mp = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(mp)
    if metrics.get_meter_provider() is not mp:  # pragma: no cover
        pytest.skip("another test set the process's global MeterProvider first")
    chat(server, "prod-chat").invoke(MESSAGES, config={"callbacks": [handler]})
    points, units = collect(reader)
    assert_matches(points, units, handler)
    assert requests(points) == 1


def test_import_azcost_does_not_import_opentelemetry() -> None:
    code = "import sys, azcost; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
