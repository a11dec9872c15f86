"""Service tiers in the ledger's audit: grouped, re-priced at the tier's own rates, rolled up.

Recorded priority calls are re-priced at the new table's priority rates, or not re-priced
with the reason, never at standard rates; the rollups carry the tier, so the answers read
from a rollup equal the scan of every call, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_helpers import UTC, make_record

import azcost
from azcost import PricingTable
from azcost.cli import main
from azcost.ledger import (
    MIGRATIONS,
    CallRecord,
    Ledger,
    Reprice,
    add_rollup_tags,
    audit,
    backfill_rollup_tag,
    create_ledger_engine,
    insert_sql,
    migrate,
    remove_rollup_tag,
    row_of,
)

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

TIERS = Path(__file__).parent / "data" / "tiers.yaml"
TIER_OF_CALL = ("priority", "default", None, "priority", "flex")
"""The service tier of call i (i modulo 5): None when the response named none."""


@pytest.fixture
def tiered() -> PricingTable:
    """The test table: gpt-4o global has priority rates from 2025-01-01."""
    return azcost.load_pricing(TIERS)


@pytest.fixture
def untiered(tmp_path: Path) -> PricingTable:
    """The same table without any service-tier rates."""
    text = re.sub(
        r"^( +)service_tiers:\n(?:\1 .*\n)+", "", TIERS.read_text(encoding="utf-8"), flags=re.M
    )
    assert "service_tiers:" not in text
    path = tmp_path / "untiered.yaml"
    path.write_text(text, encoding="utf-8")
    return azcost.load_pricing(path)


def _records(n: int) -> list[CallRecord]:
    """Calls on gpt-4o over 3 days, on the priority, standard and flex tiers, two users."""
    return [
        make_record(
            i,
            when=dt.datetime(2025, 6, 1 + i % 3, 9, i % 60, tzinfo=UTC),
            model="gpt-4o-2024-08-06",
            reported_model="gpt-4o",
            deployment_type="global",
            region="eastus",
            input_tokens=1000 + 37 * i,
            cached_input_tokens=(100 * i) % 900,
            output_tokens=50 + i,
            total=f"0.00{i + 1:04d}",
            service_tier=TIER_OF_CALL[i % len(TIER_OF_CALL)],
            metadata={"user": ("ann", "bob")[i % 2]},
        )
        for i in range(n)
    ]


def _record(url: str, records: Sequence[CallRecord], **options: Any) -> None:
    with Ledger(url, **options) as ledger:
        for rec in records:
            ledger.record(rec)


def _priced(table: PricingTable, rec: CallRecord) -> Decimal:
    """The call priced on its own, at its tier: what re-pricing must add up to."""
    return table.cost(
        rec.model or "",
        deployment_type=rec.deployment_type,
        region=rec.region,
        service_tier=rec.service_tier,
        at=rec.timestamp.date(),
        input_tokens=rec.input_tokens,
        cached_input_tokens=rec.cached_input_tokens,
        output_tokens=rec.output_tokens,
    ).total


def _audit(url: str, by: Sequence[str], table: PricingTable) -> tuple[str, list[dict[str, Any]]]:
    with Ledger(url, create=False) as ledger:
        result = audit(ledger.read_engine(), by, reprice=Reprice(table))
    return result.source, [row.as_dict(by) for row in result]


def test_recorded_priority_calls_are_repriced_at_the_priority_rates(
    ledger_url: str, tiered: PricingTable
) -> None:
    records = _records(30)
    _record(ledger_url, records)
    priced = [r for r in records if r.service_tier != "flex"]  # the table sells no flex
    with Ledger(ledger_url, create=False) as ledger:
        (row,) = audit(ledger.read_engine(), ["model"], reprice=Reprice(tiered))
    assert row.repriced_cost == sum((_priced(tiered, r) for r in priced), Decimal(0))
    # at standard rates the same calls cost less: the priority calls were not priced so
    standard = [replace(r, service_tier=None) for r in priced]
    assert row.repriced_cost > sum((_priced(tiered, r) for r in standard), Decimal(0))
    flex = sum(1 for r in records if r.service_tier == "flex")
    assert row.unrepriced_requests == flex
    ((reason, calls),) = row.unrepriced_reasons.items()
    assert calls == flex
    assert "no 'flex' service-tier price" in reason


def test_a_table_without_tier_rates_leaves_the_tier_calls_not_repriced(
    ledger_url: str, untiered: PricingTable
) -> None:
    records = _records(30)
    _record(ledger_url, records)
    by = ["service-tier"]
    with Ledger(ledger_url, create=False) as ledger:
        rows = {r.keys[0]: r for r in audit(ledger.read_engine(), by, reprice=Reprice(untiered))}
    assert sorted(rows, key=str) == sorted(["priority", "default", None, "flex"], key=str)
    for tier in ("priority", "flex"):
        row = rows[tier]
        assert row.unrepriced_requests == row.requests > 0
        assert not row.repriced_any
        assert row.difference is None
        assert row.as_dict(by)["repriced_cost"] is None
        assert all(f"no {tier!r} service-tier price" in why for why in row.unrepriced_reasons)
    standard = [r for r in records if r.service_tier in ("default", None)]
    repriced = sum((rows[t].repriced_cost or Decimal(0) for t in ("default", None)), Decimal(0))
    assert repriced == sum((_priced(untiered, r) for r in standard), Decimal(0))
    assert rows["default"].unrepriced_requests == rows[None].unrepriced_requests == 0


def test_the_audit_table_names_why_calls_were_not_repriced(
    tmp_path: Path, untiered: PricingTable, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    _record(url, _records(10))
    yaml = tmp_path / "untiered.yaml"
    assert main(["audit", url, "--by", "service-tier", "--reprice", str(yaml)]) == 0
    out = capsys.readouterr().out
    assert "not re-priced: 4 call(s) of priority: " in out
    assert "no 'priority' service-tier price" in out
    assert "source: rollup: the daily rollup, re-priced per service tier" in out


ASKS = (["service-tier"], ["model", "service-tier"], ["day", "service-tier"], ["model"])


def test_the_daily_rollup_answers_by_tier_and_reprices_as_the_scan(
    tmp_path: Path, tiered: PricingTable, untiered: PricingTable
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    _record(url, _records(40))
    for table in (tiered, untiered):
        for by in ASKS:
            source, rows = _audit(url, by, table)
            # every call here has the same match: grouping by it too forces the scan
            scanned_source, scanned = _audit(url, [*by, "match"], table)
            assert (source, scanned_source) == ("rollup", "scan")
            for row in scanned:
                del row["match"]
                row["group"] = row["group"][0] if len(by) == 1 else row["group"][:-1]
            assert rows == scanned, by


def test_a_tag_rollup_answers_by_tier_and_reprices_as_the_scan(
    ledger_url: str, tiered: PricingTable, untiered: PricingTable
) -> None:
    _record(ledger_url, _records(40), rollup_tags=["user"])
    asks = [["tag:user", "service-tier"], ["tag:user"], ["service-tier", "tag:user", "day"]]
    results = []
    for _ in range(2):  # from the tag's rollup, then scanned once it is removed
        results.append([_audit(ledger_url, by, t) for by in asks for t in (tiered, untiered)])
        with Ledger(ledger_url, create=False) as ledger:
            remove_rollup_tag(ledger.engine, "user")
    assert {source for source, _ in results[0]} == {"rollup:user"}
    assert {source for source, _ in results[1]} == {"scan"}
    assert [rows for _, rows in results[0]] == [rows for _, rows in results[1]]


def test_export_and_import_keep_the_service_tier(
    ledger_url: str, tmp_path: Path, tiered: PricingTable
) -> None:
    records = _records(15)
    _record(ledger_url, records)
    dump = tmp_path / "dump.jsonl"
    assert main(["ledger", "export", ledger_url, "-o", str(dump), "-q"]) == 0
    lines = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert sorted((d["run_id"], d.get("service_tier")) for d in lines) == sorted(
        (r.run_id, r.service_tier) for r in records
    )
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    assert main(["ledger", "import", str(dump), copy, "-q"]) == 0
    assert (
        _audit(copy, ["service-tier"], tiered)[1] == _audit(ledger_url, ["service-tier"], tiered)[1]
    )


def test_the_migration_rebuilds_the_rollups_with_the_tier_from_the_calls(
    ledger_url: str, tiered: PricingTable
) -> None:
    engine = create_ledger_engine(ledger_url)
    try:
        before = [name for name, _ in MIGRATIONS].index("m010_rollups_by_service_tier")
        migrate(engine, upto=before)
        add_rollup_tags(engine, ["user"])  # ready: no call yet
        records = _records(30)
        with engine.begin() as conn:  # calls written by the previous schema's writer
            text_money = engine.dialect.name != "postgresql"
            rows = [row_of(r, text_money=text_money) for r in records]
            conn.exec_driver_sql(insert_sql(engine.dialect.name), rows)
        add_rollup_tags(engine, ["team"])  # calls exist: counted by a backfill
        middle = sorted(r.run_id for r in records)[12]
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE azcost_rollup_tags SET backfilled_through = :m WHERE key = 'team'"),
                {"m": middle},
            )
        assert migrate(engine) == ["m010_rollups_by_service_tier"]
        backfill_rollup_tag(engine, "team", batch=7)
    finally:
        engine.dispose()
    by = ["tag:user", "service-tier", "day"]
    from_rollup = _audit(ledger_url, by, tiered)
    for key in ("user", "team"):  # every rollup exact: team's backfill counted the rest once
        assert _audit(ledger_url, [f"tag:{key}", "service-tier"], tiered)[0] == f"rollup:{key}"
    with Ledger(ledger_url, create=False) as ledger:
        team_rows = audit(ledger.read_engine(), ["tag:team"])
        assert [(r.keys, r.requests) for r in team_rows] == [((None,), 30)]
        remove_rollup_tag(ledger.engine, "user")
    assert from_rollup[0] == "rollup:user"
    assert from_rollup[1] == _audit(ledger_url, by, tiered)[1]
    if ledger_url.startswith("sqlite"):  # the daily rollup, rebuilt, equals the scan
        source, daily = _audit(ledger_url, ["service-tier"], tiered)
        scanned = _audit(ledger_url, ["service-tier", "match"], tiered)[1]
        assert source == "rollup"
        assert [
            (r["group"], r["requests"], r["total_cost"], r["repriced_cost"]) for r in daily
        ] == [(r["group"][0], r["requests"], r["total_cost"], r["repriced_cost"]) for r in scanned]
