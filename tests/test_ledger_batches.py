"""Batches are checked and stored as a whole when plainly good, record by record otherwise:
the stored rows are the same either way, byte for byte."""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_helpers import make_record

from azcost.ledger import ROLLUP_BATCH_SQL, CallRecord, Ledger

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

UTC = dt.timezone.utc


def _varied() -> list[CallRecord]:
    """Records that differ in every way a batch can: None here and not there, quotes..."""
    recs = [
        make_record(i, metadata={"user": f"u{i % 3}", "n": i, "ok": i % 2 == 0}) for i in range(6)
    ]
    recs += [
        make_record(6, total=None, priced=False, unpriced_reason="unknown model", model=None),
        make_record(7, total="0.10", cached_input_tokens=5, reasoning_tokens=2),
        make_record(8, total="0", tags=(), metadata={}),
        make_record(9, total="123456789.000000000000001", deployment="o'brien's"),
        make_record(10, metadata={"nested": {"a": [1, 2.5, None]}, "f": -0.0, "é": "ü'"}),
        make_record(11, tags=("team=ml", "x:y", "it's"), resource="acct", service_tier="flex"),
        make_record(12, price_effective_from=None, pricing_version=None, total="1E-20"),
        make_record(13, when=dt.datetime(2026, 11, 3, 23, 59, 59, 999999, tzinfo=UTC)),
        make_record(14, output_cost=Decimal("-0"), input_cost=Decimal("1E+2"), total="100.00"),
    ]
    return recs


def _stored(ledger: Ledger) -> list[tuple[Any, ...]]:
    """Every stored row, each column as the database's own text, by run id."""
    engine = ledger.read_engine()
    names = [c["name"] for c in sa.inspect(engine).get_columns("azcost_calls")]
    cols = ", ".join(f"CAST({name} AS TEXT)" for name in names)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT {cols} FROM azcost_calls ORDER BY run_id")
        return [tuple(row) for row in rows]


def _clear(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM azcost_calls")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_batch_with_a_bad_line_stores_its_good_lines_as_a_clean_batch_does(
    ledger_url: str, tmp_path: Path
) -> None:
    lines = [rec.to_json() for rec in _varied()]
    partial = json.loads(lines[1])  # a line without its optional fields: the defaults
    lines[1] = json.dumps({k: partial[k] for k in ("run_id", "timestamp", "input_tokens")})
    clean = _write(tmp_path / "clean.jsonl", lines)
    bad = _write(
        tmp_path / "bad.jsonl", [*lines[:5], '{"run_id": "x", "priced": "yes"}', *lines[5:]]
    )
    with Ledger(ledger_url) as ledger:
        assert ledger.import_jsonl(clean).added == len(lines)
        whole = _stored(ledger)
        _clear(ledger)
        done = ledger.import_jsonl(bad)
        assert (done.added, done.rejected) == (len(lines), 1)
        assert _stored(ledger) == whole
        assert sorted(ledger.iter_records(), key=lambda r: r.run_id)[0] == _varied()[0]


def test_recorded_records_are_stored_as_imported_ones(ledger_url: str, tmp_path: Path) -> None:
    recs = [CallRecord.from_json(rec.to_json()) for rec in _varied()]  # costs as exported
    dump = _write(tmp_path / "dump.jsonl", [rec.to_json() for rec in recs])
    with Ledger(ledger_url) as ledger:
        ledger.import_jsonl(dump)
        imported = _stored(ledger)
        _clear(ledger)
        for rec in recs:
            ledger.record(rec)
        ledger.flush()
        assert _stored(ledger) == imported
        assert sorted(ledger.iter_records(), key=lambda r: r.run_id) == sorted(
            recs, key=lambda r: r.run_id
        )


def test_a_record_outside_the_batch_path_is_stored_as_on_it(ledger_url: str) -> None:
    recs = _varied()
    # a timestamp in another zone sends the whole batch record by record
    paris = dt.timezone(dt.timedelta(hours=1))
    moved = make_record(0, when=recs[0].timestamp.astimezone(paris), metadata=recs[0].metadata)
    with Ledger(ledger_url) as ledger:
        for rec in recs:
            ledger.record(rec)
        ledger.flush()
        fast = _stored(ledger)
        _clear(ledger)
        for rec in [moved, *recs[1:]]:
            ledger.record(rec)
        ledger.flush()
        assert _stored(ledger) == fast


def test_text_every_record_of_a_batch_shares_is_stored_exactly(ledger_url: str) -> None:
    quoted = "it's a 'quoted'' name; DROP TABLE azcost_calls; --"
    recs = [
        make_record(i, deployment=quoted, region="é", total="0.000078", metadata={"q": quoted})
        for i in range(50)
    ]
    with Ledger(ledger_url) as ledger:
        for rec in recs:
            ledger.record(rec)
        ledger.flush()
        back = list(ledger.iter_records())
    assert back == recs
    assert {r.deployment for r in back} == {quoted}
    assert {r.total_cost for r in back} == {Decimal("0.000078")}


