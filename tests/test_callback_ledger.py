"""The cost callback writing to a real SQLite ledger: by URL or Ledger, directly or in a block."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm

import azcost
from azcost import CostCallbackHandler, get_cost_callback
from azcost.errors import LedgerError, UnpricedCallWarning
from azcost.ledger import CallRecord, Ledger

MINI = Path(__file__).parent / "data" / "mini.yaml"


def stored(url: str) -> list[CallRecord]:
    """Every record in the ledger, read back through a fresh connection."""
    with Ledger(url) as ledger:
        return list(ledger.iter_records())


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'spend.db'}"


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[Ledger]:
    """The ledgers closed during the test, in order (Ledger.close still runs)."""
    closed: list[Ledger] = []
    original: Callable[[Ledger], None] = Ledger.close

    def spy(self: Ledger) -> None:
        closed.append(self)
        original(self)

    monkeypatch.setattr(Ledger, "close", spy)
    return closed


def test_handler_given_a_url_records_every_call_there_once_closed(
    mini: azcost.PricingTable, url: str, closes: list[Ledger]
) -> None:
    handler = CostCallbackHandler(mini, ledger=url)
    assert isinstance(handler.ledger, Ledger)
    llm = example_llm()
    for i in range(5):
        llm.invoke("x", config={"callbacks": [handler], "metadata": {"user": f"u{i}"}})
    handler.close()
    assert closes == [handler.ledger]
    records = stored(url)
    assert len(records) == 5 == handler.successful_requests
    assert sum(r.total_cost or 0 for r in records) == handler.total_cost == 5 * EXAMPLE
    assert sorted(r.metadata["user"] for r in records) == [f"u{i}" for i in range(5)]
    assert {r.model for r in records} == {"gpt-35-turbo-0301"}


def test_handler_as_context_manager_closes_its_ledger_at_exit(
    mini: azcost.PricingTable, url: str, closes: list[Ledger]
) -> None:
    with CostCallbackHandler(mini, ledger=url) as handler:
        example_llm().invoke("x", config={"callbacks": [handler]})
        assert closes == []
    assert closes == [handler.ledger]
    [rec] = stored(url)
    assert rec.total_cost == handler.total_cost == EXAMPLE


def test_closed_handler_ignores_later_calls(mini: azcost.PricingTable, url: str) -> None:
    with CostCallbackHandler(mini, ledger=url) as handler:
        example_llm().invoke("x", config={"callbacks": [handler]})
    example_llm().invoke("y", config={"callbacks": [handler]})
    assert handler.successful_requests == 1
    assert len(stored(url)) == 1


def test_a_call_seen_by_two_handlers_on_one_ledger_is_stored_once(
    mini: azcost.PricingTable, url: str
) -> None:
    with (
        CostCallbackHandler(mini, ledger=url) as first,
        CostCallbackHandler(mini, ledger=url) as second,
    ):
        for _ in range(3):
            example_llm().invoke("x", config={"callbacks": [first, second]})
    records = stored(url)
    assert len(records) == 3
    assert len({r.run_id for r in records}) == 3
    assert first.total_cost == second.total_cost == sum(r.total_cost or 0 for r in records)


def test_get_cost_callback_with_a_url_commits_and_closes_at_block_exit(
    mini: azcost.PricingTable, url: str, closes: list[Ledger]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with get_cost_callback(mini, ledger=url) as cb:
            example_llm().invoke("x", config={"tags": ["t1"]})
            example_llm(model_version="1106").invoke("y")  # not in the mini table: unpriced
    assert closes == [cb.ledger]
    records = {r.priced: r for r in stored(url)}
    assert records[True].total_cost == cb.total_cost == EXAMPLE
    assert records[True].tags == ("t1",)
    assert records[False].total_cost is None
    assert "gpt-35-turbo-1106" in (records[False].unpriced_reason or "")


def test_async_block_with_a_url_commits_at_exit(mini: azcost.PricingTable, url: str) -> None:
    async def main() -> CostCallbackHandler:
        async with get_cost_callback(mini, ledger=url) as cb:
            await example_llm().ainvoke("x")
            await example_llm().ainvoke("y")
        return cb

    cb = asyncio.run(main())
    assert sum(r.total_cost or 0 for r in stored(url)) == cb.total_cost == 2 * EXAMPLE


def test_a_given_ledger_is_flushed_not_closed(
    mini: azcost.PricingTable, url: str, closes: list[Ledger]
) -> None:
    ledger = Ledger(url, flush_interval=3600)  # commits only when flushed
    try:
        with CostCallbackHandler(mini, ledger=ledger) as handler:
            example_llm().invoke("x", config={"callbacks": [handler]})
        assert handler.ledger is ledger
        assert ledger not in closes
        assert len(stored(url)) == 1  # committed: visible through another connection
        with get_cost_callback(mini, ledger=ledger):
            example_llm().invoke("y")
        assert ledger not in closes
        assert len(stored(url)) == 2
    finally:
        ledger.close()


def test_handler_with_a_bad_url_fails_at_construction(mini: azcost.PricingTable) -> None:
    with pytest.raises(LedgerError, match="unsupported ledger URL"):
        CostCallbackHandler(mini, ledger="mysql://localhost/spend")


_UNCLOSED = textwrap.dedent(
    """
    import sys
    import azcost
    from azcost.testing import FakeAzureChatModel

    handler = azcost.CostCallbackHandler(sys.argv[2], ledger=sys.argv[1])
    llm = FakeAzureChatModel(deployment_name="gpt-35-turbo", model="gpt-35-turbo",
                             model_version="0301", input_tokens=31, output_tokens=8)
    for _ in range(3):
        llm.invoke("x", config={"callbacks": [handler]})
    print(handler.total_cost)
    """
)


def test_handler_never_closed_still_commits_at_interpreter_exit(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNCLOSED, url, str(MINI)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    records = stored(url)
    assert len(records) == 3
    assert sum(r.total_cost or 0 for r in records) == Decimal(done.stdout.strip()) == 3 * EXAMPLE


def _tiered_call(handler: CostCallbackHandler, model: str, tier: str | None) -> None:
    import uuid

    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, LLMResult

    meta: dict[str, str] = {"model_name": model}
    if tier is not None:
        meta["service_tier"] = tier
    usage: Any = {"input_tokens": 31, "output_tokens": 8, "total_tokens": 39}
    message = AIMessage("ok", usage_metadata=usage, response_metadata=meta)
    run_id = uuid.uuid4()
    handler.on_chat_model_start({"kwargs": {}}, [[]], run_id=run_id)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=message)]]), run_id=run_id)


def test_service_tier_and_assumed_spend_are_recorded_and_audited(
    mini: azcost.PricingTable, url: str
) -> None:
    with (
        warnings.catch_warnings(),
        CostCallbackHandler(mini, ledger=url, on_unknown="ignore", on_assumed="ignore") as h,
    ):
        _tiered_call(h, "gpt-35-turbo-0301", "default")
        _tiered_call(h, "gpt-35-turbo-0301", "priority")
        _tiered_call(h, "gpt-35-turbo", None)  # version assumed
    assert [r.service_tier for r in stored(url)] == ["default", "priority", None]
    with Ledger(url) as ledger:
        engine = ledger.read_engine()
        tiers = {
            r.keys: (r.requests, r.priced_requests) for r in azcost.audit(engine, ["service-tier"])
        }
        matches = {r.keys[0]: r.total_cost for r in azcost.audit(engine, ["match"])}
    assert tiers == {("default",): (1, 1), ("priority",): (1, 0), (None,): (1, 1)}
    assumed = mini.cost("gpt-35-turbo-0125", input_tokens=31, output_tokens=8).total
    assert matches["base-default"] == assumed


def test_a_priority_call_is_recorded_with_its_tier_and_the_tiers_cost(url: str) -> None:
    tiers = azcost.load_pricing(Path(__file__).parent / "data" / "tiers.yaml")
    with CostCallbackHandler(tiers, ledger=url, on_assumed="ignore") as h:
        _tiered_call(h, "gpt-4o-2024-08-06", "priority")
        _tiered_call(h, "gpt-4o-2024-08-06", "default")
    priority, default = stored(url)
    assert (priority.service_tier, default.service_tier) == ("priority", "default")
    assert priority.total_cost == Decimal(31) * Decimal("4.375e-6") + 8 * Decimal("17.5e-6")
    assert default.total_cost == Decimal(31) * Decimal("2.5e-6") + 8 * Decimal("10e-6")
    assert h.total_cost == priority.total_cost + default.total_cost
