"""The spend ledger: exact, idempotent, durable records on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_helpers import UTC, count_records, make_record, sqlite_url, stored_run_ids

from azcost.errors import LedgerError
from azcost.ledger import (
    COLUMNS,
    MIGRATIONS,
    ROLLUP_KEYS,
    ROLLUP_SUMS,
    Ledger,
    audit,
    create_ledger_engine,
    migrate,
    resolve_url,
    rollup_values,
    row_of,
)

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("durability", ["async", "sync"])
def test_records_read_back_exactly_as_written(ledger_url: str, durability: str) -> None:
    records = [
        make_record(i, total=f"0.0000{i + 1}78", metadata={"user": f"u{i % 3}", "n": i})
        for i in range(50)
    ]
    records.append(make_record(99, model=None, total=None, unpriced_reason="unknown model"))
    with Ledger(ledger_url, durability=durability) as ledger:  # type: ignore[arg-type]
        for rec in records:
            ledger.record(rec)
        ledger.flush()
        back = list(ledger.iter_records())
    assert [r.to_dict() for r in back] == [r.to_dict() for r in records]


def test_flush_commits_everything_recorded_before_it(ledger_url: str) -> None:
    with Ledger(ledger_url, flush_interval=60) as ledger:
        for i in range(300):
            ledger.record(make_record(i))
        ledger.flush()
        assert count_records(ledger_url) == 300


def test_sync_record_is_committed_when_record_returns(ledger_url: str) -> None:
    with Ledger(ledger_url, durability="sync") as ledger:
        ledger.record(make_record(1))
        assert stored_run_ids(ledger_url) == {"run-00000001"}


def test_retried_write_never_duplicates(ledger_url: str) -> None:
    with Ledger(ledger_url, durability="sync") as ledger:
        ledger.record(make_record(1))
        ledger.record(make_record(1, total="0.5"))  # same run id: the first write stands
    with Ledger(ledger_url) as ledger:
        ledger.record(make_record(1))
    assert count_records(ledger_url) == 1
    with Ledger(ledger_url) as ledger:
        assert [r.total_cost for r in ledger.iter_records()] == [Decimal("0.000078")]
        (row,) = audit(ledger.read_engine())
    assert (row.requests, row.total_cost) == (1, Decimal("0.000078"))


def test_closed_ledger_still_records_synchronously(ledger_url: str) -> None:
    ledger = Ledger(ledger_url)
    ledger.close()
    ledger.record(make_record(7))
    assert stored_run_ids(ledger_url) == {"run-00000007"}


def test_costs_with_more_places_than_any_float_round_trip_exactly(ledger_url: str) -> None:
    total = "0.000000000000000000000123456789012345678901"
    with Ledger(ledger_url) as ledger:
        ledger.record(make_record(1, total=total))
        ledger.flush()
        (rec,) = ledger.iter_records()
    assert rec.total_cost == Decimal(total)


def test_sqlite_stores_money_as_decimal_text_not_real(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(sqlite_url(path), durability="sync") as ledger:
        ledger.record(make_record(1, total="0.1"))
    con = sqlite3.connect(path)
    kind, value, pico = con.execute(
        "SELECT typeof(total_cost), total_cost, total_cost_pico FROM azcost_calls"
    ).fetchone()
    con.close()
    assert (kind, Decimal(value), pico) == ("text", Decimal("0.1"), 100_000_000_000)


@pytest.mark.postgres
def test_postgres_stores_money_as_numeric(pg_url: str) -> None:
    with Ledger(pg_url, durability="sync") as ledger:
        ledger.record(make_record(1))
        with ledger.read_engine().connect() as conn:
            kinds = set(
                conn.exec_driver_sql(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'azcost_calls' AND table_schema = current_schema() "
                    "AND column_name LIKE '%%_cost'"
                ).scalars()
            )
    assert kinds == {"numeric"}


def test_sqlite_ledger_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(sqlite_url(path), durability="sync") as ledger:
        ledger.record(make_record(1))
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


# --------------------------------------------------------------------------- where


def test_default_ledger_is_a_file_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZCOST_HOME", str(tmp_path / "home"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'home' / 'ledger.db'}"


def test_xdg_data_home_is_used_without_azcost_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZCOST_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'azcost' / 'ledger.db'}"


def test_env_url_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZCOST_LEDGER_URL", sqlite_url(tmp_path / "elsewhere.db"))
    assert Ledger().url == sqlite_url(tmp_path / "elsewhere.db")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@127.0.0.1/db", "postgresql+psycopg://u@127.0.0.1/db"),
        ("postgresql+psycopg://u@127.0.0.1/db", "postgresql+psycopg://u@127.0.0.1/db"),
    ],
)
def test_postgresql_urls_use_psycopg_3(given: str, expected: str) -> None:
    assert resolve_url(given) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url://x"])
def test_unsupported_url_is_a_ledger_error(url: str) -> None:
    with pytest.raises(LedgerError, match="URL"):
        Ledger(url)


# --------------------------------------------------------------------------- migrations


def _migration_names(url: str) -> list[str]:
    with Ledger(url) as ledger, ledger.read_engine().connect() as conn:
        sql = "SELECT name FROM azcost_migrations ORDER BY name"
        return list(conn.exec_driver_sql(sql).scalars())


def test_blank_database_gets_every_migration_in_order(ledger_url: str) -> None:
    assert _migration_names(ledger_url) == [name for name, _ in MIGRATIONS]


def test_first_schema_is_upgraded_keeping_its_records(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    assert migrate(engine, upto=1) == ["m001_calls"]
    money = "NUMERIC" if engine.dialect.name == "postgresql" else "TEXT"
    with engine.begin() as conn:  # a row as the first schema's writer stored it
        conn.execute(
            sa.text(
                "INSERT INTO azcost_calls (run_id, ts, day, model, input_tokens, "
                "cached_input_tokens, output_tokens, reasoning_tokens, audio_input_tokens, "
                "audio_output_tokens, total_cost, currency, priced, usage_known, tags, "
                "run_metadata) VALUES ('old-1', '2026-10-01T00:00:00.000000+00:00', "
                f"'2026-10-01', 'gpt-35-turbo-0301', 31, 0, 8, 0, 0, 0, "
                f"CAST('0.000078' AS {money}), 'USD', true, true, '[\"team:a\"]', "
                '\'{"user":"bob"}\')'
            )
        )
    engine.dispose()
    assert _migration_names(ledger_url) == [name for name, _ in MIGRATIONS]
    with Ledger(ledger_url) as ledger, ledger.read_engine().connect() as conn:
        pico, labels = conn.exec_driver_sql(
            "SELECT total_cost_pico, labels FROM azcost_calls WHERE run_id = 'old-1'"
        ).one()
        (row,) = audit(ledger.read_engine(), ["day"])
    assert (pico, json.loads(labels)) == (78_000_000, {"team": "a", "user": "bob"})
    assert (row.keys, row.requests, row.total_cost) == (("2026-10-01",), 1, Decimal("0.000078"))


def _rollup_and_recomputed(url: str) -> tuple[list[Any], list[Any]]:
    """The SQLite daily rollup, and the same sums computed from the calls table."""
    keys = ", ".join(str(i + 1) for i in range(len(ROLLUP_KEYS)))
    with Ledger(url) as ledger, ledger.read_engine().connect() as conn:
        kept = conn.exec_driver_sql(
            f"SELECT {', '.join((*ROLLUP_KEYS, *ROLLUP_SUMS))} FROM azcost_daily ORDER BY {keys}"
        ).all()
        computed = conn.exec_driver_sql(
            f"SELECT {', '.join(rollup_values('')[: len(ROLLUP_KEYS)])}, "
            f"{', '.join(f'sum({v})' for v in rollup_values('')[len(ROLLUP_KEYS) :])} "
            f"FROM azcost_calls GROUP BY {keys} ORDER BY {keys}"
        ).all()
    return list(kept), list(computed)


def test_rollup_kept_by_the_old_trigger_upgrades_and_stays_exact(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    engine = create_ledger_engine(url)
    migrate(engine, upto=4)  # a ledger as m004 left it: the rollup kept by a trigger
    old = [make_record(i, total=f"0.00{i}1", model=f"m{i % 2}") for i in range(10)]
    with engine.begin() as conn:  # the columns an m004 ledger has, in today's row order
        present = [c["name"] for c in sa.inspect(conn).get_columns("azcost_calls")]
        keep = [COLUMNS.index(name) for name in present]
        conn.exec_driver_sql(
            f"INSERT INTO azcost_calls ({', '.join(present)}) "
            f"VALUES ({', '.join('?' * len(present))})",
            [tuple(row_of(r, text_money=True)[i] for i in keep) for r in old],
        )
    engine.dispose()
    new = [make_record(i, total="0.5", model=f"m{i % 3}") for i in range(5, 30)]  # 5..9 known
    new.append(make_record(40, total=None, model=None, unpriced_reason="unknown model"))
    with Ledger(url, flush_interval=3600) as ledger:
        for rec in new:
            ledger.record(rec)
        ledger.flush()
        rows = audit(ledger.read_engine(), ["model"])
        with ledger.read_engine().connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
            ).scalar_one()
    assert "m005_rollup_by_batch" in _migration_names(url)
    assert triggers == 0
    kept, computed = _rollup_and_recomputed(url)
    assert kept == computed
    stored = {r.run_id: r for r in new[::-1]} | {r.run_id: r for r in old}  # old ones stand
    expected: dict[str, Decimal] = {}
    for rec in stored.values():
        model = rec.model or "gpt-35-turbo (unresolved)"  # as the audit labels it
        expected[model] = expected.get(model, Decimal(0)) + (rec.total_cost or 0)
    assert {r.keys[0]: r.total_cost for r in rows} == expected
    assert sum(r.requests for r in rows) == len(stored) == 31


_MIXED = [
    make_record(0, when=dt.datetime(2026, 11, 2, 23, 59, 59, 999_999, tzinfo=UTC)),
    make_record(1, when=dt.datetime(2026, 11, 3, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))),
    make_record(2, when=dt.datetime(999, 1, 1, tzinfo=UTC), total="0.0000000000001"),
    make_record(3, total="9000000", metadata={"a": 0.0, "b": True}),
    make_record(4, total="12345678.9", metadata={"a": -0.0, "b": True}),
    make_record(5, total="0.078000000000000000", metadata={"a": [1, 2]}, tags=()),
    make_record(6, total="0.5", currency="EUR", model_version="0301"),
    make_record(7, total="1E+2", cached_input_cost=Decimal("1E-7"), usage_known=False),
    make_record(8, total=None, model=None, unpriced_reason="unknown model", metadata={}),
    make_record(9, deployment=None, region=None, price_effective_from=None, tags=("x",)),
]


def test_sqlite_stores_each_column_as_the_general_row_conversion(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url, flush_interval=3600) as ledger:  # one batch, several NULL patterns
        for rec in _MIXED:
            ledger.record(rec)
        ledger.flush()
        with ledger.read_engine().connect() as conn:
            stored = conn.exec_driver_sql(
                f"SELECT {', '.join(COLUMNS)} FROM azcost_calls ORDER BY run_id"
            ).all()
    expected = [row_of(rec, text_money=True) for rec in _MIXED]
    assert [tuple(row) for row in stored] == [
        tuple(int(v) if isinstance(v, bool) else v for v in row) for row in expected
    ]
    assert [row[COLUMNS.index("run_metadata")] for row in stored][3:5] == [
        '{"a":0.0,"b":true}',
        '{"a":-0.0,"b":true}',  # equal to 0.0, but not the same metadata
    ]
    kept, computed = _rollup_and_recomputed(url)
    assert kept == computed


def test_a_run_id_twice_in_one_batch_keeps_the_first(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    first = make_record(1, total="0.25")
    again = make_record(1, total=None, model=None, unpriced_reason="retried differently")
    with Ledger(url, flush_interval=3600) as ledger:
        for rec in (make_record(0, total=None, model=None), first, make_record(2), again):
            ledger.record(rec)
        ledger.flush()
        (back,) = [r for r in ledger.iter_records() if r.run_id == first.run_id]
        rows = audit(ledger.read_engine())
    assert back.to_dict() == first.to_dict()
    assert sum(r.requests for r in rows) == 3
    assert sum(r.total_cost for r in rows) == Decimal("0.25") + Decimal("0.000078")


def test_migrations_run_once(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    try:
        assert len(migrate(engine)) == len(MIGRATIONS)
        assert migrate(engine) == []
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- import/export


def test_export_then_import_round_trips_exactly(ledger_url: str, tmp_path: Path) -> None:
    records = [make_record(i, total=f"0.{i:04d}1") for i in range(30)]
    with Ledger(ledger_url) as ledger:
        for rec in records:
            ledger.record(rec)
    dump = tmp_path / "dump.jsonl"
    with Ledger(ledger_url) as ledger:
        dump.write_text("".join(r.to_json() + "\n" for r in ledger.iter_records()))
    other = sqlite_url(tmp_path / "other.db")
    with Ledger(other) as ledger:
        first, again = ledger.import_jsonl(dump), ledger.import_jsonl(dump)
        assert (first.added, first.present, again.added, again.present) == (30, 0, 0, 30)
        assert [r.to_dict() for r in ledger.iter_records()] == [r.to_dict() for r in records]


def test_import_counts_added_and_already_present(ledger_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(make_record(i).to_json() + "\n" for i in range(450)))
    with Ledger(ledger_url, durability="sync") as ledger:
        for i in range(0, 450, 3):
            ledger.record(make_record(i))
        done = ledger.import_jsonl(dump, batch=1000)
        assert (done.added, done.present, done.rejected) == (300, 150, 0)
        (row,) = audit(ledger.read_engine())
    assert row.requests == 450


def test_stats_counts_records_and_spend(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url) as ledger:
        for i in range(4):
            ledger.record(make_record(i))
        ledger.record(make_record(9, model=None, total=None))
        stats = ledger.stats()
    assert (stats["records"], stats["priced"], stats["unpriced"]) == (5, 4, 1)
    assert stats["total_cost"] == {"USD": "0.000312"}
    assert stats["first"].startswith("2026-11-02T12:00:00")
    assert stats["spooled_records"] == 0


def test_timestamps_are_stored_in_utc(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    paris = dt.timezone(dt.timedelta(hours=1))
    with Ledger(url) as ledger:
        ledger.record(make_record(1, when=dt.datetime(2026, 11, 2, 0, 30, tzinfo=paris)))
        ledger.flush()
        (rec,) = ledger.iter_records()
    assert rec.timestamp == dt.datetime(2026, 11, 1, 23, 30, tzinfo=dt.timezone.utc)