def test_a_batch_of_one_record_is_stored(ledger_url: str) -> None:
    rec = make_record(1)
    with Ledger(ledger_url, durability="sync") as ledger:
        ledger.record(rec)
        assert list(ledger.iter_records()) == [rec]


def test_a_run_id_twice_in_one_batch_keeps_the_first(ledger_url: str, tmp_path: Path) -> None:
    first = make_record(1, deployment="first")
    again = make_record(1, deployment="again", total=None, priced=False)
    dump = _write(
        tmp_path / "twice.jsonl", [first.to_json(), make_record(2).to_json(), again.to_json()]
    )
    with Ledger(ledger_url) as ledger:
        done = ledger.import_jsonl(dump)
        assert (done.added, done.present) == (2, 1)
        assert [r.deployment for r in ledger.iter_records()] == ["first", "chat"]


def test_odd_lines_are_judged_as_one_by_one(tmp_path: Path) -> None:
    good = make_record(1).to_json()
    odd = [
        "  " + good,  # leading blanks: a good record
        good[:-1] + ', "x": 1}',  # an unknown field
        good + " 7",  # more after the object
        good + "\x0b",  # a blank Python knows and JSON does not
        good.replace('"run_id":"run-00000001"', '"run_id":"a","run_id":"b"'),
        good.replace('"input_tokens":31', '"input_tokens":' + "9" * 40),
        good.replace('"metadata":{"user":"ann"}', '"metadata":{"n":' + "9" * 40 + "}"),
        good.replace('"tags":["feature:chat"]', '"tags":{}'),
        good.replace('"tags":["feature:chat"]', '"tags":[' + "9" * 40 + "]"),
        good.replace('"metadata":{"user":"ann"}', '"metadata":[]'),
    ]
    for i, line in enumerate(odd):
        path = tmp_path / f"odd{i}.jsonl"
        path.write_bytes(line.encode() + b"\r\n")
        try:
            expected = ("added", CallRecord.from_json(line).run_id)
        except ValueError as exc:
            expected = ("rejected", f"{path}:1: {exc}")
        with Ledger(f"sqlite:///{tmp_path / f'odd{i}.db'}") as ledger:
            done = ledger.import_jsonl(path)
            got = ("added", ledger.iter_records().__next__().run_id) if done.added else None
        assert (got or ("rejected", done.problems[0])) == expected, line


def _daily(ledger: Ledger) -> list[tuple[Any, ...]]:
    with ledger.read_engine().connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM azcost_daily ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9")
        return [tuple(row) for row in rows]


def _daily_by_sql(ledger: Ledger) -> list[tuple[Any, ...]]:
    """The daily rollup as the SQL computes it from every stored call."""
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM azcost_daily")
        conn.exec_driver_sql(ROLLUP_BATCH_SQL, (0,))
    return _daily(ledger)


def test_the_daily_rollup_kept_per_batch_equals_the_sql_over_the_stored_calls(
    tmp_path: Path,
) -> None:
    day2 = dt.datetime(2026, 11, 3, 0, 0, 1, tzinfo=UTC)
    batches = [
        _varied(),  # many groups, NULL keys, a tier, inexact and unpriced totals
        [make_record(100 + i, model=f"m{i % 3}", input_tokens=i) for i in range(40)],
        [
            make_record(200 + i, when=day2, service_tier=None if i % 2 else "priority")
            for i in range(9)
        ],
        [make_record(300), make_record(301), make_record(300, deployment="again")],  # repeated id
        [make_record(301), make_record(302)],  # one run id already stored: only one row is new
        [make_record(400 + i, model=f"many{i}") for i in range(40)],  # more groups than kept
    ]
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger(url, flush_interval=3600, batch_size=1000) as ledger:
        for batch in batches:  # each one written in one transaction by flush()
            for rec in batch:
                ledger.record(rec)
            ledger.flush()
        kept = _daily(ledger)
        assert len(kept) > 40
        assert kept == _daily_by_sql(ledger)


def test_the_background_writer_never_touches_the_garbage_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the collector is the application's: a thread of azcost switching it off and on
    # could switch it back on in the middle of the application's own gc.disable()
    callers: list[str] = []

    def spy(real: Any) -> Any:
        def call() -> None:
            callers.append(threading.current_thread().name)
            real()

        return call

    monkeypatch.setattr(gc, "disable", spy(gc.disable))
    monkeypatch.setattr(gc, "enable", spy(gc.enable))
    records = [make_record(i, metadata={"user": f"u{i}", "v": [i]}) for i in range(3000)]
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", batch_size=1000) as ledger:
        for rec in records:
            ledger.record(rec)
        ledger.flush()
        assert ledger.stats()["records"] == 3000
    assert callers == []
