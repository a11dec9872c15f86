"""``azcost audit``: grouped spend from the ledger, exact to the last digit, and re-pricing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import UTC, audit_json, make_record, sqlite_url

import azcost
from azcost.cli import main
from azcost.ledger import CallRecord, Ledger

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

DATA = Path(__file__).parent / "data"
CORRECTED = DATA / "ledger-corrected.yaml"

# (model as reported, version, deployment type, input, cached, output, day, user, region)
CALLS: list[tuple[str, str | None, str, int, int, int, int, str, str]] = [
    ("gpt-35-turbo", "0301", "regional", 31, 0, 8, 30, "ann", "eastus"),
    ("gpt-35-turbo", "0301", "regional", 1200, 0, 300, 31, "bob", "eastus"),
    ("gpt-35-turbo", "0301", "regional", 7, 0, 1, 1, "ann", "swedencentral"),
    ("gpt-4o", "2024-08-06", "global", 5000, 1024, 700, 1, "ann", "eastus"),
    ("gpt-4o", "2024-08-06", "global", 333, 0, 77, 2, "cy", "eastus"),
    ("gpt-4o", "2024-08-06", "global-batch", 100_000, 0, 20_000, 2, "bob", "eastus"),
    ("o1", "2024-12-17", "global", 900, 128, 4000, 3, "cy", "eastus"),
]


def _day(d: int) -> dt.date:
    return dt.date(2026, 10, 30) + dt.timedelta(days=(d - 30) if d >= 30 else d + 1)


def _records(mini: azcost.PricingTable) -> list[CallRecord]:
    out = []
    for i, (name, version, dep, inp, cached, outp, d, user, region) in enumerate(CALLS):
        day = _day(d)
        cost = mini.cost(
            name,
            model_version=version,
            deployment_type=dep,
            input_tokens=inp,
            cached_input_tokens=cached,
            output_tokens=outp,
            at=day,
        )
        out.append(
            make_record(
                i,
                when=dt.datetime(day.year, day.month, day.day, 10, i, tzinfo=UTC),
                reported_model=name,
                model=cost.model,
                model_version=version,
                deployment=f"{name}-{dep}",
                deployment_type=dep,
                region=region,
                input_tokens=inp,
                cached_input_tokens=cached,
                output_tokens=outp,
                total=str(cost.total),
                metadata={"user": user},
                tags=(f"feature:{'chat' if i % 2 else 'search'}",),
            )
        )
    out.append(  # a call the table could not price
        make_record(
            99,
            when=dt.datetime(2026, 11, 2, 9, tzinfo=UTC),
            reported_model="gpt-9",
            model=None,
            total=None,
            unpriced_reason="unknown model",
            metadata={"user": "ann"},
        )
    )
    return out


@pytest.fixture
def seeded(ledger_url: str, mini: azcost.PricingTable) -> tuple[str, list[CallRecord]]:
    """A ledger holding the calls above, priced with tests/data/mini.yaml."""
    records = _records(mini)
    with Ledger(ledger_url) as ledger:
        for rec in records:
            ledger.record(rec)
    return ledger_url, records


_KEYS: dict[str, Callable[[CallRecord], str | None]] = {
    "model": lambda r: r.model or f"{r.reported_model} (unresolved)",
    "deployment": lambda r: r.deployment,
    "deployment-type": lambda r: r.deployment_type,
    "region": lambda r: r.region,
    "day": lambda r: r.timestamp.date().isoformat(),
    "month": lambda r: r.timestamp.strftime("%Y-%m"),
    "tag:user": lambda r: r.metadata.get("user"),
    "tag:feature": lambda r: next((t.split(":", 1)[1] for t in r.tags if ":" in t), None),
}


def _expected(records: Sequence[CallRecord], by: str) -> dict[str | None, dict[str, Any]]:
    groups: dict[str | None, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                 "total_cost": Decimal(0)}
    )  # fmt: skip
    for r in records:
        g = groups[_KEYS[by](r)]
        g["requests"] += 1
        g["input_tokens"] += r.input_tokens
        g["cached_input_tokens"] += r.cached_input_tokens
        g["output_tokens"] += r.output_tokens
        g["total_cost"] += r.total_cost or 0
    money = azcost.pricing.money_str
    return {k: {**v, "total_cost": money(v["total_cost"])} for k, v in groups.items()}


@pytest.mark.parametrize("by", list(_KEYS))
def test_audit_groups_and_totals_match_the_records(
    seeded: tuple[str, list[CallRecord]], by: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    rows = audit_json(capsys, url, "--by", by)
    fields = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "total_cost")
    got = {row["group"]: {k: row[k] for k in fields} for row in rows}
    assert got == _expected(records, by)


def test_json_rows_carry_the_issue_fields_with_decimal_strings(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = audit_json(capsys, seeded[0])
    required = {"group", "requests", "input_tokens", "cached_input_tokens", "output_tokens",
                "total_cost"}  # fmt: skip
    assert all(required <= row.keys() and isinstance(row["total_cost"], str) for row in rows)


def test_shares_of_one_currency_add_up_to_one(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = audit_json(capsys, seeded[0], "--by", "day")
    assert abs(sum((Decimal(r["share"]) for r in rows), Decimal(0)) - 1) <= Decimal("0.00001")


def test_several_by_give_one_row_per_combination(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    rows = audit_json(capsys, url, "--by", "model", "--by", "tag:user")
    got = {tuple(r["group"]): r["requests"] for r in rows}
    want: dict[tuple[str | None, ...], int] = defaultdict(int)
    for r in records:
        want[(_KEYS["model"](r), r.metadata.get("user"))] += 1
    assert got == want


@pytest.mark.parametrize(
    ("args", "days"),
    [
        (["--since", "2026-11-01"], {"2026-11-01", "2026-11-02", "2026-11-03"}),
        (["--until", "2026-10-31"], {"2026-10-30", "2026-10-31"}),
        (["--since", "2026-10-31", "--until", "2026-11-01"], {"2026-10-31", "2026-11-01"}),
    ],
)
def test_since_and_until_include_both_ends(
    seeded: tuple[str, list[CallRecord]],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    days: set[str],
) -> None:
    rows = audit_json(capsys, seeded[0], "--by", "day", *args)
    assert {r["group"] for r in rows} == days


@pytest.mark.parametrize("model", ["gpt-4o-2024-08-06", "gpt-4o"])
def test_model_filter_matches_versioned_or_reported_name(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str], model: str
) -> None:
    rows = audit_json(capsys, seeded[0], "--model", model)
    assert [(r["group"], r["requests"]) for r in rows] == [("gpt-4o-2024-08-06", 3)]


def test_reprice_with_a_corrected_table_prices_the_same_usage(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    corrected = azcost.load_pricing(CORRECTED)
    rows = {r["group"]: r for r in audit_json(capsys, url, "--reprice", str(CORRECTED))}
    old = rows["gpt-35-turbo-0301"]
    want = sum(
        corrected.cost(r.model, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
                       at=r.timestamp).total
        for r in records
        if r.model == "gpt-35-turbo-0301"
    )  # fmt: skip
    assert Decimal(old["repriced_cost"]) == want
    assert Decimal(old["difference"]) == want - Decimal(old["total_cost"])
    assert Decimal(old["repriced_cost"]) * 2 == Decimal(old["total_cost"])
    # gpt-4o's global-batch call and o1 are not in the corrected table: counted, not guessed
    assert rows["gpt-4o-2024-08-06"]["unrepriced_requests"] == 1
    assert rows["o1-2024-12-17"]["unrepriced_requests"] == 1


def test_reprice_as_another_deployment_type(
    seeded: tuple[str, list[CallRecord]],
    capsys: pytest.CaptureFixture[str],
    mini_path: Path,
    mini: azcost.PricingTable,
) -> None:
    url, records = seeded
    rows = audit_json(
        capsys, url, "--model", "gpt-4o-2024-08-06", "--reprice", str(mini_path),
        "--reprice-deployment-type", "global-batch",
    )  # fmt: skip
    want = sum(
        mini.cost(r.model, deployment_type="global-batch", input_tokens=r.input_tokens,
                  cached_input_tokens=r.cached_input_tokens, output_tokens=r.output_tokens,
                  at=r.timestamp).total
        for r in records
        if r.model == "gpt-4o-2024-08-06"
    )  # fmt: skip
    assert [Decimal(r["repriced_cost"]) for r in rows] == [want]


def test_reprice_as_another_model(
    seeded: tuple[str, list[CallRecord]],
    capsys: pytest.CaptureFixture[str],
    mini_path: Path,
    mini: azcost.PricingTable,
) -> None:
    url, records = seeded
    rows = audit_json(
        capsys, url, "--model", "gpt-35-turbo-0301", "--reprice", str(mini_path),
        "--reprice-model", "gpt-35-turbo-0125",
    )  # fmt: skip
    want = sum(
        mini.cost("gpt-35-turbo-0125", input_tokens=r.input_tokens, output_tokens=r.output_tokens,
                  region=r.region, at=r.timestamp).total
        for r in records
        if r.model == "gpt-35-turbo-0301"
    )  # fmt: skip
    assert [Decimal(r["repriced_cost"]) for r in rows] == [want]


def test_table_format_ends_with_a_total_line_then_where_it_was_read(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    assert main(["audit", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = sum((r.total_cost or Decimal(0) for r in records), Decimal(0))
    assert lines[-2].split()[:2] == ["TOTAL", str(len(records))]
    assert f"{azcost.pricing.money_str(total)} USD" in lines[-2]
    sqlite = url.startswith("sqlite")
    assert lines[-1] == (
        "source: rollup: the daily rollup"
        if sqlite
        else "source: scan: every call (PostgreSQL keeps no daily rollup; it sums NUMERIC)"
    )


def test_csv_format_has_a_header_and_one_line_per_group(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    assert main(["audit", url, "--by", "region", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    want = {k: v["requests"] for k, v in _expected(records, "region").items()}
    assert {r["region"]: int(r["requests"]) for r in rows} == want


def test_unknown_dimension_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--by", "colour"])
    assert exc.value.code == 2
    assert "cannot group by 'colour'" in capsys.readouterr().err


def test_unreachable_ledger_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["audit", sqlite_url(tmp_path / "file" / "ledger.db")]) == 2
    assert capsys.readouterr().err == (
        f"azcost: error: no ledger at {tmp_path}/file/ledger.db: the file does not exist\n"
    )


def test_ledger_export_and_import_commands_round_trip(
    seeded: tuple[str, list[CallRecord]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    dump = tmp_path / "dump.jsonl"
    assert main(["ledger", "export", url, "--output", str(dump)]) == 0
    other = sqlite_url(tmp_path / "other.db")
    assert main(["ledger", "import", str(dump), other]) == 0
    assert f"imported {len(records)} record(s); 0 already present" in capsys.readouterr().err
    assert main(["ledger", "export", other]) == 0
    assert capsys.readouterr().out == dump.read_text()


def test_ledger_export_csv_has_one_row_per_record(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    assert main(["ledger", "export", url, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted(r["run_id"] for r in rows) == sorted(r.run_id for r in records)
    assert {r["total_cost"] for r in rows} >= {"0.000078"}


def test_ledger_path_prints_the_default_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(azcost._paths.data_dir() / "ledger.db")


def test_ledger_stats_json(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, records = seeded
    assert main(["ledger", "stats", url, "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    total = sum((r.total_cost or Decimal(0) for r in records), Decimal(0))
    assert (stats["records"], stats["unpriced"]) == (len(records), 1)
    assert stats["total_cost"] == {"USD": azcost.pricing.money_str(total)}


def test_table_counts_calls_the_reprice_table_cannot_price(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", seeded[0], "--reprice", str(CORRECTED)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["NOT", "REPRICED"]
    o1 = next(line for line in lines if line.startswith("o1-2024-12-17"))
    assert o1.split()[-1] == "1"


def test_reprice_gives_no_difference_for_a_group_it_could_not_fully_price(
    seeded: tuple[str, list[CallRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = seeded
    rows = {r["group"]: r for r in audit_json(capsys, url, "--reprice", str(CORRECTED))}
    partly = rows["gpt-4o-2024-08-06"]  # one of its calls has no price in the corrected table
    assert partly["unrepriced_requests"] == 1
    assert partly["repriced_cost"] is not None
    assert partly["difference"] is None
    nothing = rows["o1-2024-12-17"]  # o1 is not in the corrected table at all
    assert nothing["unrepriced_requests"] == nothing["requests"]
    assert nothing["repriced_cost"] is None
    assert nothing["difference"] is None
    assert main(["audit", url, "--reprice", str(CORRECTED)]) == 0
    table = capsys.readouterr().out
    o1_line = next(line for line in table.splitlines() if line.startswith("o1-2024-12-17"))
    assert o1_line.split()[-3:] == ["n/a", "n/a", str(nothing["requests"])]
