"""azcost.testing.MemoryLedger: the ledger for users' tests, fed by the real cost handler."""

from __future__ import annotations

import warnings
from decimal import Decimal

import azcost
from azcost.errors import UnpricedCallWarning
from azcost.testing import FakeAzureChatModel, MemoryLedger


def _llm(version: str = "0301") -> FakeAzureChatModel:
    return FakeAzureChatModel(
        deployment_name="chat",
        model="gpt-35-turbo",
        model_version=version,
        input_tokens=31,
        output_tokens=8,
    )


def test_keeps_one_record_per_call_priced_or_not(mini: azcost.PricingTable) -> None:
    ledger = MemoryLedger()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with azcost.get_cost_callback(mini, ledger=ledger) as cb:
            _llm().invoke("x", config={"metadata": {"user": "ann"}})
            _llm("1106").invoke("y")
    priced, unpriced = ledger.records
    assert (priced.model, priced.total_cost) == ("gpt-35-turbo-0301", Decimal("0.000078"))
    assert priced.metadata["user"] == "ann"
    assert priced.total_cost == cb.total_cost
    assert not unpriced.priced
    assert unpriced.total_cost is None
    assert "gpt-35-turbo-1106" in (unpriced.unpriced_reason or "")


def test_is_flushed_at_the_end_of_the_block_and_left_open(mini: azcost.PricingTable) -> None:
    ledger = MemoryLedger()
    with azcost.get_cost_callback(mini, ledger=ledger):
        _llm().invoke("x")
        assert ledger.flushes == 0
    assert (ledger.flushes, ledger.closed) == (1, False)
    ledger.close()
    assert ledger.closed
    assert len(ledger.records) == 1  # still readable


def test_records_every_call_of_a_threaded_batch(mini: azcost.PricingTable) -> None:
    ledger = MemoryLedger()
    with azcost.get_cost_callback(mini, ledger=ledger) as cb:
        _llm().batch([f"q{i}" for i in range(20)], config={"max_concurrency": 8})
    assert len(ledger.records) == 20 == cb.successful_requests
    assert len({r.run_id for r in ledger.records}) == 20
    assert sum(r.total_cost or Decimal(0) for r in ledger.records) == cb.total_cost


def test_clear_forgets_the_records_so_far(mini: azcost.PricingTable) -> None:
    ledger = MemoryLedger()
    with azcost.get_cost_callback(mini, ledger=ledger):
        _llm().invoke("x")
        ledger.clear()
        _llm().invoke("y")
    assert len(ledger.records) == 1
