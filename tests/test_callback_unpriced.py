"""The cost callback on a version the table cannot price: warned, raised or ignored, listed."""

from __future__ import annotations

import warnings

import pytest
from fakes import example_llm

import azcost
from azcost import get_cost_callback
from azcost.errors import UnknownModelError, UnpricedCallWarning


def test_unknown_version_warns_with_closest_names_and_is_listed(mini: azcost.PricingTable) -> None:
    llm = example_llm(model_version="1106")
    with (
        pytest.warns(
            UnpricedCallWarning, match=r"gpt-35-turbo-1106.*closest known: .*gpt-35-turbo-0"
        ),
        get_cost_callback(mini) as cb,
    ):
        llm.invoke("x")
    assert cb.total_cost == 0
    assert cb.successful_requests == 1
    assert cb.by_model == {}
    [unpriced] = cb.unpriced_requests
    assert unpriced.reported_model == "gpt-35-turbo-1106"
    assert "unknown model 'gpt-35-turbo-1106'" in unpriced.reason
    assert (unpriced.prompt_tokens, unpriced.completion_tokens) == (31, 8)


def test_unknown_version_raises_when_asked(mini: azcost.PricingTable) -> None:
    with get_cost_callback(mini, on_unknown="raise") as cb, pytest.raises(UnknownModelError):
        example_llm(model_version="1106").invoke("x")
    assert len(cb.unpriced_requests) == 1


def test_unknown_version_is_listed_silently_when_ignored(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with get_cost_callback(mini, on_unknown="ignore") as cb:
            example_llm(model_version="1106").invoke("x")
    assert len(cb.unpriced_requests) == 1


def test_repr_and_summary_show_models_and_unpriced_calls(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with get_cost_callback(mini) as cb:
            example_llm().invoke("x")
            example_llm(model_version="1106").invoke("x")
    text = repr(cb)
    assert "Total Cost (USD): $0.000078" in text
    assert "gpt-35-turbo-0301: 1 request(s)" in text
    assert "Unpriced Requests: 1" in text
    summary = cb.summary()
    assert "gpt-35-turbo-0301" in summary
    assert "0.000078" in summary
    assert "unpriced: 1 call(s)" in summary
