"""When the cost callback breaks the user's call: a budget reached or strict mode, never else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

import azcost
from azcost import BudgetExceededError, CostCallbackHandler, get_cost_callback
from azcost.errors import UnpricedCallWarning
from azcost.testing import FakeAzureChatModel

SENT: list[str] = []


class CountingFake(FakeAzureChatModel):
    """Counts calls that reached the model."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        SENT.append(str(messages[-1].content))
        return super()._generate(messages, *args, **kwargs)


def test_budget_refuses_the_call_after_the_one_that_reached_it(mini: azcost.PricingTable) -> None:
    SENT.clear()
    llm = CountingFake(model_version="0301", input_tokens=31, output_tokens=8)
    with get_cost_callback(mini, budget=Decimal("0.0001")) as cb:
        llm.invoke("1")  # 0.000078
        llm.invoke("2")  # 0.000156: crosses the budget, still counted
        with pytest.raises(BudgetExceededError, match=r"spent 0.000156 USD of a 0.0001 USD budget"):
            llm.invoke("3")
    assert SENT == ["1", "2"]
    assert cb.total_cost == 2 * EXAMPLE


def test_inner_budget_refuses_without_the_outer_block_recording_a_start(
    mini: azcost.PricingTable,
) -> None:
    llm = example_llm()
    with get_cost_callback(mini) as outer:
        with get_cost_callback(mini, budget=Decimal(0)), pytest.raises(BudgetExceededError):
            llm.invoke("x")
        llm.invoke("y")
    assert outer.successful_requests == 1
    assert outer._runs == {}


def test_float_budget_is_refused(mini: azcost.PricingTable) -> None:
    with pytest.raises(TypeError, match="not a float"):
        get_cost_callback(mini, budget=0.5)  # type: ignore[arg-type]


def test_handler_error_never_breaks_the_call(
    mini: azcost.PricingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CostCallbackHandler(mini)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.pricing, "cost", broken)
    with pytest.warns(UnpricedCallWarning, match="boom"):
        out = example_llm().invoke("x", config={"callbacks": [handler]})
    assert out.content
    assert handler.successful_requests == 1
    assert "boom" in handler.unpriced_requests[0].reason


def test_strict_mode_lets_handler_errors_propagate(
    mini: azcost.PricingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CostCallbackHandler(mini, strict=True)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.pricing, "cost", broken)
    with pytest.raises(RuntimeError, match="boom"):
        example_llm().invoke("x", config={"callbacks": [handler]})
