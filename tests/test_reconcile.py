"""``azcost reconcile``: Cost Management exports beside a ledger the callback filled over HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

import cost_exports as ce
from azure_server import AzureServer, DeploymentSpec
from cost_exports import IN, OUT, gpt4o_day
from langchain_openai import AzureChatOpenAI

import azcost
from azcost import CurrencyMismatchError
from azcost.cli import main
from azcost.invoice import ReconcileRow, Reconciliation
from azcost.testing import MemoryLedger

NOV2 = dt.date(2026, 11, 2)
NOV3 = dt.date(2026, 11, 3)
UTC = dt.timezone.utc
DEPLOYMENTS = {
    "chat-4o": {
        "model": "gpt-4o",
        "model_version": "2024-08-06",
        "deployment_type": "global",
        "resource": "contoso-eu",
    },
    "chat-4o-us": {
        "model": "gpt-4o",
        "model_version": "2024-08-06",
        "deployment_type": "global",
        "resource": "contoso-us",
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    spec = DeploymentSpec("gpt-4o-2024-08-06", 1000, 100, cached_tokens=400)
    srv = AzureServer({"chat-4o": spec, "chat-4o-us": spec}).start()
    yield srv
    srv.stop()


Call = Callable[..., None]


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    with azcost.Ledger(url) as ledger:  # an empty ledger: reconcile reads one, never creates it
        assert ledger.engine is not None
    return url


@pytest.fixture
def call(server: AzureServer, ledger_url: str) -> Iterator[Callable[[dt.datetime, int, str], None]]:
    """``call(when, n, deployment)``: n real chat calls recorded as ending at ``when`` (UTC)."""
    calls = MemoryLedger()
    handler = azcost.CostCallbackHandler(deployments=DEPLOYMENTS, ledger=calls)
    ledger = azcost.Ledger(ledger_url)

    def run(when: dt.datetime, n: int = 1, deployment: str = "chat-4o") -> None:
        # the records' end time is the only thing set: everything else is the real call path
        llm = AzureChatOpenAI(
            azure_deployment=deployment,
            api_version="2024-10-21",
            api_key="test",
            azure_endpoint=server.endpoint,
            max_retries=0,
        )
        for _ in range(n):
            llm.invoke("Hello!", config={"callbacks": [handler]})
        for rec in calls.records:
            ledger.record(dataclasses.replace(rec, timestamp=when))
        calls.clear()
        ledger.flush()

    yield run
    handler.close()
    ledger.close()


STORAGE = ce.Usage(
    NOV2,
    "Hot LRS Data Stored",
    "12.5",
    "0.2875",
    "1 GB/Month",
    "contosodata",
    "USD",
    "Storage",
    "Tiered Block Blob",
)
HOSTING = ce.Usage(NOV2, "Az-GPT35-Turbo-4K-FTuned Deployment Hosting Unit", "24", "72", "1 Hour")

WRITERS: dict[str, Callable[[Path, list[ce.Usage]], Path]] = {
    "ea.csv": ce.ea,
    "ea.csv.gz": lambda p, u: ce.ea(p, u, gz=True),
    "mca-iso.csv": ce.mca,
    "mca-us-dates.csv": lambda p, u: ce.mca(p, u, iso=False),
    "focus-1.0.csv": ce.focus,
    "focus-1.0r2.csv": lambda p, u: ce.focus(p, u, version="1.0r2"),
    "focus-1.2.csv": lambda p, u: ce.focus(p, u, version="1.2"),
}


def _by_kind(result: Reconciliation) -> dict[str, ReconcileRow]:
    return {r.token_kind: r for r in result.rows}


@pytest.mark.parametrize("name", list(WRITERS))
def test_export_agreeing_with_the_ledger_matches_in_every_layout(
    name: str, call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 3)
    export = WRITERS[name](tmp_path / name, [*gpt4o_day(NOV2, 3), STORAGE, HOSTING])
    result = azcost.reconcile([export], ledger_url)
    rows = _by_kind(result)
    assert {r.status for r in result.rows} == {"match"}
    assert [(r.period, r.model, r.deployment_type) for r in result.rows] == [
        ("2026-11-02", "gpt-4o-2024-08-06", "global")
    ] * 3
    assert (rows["input"].billed_tokens, rows["input"].recorded_tokens) == (Decimal(1800), 1800)
    cached = rows["cached_input"]
    assert (cached.billed_tokens, cached.recorded_tokens) == (Decimal(1200), 1200)
    assert rows["output"].billed_cost == rows["output"].recorded_cost == Decimal("0.003")
    assert rows["input"].expected_cost == Decimal("0.0045")
    assert result.tracked_share == Decimal(1)
    assert not result.differs


def test_rows_of_other_services_and_fine_tuning_are_counted_with_their_cost(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    export = ce.ea(tmp_path / "ea.csv", [*gpt4o_day(NOV2, 1), STORAGE, HOSTING, HOSTING])
    excluded = {e.reason: e for e in azcost.reconcile([export], ledger_url).excluded}
    other = excluded["other services (not Azure OpenAI)"]
    assert (other.rows, other.cost, other.example) == (1, Decimal("0.2875"), "Hot LRS Data Stored")
    (tuning,) = [e for r, e in excluded.items() if "fine-tuning" in r]
    assert (tuning.rows, tuning.cost) == (2, Decimal(144))


def test_amortized_export_leaves_reservation_rows_out_as_provisioned_throughput(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2)
    ptu = ce.Usage(NOV2, "Provisioned Managed Global Unit", "24", "0", "1 Hour")
    rows = [*map(ce.ea_row, gpt4o_day(NOV2, 2)), ce.ea_row(ptu)]
    rows[-1] |= {"ChargeType": "UnusedReservation", "PricingModel": "Reservation"}
    rows[-1]["CostInBillingCurrency"] = "81.6"  # the reservation's unused hours, amortized
    export = ce.write_export(tmp_path / "amortized.csv", ce.EA_COLUMNS, rows)
    result = azcost.reconcile([export], ledger_url)
    assert {r.status for r in result.rows} == {"match"}
    (ptu_rows,) = [e for e in result.excluded if "provisioned" in e.reason]
    assert (ptu_rows.rows, ptu_rows.cost) == (1, Decimal("81.6"))


def test_usage_billed_beyond_the_ledger_is_untracked(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2)
    export = ce.ea(tmp_path / "ea.csv", gpt4o_day(NOV2, 3))  # one call made outside azcost
    result = azcost.reconcile([export], ledger_url)
    assert {r.status for r in result.rows} == {"untracked"}
    assert result.tracked_share == Decimal("0.6667")
    assert result.differs


def test_discounted_rate_is_reported_as_rate_differs_with_the_list_price_expected(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2)
    export = ce.mca(tmp_path / "mca.csv", gpt4o_day(NOV2, 2, price="0.9"))  # 10% negotiated
    rows = _by_kind(azcost.reconcile([export], ledger_url))
    out = rows["output"]
    assert out.status == "rate-differs"
    assert (out.billed_cost, out.expected_cost, out.recorded_cost) == (
        Decimal("0.0018"),
        Decimal("0.002"),
        Decimal("0.002"),
    )


def test_a_version_billed_that_the_ledger_priced_as_another_shows_on_both_sides(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    billed = [
        ce.tokens("gpt 4o 0513 Input global Tokens", 1000, "0.005", NOV2),
        ce.tokens("gpt 4o 0513 Output global Tokens", 100, "0.015", NOV2),
    ]
    result = azcost.reconcile([ce.focus(tmp_path / "f.csv", billed, version="1.2")], ledger_url)
    status = {(r.model, r.token_kind): r.status for r in result.rows}
    assert status == {
        ("gpt-4o-2024-05-13", "input"): "billed-only",
        ("gpt-4o-2024-05-13", "output"): "billed-only",
        ("gpt-4o-2024-08-06", "input"): "recorded-only",
        ("gpt-4o-2024-08-06", "cached_input"): "recorded-only",
        ("gpt-4o-2024-08-06", "output"): "recorded-only",
    }
    expected = {r.model: r.expected_cost for r in result.rows if r.token_kind == "input"}
    assert expected["gpt-4o-2024-05-13"] == Decimal("0.005")


def test_calls_either_side_of_midnight_utc_fall_on_their_own_days(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 23, 59, 59, 999999, tzinfo=UTC))
    call(dt.datetime(2026, 11, 3, 0, 0, 0, tzinfo=UTC), 2)
    export = ce.ea(tmp_path / "ea.csv", [*gpt4o_day(NOV2, 1), *gpt4o_day(NOV3, 2)])
    by_day = azcost.reconcile([export], ledger_url)
    assert {(r.period, r.status) for r in by_day.rows} == {
        ("2026-11-02", "match"),
        ("2026-11-03", "match"),
    }
    lumped = ce.ea(tmp_path / "lumped.csv", gpt4o_day(NOV3, 3))  # all billed on Nov 3
    shifted = azcost.reconcile([lumped], ledger_url)
    assert {(r.period, r.status) for r in shifted.rows} == {
        ("2026-11-02", "recorded-only"),
        ("2026-11-03", "untracked"),
    }
    monthly = azcost.reconcile([lumped], ledger_url, by="month")
    assert {(r.period, r.status) for r in monthly.rows} == {("2026-11", "match")}


def test_since_and_until_limit_both_sides(call: Call, ledger_url: str, tmp_path: Path) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    call(dt.datetime(2026, 11, 3, 10, tzinfo=UTC))
    export = ce.ea(tmp_path / "ea.csv", [*gpt4o_day(NOV2, 1), *gpt4o_day(NOV3, 1)])
    result = azcost.reconcile([export], ledger_url, since=NOV3, until=NOV3)
    assert {r.period for r in result.rows} == {"2026-11-03"}
    assert {r.status for r in result.rows} == {"match"}
    assert {e.reason: e.rows for e in result.excluded} == {"outside --since/--until": 3}


def test_resource_limits_both_the_export_and_the_ledger(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2, "chat-4o")
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 1, "chat-4o-us")
    us = [
        ce.Usage(u.day, u.meter, u.quantity, u.cost, resource="contoso-us")
        for u in gpt4o_day(NOV2, 1)
    ]
    export = ce.ea(tmp_path / "ea.csv", [*gpt4o_day(NOV2, 2), *us])
    eu = azcost.reconcile([export], ledger_url, resource="Contoso-EU")
    assert {r.status for r in eu.rows} == {"match"}
    assert _by_kind(eu)["input"].recorded_tokens == 1200
    assert {e.reason: e.rows for e in eu.excluded} == {"another Azure resource than --resource": 3}
    both = azcost.reconcile([export], ledger_url)
    assert _by_kind(both)["input"].billed_tokens == 1800


def test_an_export_in_another_currency_is_an_error_not_a_sum(
    call: Call, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    eur = [ce.Usage(u.day, u.meter, u.quantity, u.cost, currency="EUR") for u in gpt4o_day(NOV2, 1)]
    export = ce.ea(tmp_path / "eur.csv", eur)
    with pytest.raises(CurrencyMismatchError, match="EUR"):
        azcost.reconcile([export], ledger_url)
    assert main(["reconcile", str(export), ledger_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"azcost: error: {export}:2: billed in 'EUR'")
    assert "Traceback" not in err


def test_json_has_the_documented_keys_with_exact_values(
    call: Call, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 3)
    export = ce.ea(tmp_path / "ea.csv.gz", gpt4o_day(NOV2, 3), gz=True)
    assert main(["reconcile", str(export), ledger_url, "--format", "json", "--by", "month"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    first = next(r for r in rows if r["token_kind"] == "input")
    assert list(first)[:10] == [
        "month", "model", "deployment_type", "token_kind", "billed_tokens", "recorded_tokens",
        "billed_cost", "recorded_cost", "expected_cost", "status",
    ]  # fmt: skip
    assert first["month"] == "2026-11"
    assert (first["billed_tokens"], first["billed_cost"], first["expected_cost"]) == (
        1800,
        "0.0045",
        "0.0045",
    )


def test_fail_on_diff_exits_1_only_when_a_group_differs(
    call: Call, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2)
    same = ce.ea(tmp_path / "same.csv", gpt4o_day(NOV2, 2))
    more = ce.ea(tmp_path / "more.csv", gpt4o_day(NOV2, 3))
    assert main(["reconcile", str(same), ledger_url, "--fail-on-diff"]) == 0
    assert main(["reconcile", str(more), ledger_url, "--fail-on-diff"]) == 1
    assert main(["reconcile", str(more), ledger_url]) == 0
    table = capsys.readouterr().out
    assert "untracked" in table
    assert "TOTAL" in table


def test_tolerance_decides_how_close_tokens_must_be(
    call: Call, ledger_url: str, tmp_path: Path
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 100)
    billed = gpt4o_day(NOV2, 101)  # 1% more than recorded
    export = ce.ea(tmp_path / "ea.csv", billed)
    assert {r.status for r in azcost.reconcile([export], ledger_url).rows} == {"untracked"}
    loose = azcost.reconcile([export], ledger_url, tolerance=Decimal("0.02"))
    assert {r.status for r in loose.rows} == {"match"}


def test_csv_output_has_one_line_per_group(
    call: Call, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    export = ce.focus(tmp_path / "f.csv", gpt4o_day(NOV2, 1))
    assert main(["reconcile", str(export), ledger_url, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("day,model,deployment_type,token_kind,billed_tokens")
    assert len(lines) == 4


def test_parquet_export_is_read_in_batches(call: Call, ledger_url: str, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 2)
    rows = [ce.focus_row(u, version="1.2") for u in gpt4o_day(NOV2, 2)]
    columns: dict[str, list[Any]] = {c: [r.get(c) for r in rows] for c in ce.FOCUS_12_COLUMNS}
    columns["BilledCost"] = [Decimal(r["BilledCost"]) for r in rows]  # a decimal column
    table = pa.table(
        {
            k: pa.array(v, type=pa.decimal128(20, 10))
            if k == "BilledCost"
            else pa.array(v, type=pa.string())
            for k, v in columns.items()
        }
    )
    path = tmp_path / "focus.parquet"
    pq.write_table(table, path)
    result = azcost.reconcile([path], ledger_url)
    assert {r.status for r in result.rows} == {"match"}
    assert result.billed.files == [(str(path), "FOCUS 1.2", 3)]


def test_rows_with_a_bad_quantity_or_unit_are_listed_as_unreadable(
    call: Call, ledger_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    good = gpt4o_day(NOV2, 1)
    bad_qty = ce.Usage(NOV2, IN, "lots", "0.001")
    bad_unit = ce.Usage(NOV2, OUT, "3", "0.001", unit="1 Hour")
    export = ce.ea(tmp_path / "ea.csv", [*good, bad_qty, bad_unit])
    result = azcost.reconcile([export], ledger_url)
    assert [(u.line, u.problem) for u in result.unreadable] == [
        (5, "quantity 'lots' is not a number"),
        (6, "unit of measure '1 Hour' is not a number of tokens"),
    ]
    assert result.differs
    assert main(["reconcile", str(export), ledger_url, "--fail-on-diff"]) == 1
    out = capsys.readouterr().out
    assert f"{export}:5: quantity 'lots' is not a number" in out
