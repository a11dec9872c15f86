"""The ledger side of reconciliation (exact sums on both backends) and the HTML report."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import cost_exports as ce
import pytest
from browser import rendered_dom
from ledger_helpers import UTC, make_record

import azcost
from azcost.cli import main
from azcost.ledger import Ledger, recorded_usage

pytest_plugins = ("ledger_fixtures",)  # ledger_url: SQLite and PostgreSQL

NOV2 = dt.date(2026, 11, 2)


def _record(i: int, day: int, input_cost: str, **kw: Any) -> azcost.CallRecord:
    return make_record(
        i,
        when=dt.datetime(2026, 11, day, 12, tzinfo=UTC),
        model="gpt-4o-2024-08-06",
        deployment_type="global",
        input_tokens=1000,
        cached_input_tokens=400,
        output_tokens=100,
        input_cost=Decimal(input_cost),
        cached_input_cost=Decimal("0.0005"),
        output_cost=Decimal("0.001"),
        total=str(Decimal(input_cost) + Decimal("0.0015")),
        **kw,
    )


def test_recorded_usage_is_exact_per_kind_on_every_backend(ledger_url: str) -> None:
    costs = ["0.0015", "0.0000000000000001", "1234.5", "0.1"]  # 16 places; over 1000
    with Ledger(ledger_url) as ledger:
        for i, cost in enumerate(costs):
            ledger.record(_record(i, 2, cost, resource="contoso-eu"))
        ledger.record(_record(9, 3, "0.0015"))
        ledger.flush()
        usage = recorded_usage(ledger.read_engine(), until=NOV2)
        eu = recorded_usage(ledger.read_engine(), resource="CONTOSO-EU")

    def key(kind: str) -> tuple[str, str, str, str]:
        return ("2026-11-02", "gpt-4o-2024-08-06", "global", kind)

    assert usage.groups[key("input")] == [2400, sum(map(Decimal, costs)), 0]
    assert usage.groups[key("cached_input")][:2] == [1600, Decimal("0.002")]
    assert usage.groups[key("output")][:2] == [400, Decimal("0.004")]
    assert usage.calls == 4
    assert (eu.calls, eu.without_resource) == (4, 1)


@pytest.fixture
def report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The HTML report of two days: Nov 2 billed as recorded, Nov 3 billed twice as much."""
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    with Ledger(url) as ledger:
        ledger.record(_record(1, 2, "0.0015"))
        ledger.record(_record(2, 3, "0.0015"))
    billed = []
    for day, calls in ((NOV2, 1), (dt.date(2026, 11, 3), 2)):
        billed += [
            ce.tokens("gpt-4o-0806-Inp-glbl Tokens", 600 * calls, "0.0025", day),
            ce.tokens("gpt 4o 0806 cached Inp glbl Tokens", 400 * calls, "0.00125", day),
            ce.tokens("gpt-4o-0806-Outp-glbl Tokens", 100 * calls, "0.01", day),
        ]
    billed.append(ce.Usage(NOV2, '<script>alert("x")</script>', "1", "0.5", "1 Hour", "contoso-eu"))
    export = ce.ea(tmp_path / "ea.csv", billed)
    out = tmp_path / "reconcile.html"
    assert main(["reconcile", str(export), url, "--html", str(out)]) == 0
    capsys.readouterr()
    return out


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]+)', text) == []


def test_chart_draws_billed_and_recorded_bars_per_day_in_chromium(report: Path) -> None:
    dom = rendered_dom(report)
    assert 'data-rendered="true"' in dom
    bars = re.findall(r'data-day="([^"]+)" data-side="([^"]+)" data-cost="([^"]+)"', dom)
    assert sorted(bars) == [
        ("2026-11-02", "billed", "0.003"),
        ("2026-11-02", "recorded", "0.003"),
        ("2026-11-03", "billed", "0.006"),
        ("2026-11-03", "recorded", "0.003"),
    ]
    assert "<script>alert" not in dom.split("<pre", 1)[1]  # the odd meter name stays text
