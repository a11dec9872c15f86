"""`azcost audit` totals exact to the last digit: any costs, past the fast path, as the callback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import audit_json, make_record, sqlite_url

from azcost.ledger import Ledger, audit

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url


# --------------------------------------------------------------------------- exactness

_money = st.decimals(min_value=0, max_value=Decimal("1000"), places=18, allow_nan=False)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(costs=st.lists(_money, min_size=1, max_size=40))
def test_audit_total_equals_the_exact_sum_to_the_last_digit(
    tmp_path: Path, costs: list[Decimal]
) -> None:
    url = sqlite_url(tmp_path / f"h{abs(hash(tuple(costs)))}.db")
    with Ledger(url) as ledger:
        for i, c in enumerate(costs):
            ledger.record(make_record(i, total=str(c), model=f"m{i % 3}"))
        rows = audit(ledger.read_engine())
    assert sum(r.total_cost for r in rows) == sum(costs)


@pytest.mark.parametrize(
    "costs",
    [
        ["0.1", "0.2", "0.0000000000001"],  # a cost finer than 1e-12: added from its text
        ["9000000", "9000000", "0.5"],  # pico-units past 2**63: summed in Python
    ],
)
def test_exact_sum_survives_the_fast_path_limits(ledger_url: str, costs: list[str]) -> None:
    with Ledger(ledger_url) as ledger:
        for i, c in enumerate(costs):
            ledger.record(make_record(i, total=c))
        (row,) = audit(ledger.read_engine())
    assert row.total_cost == sum(Decimal(c) for c in costs)


# --------------------------------------------------------------------------- end to end


def test_audit_equals_the_callback_totals_to_the_last_digit(
    ledger_url: str, mini_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from azcost.callback import get_cost_callback
    from azcost.testing import FakeAzureChatModel

    llms = [
        FakeAzureChatModel(deployment_name="chat", model="gpt-35-turbo", model_version="0301",
                           input_tokens=31, output_tokens=8),
        FakeAzureChatModel(deployment_name="omni", model="gpt-4o", model_version="2024-08-06",
                           input_tokens=5003, cached_tokens=1024, output_tokens=701),
        FakeAzureChatModel(deployment_name="think", model="o1", model_version="2024-12-17",
                           input_tokens=77, output_tokens=4001, reasoning_tokens=3000),
    ]  # fmt: skip
    with get_cost_callback(pricing=mini_path, ledger=ledger_url) as cb:
        for i in range(30):
            llm = llms[i % 3]
            llm.invoke(f"question {i}", config={"metadata": {"user": f"u{i % 4}"}})
    rows = audit_json(capsys, ledger_url, "--by", "model")
    assert {r["group"]: Decimal(r["total_cost"]) for r in rows} == {
        name: usage.total_cost for name, usage in cb.by_model.items()
    }
    assert sum(Decimal(r["total_cost"]) for r in rows) == cb.total_cost
    assert sum(r["requests"] for r in rows) == cb.successful_requests
    users = audit_json(capsys, ledger_url, "--by", "tag:user")
    want = {f"u{k}": 30 // 4 + (k < 30 % 4) for k in range(4)}
    assert {r["group"]: r["requests"] for r in users} == want
