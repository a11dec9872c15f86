"""The ledger's boundary: every way in checks each record; bad ones are set aside, not stored."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import make_record, sqlite_url

from azcost.cli import main
from azcost.errors import LedgerError, LedgerWarning
from azcost.ledger import (
    MAX_TOKENS,
    CallRecord,
    Ledger,
    RecordError,
    audit,
    check_record,
    record_from_json,
)

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url


def _line(**changes: Any) -> str:
    """A good record's JSON line with some fields replaced (None removes the field)."""
    data = make_record(1).to_dict()
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


_BAD_LINES = {
    "nan cost": (_line(total_cost="NaN"), "field 'total_cost'"),
    "text cost": (_line(total_cost="abc"), "field 'total_cost'"),
    "negative cost": (_line(input_cost="-0.5"), "field 'input_cost'"),
    "float cost": (_line(total_cost=0.5), "field 'total_cost': must be a decimal string"),
    "exponent cost": (_line(total_cost="1e400"), "field 'total_cost'"),
    "huge cost": (_line(total_cost="1" + "0" * 12), "field 'total_cost'"),
    "json infinity": (
        _line().replace('"output_tokens": 8', '"output_tokens": Infinity'),
        "Infinity",
    ),
    "json nan": (_line().replace('"output_tokens": 8', '"output_tokens": NaN'), "NaN"),
    "negative tokens": (_line(input_tokens=-1), "field 'input_tokens'"),
    "text tokens": (_line(input_tokens="abc"), "field 'input_tokens': must be an integer"),
    "huge tokens": (_line().replace('"input_tokens": 31', '"input_tokens": 1e400'), "input_tokens"),
    "too many tokens": (_line(input_tokens=MAX_TOKENS), "field 'input_tokens'"),
    "bool tokens": (_line(input_tokens=True), "field 'input_tokens'"),
    "integer timestamp": (_line(timestamp=1718236800), "field 'timestamp'"),
    "naive timestamp": (_line(timestamp="2026-11-02T12:00:00"), "has no time zone"),
    "bad timestamp": (_line(timestamp="yesterday"), "field 'timestamp'"),
    "nul in model": (_line(model="gpt\u0000x"), "field 'model': contains a NUL"),
    "nul in metadata": (_line(metadata={"user": "a\u0000"}), "field 'metadata': contains a NUL"),
    "long deployment": (_line(deployment="d" * 1001), "field 'deployment': longer than"),
    "unknown field": (_line(colour="red"), "unknown record fields: colour"),
    "no run id": (_line(run_id=None), "field 'run_id': is required"),
    "number run id": (_line(run_id=7), "field 'run_id': must be text"),
    "text priced": (_line(priced="yes"), "field 'priced'"),
    "not an object": ("[1, 2]", "a record is a JSON object"),
    "not json": ("{'run_id': 1}", "not valid JSON"),
    "deep json": ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(_BAD_LINES))
def test_a_bad_line_is_refused_naming_the_field(case: str) -> None:
    line, expected = _BAD_LINES[case]
    with pytest.raises(RecordError, match=expected.replace("(", r"\(")):
        record_from_json(line)


def test_a_good_line_is_read_exactly() -> None:
    rec = make_record(3, total="0.000000000000000000000123456789")
    assert record_from_json(rec.to_json()) == rec


def test_import_sets_bad_lines_aside_with_their_numbers_and_imports_the_rest(
    ledger_url: str, tmp_path: Path
) -> None:
    good = [make_record(i).to_json() for i in range(6)]
    bad_cost = _line(run_id="bad-1", total_cost="NaN")
    truncated = make_record(99).to_json()[:40]
    lines = [good[0], bad_cost, good[1], good[1], "", good[2], good[3], good[4], good[5]]
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe{}\n" + truncated.encode())
    with Ledger(ledger_url) as ledger:
        done = ledger.import_jsonl(dump, batch=2)
        stored = {rec.run_id for rec in ledger.iter_records()}
    assert (done.added, done.present, done.rejected) == (6, 1, 3)
    assert stored == {f"run-{i:08d}" for i in range(6)}
    assert done.problems[:2] == [
        f"{dump}:2: field 'total_cost': must be a plain non-negative decimal like '0.000078', "
        "not 'NaN'",
        f"{dump}:10: not UTF-8: byte 0xff at column 1",
    ]
    assert done.problems[2].startswith(f"{dump}:11: not valid JSON: Unterminated string")
    assert done.rejected_path == tmp_path / "dump.jsonl.rejected"
    assert done.rejected_path.read_bytes() == (
        bad_cost.encode() + b"\n\xff\xfe{}\n" + truncated.encode() + b"\n"
    )


def test_importing_the_same_file_twice_adds_nothing(ledger_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(make_record(i).to_json() + "\n" for i in range(40)))
    with Ledger(ledger_url) as ledger:
        ledger.import_jsonl(dump, batch=7)
        again = ledger.import_jsonl(dump, batch=7)
        (row,) = audit(ledger.read_engine())
    assert (again.added, again.present, row.requests) == (0, 40, 40)


def test_import_command_reports_rejected_lines_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(make_record(1).to_json() + "\n" + _line(run_id="x", input_tokens=-3) + "\n")
    url = sqlite_url(tmp_path / "ledger.db")
    assert main(["ledger", "import", str(dump), url, "--rejected", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"azcost: {dump}:2: field 'input_tokens': must be in [0, {MAX_TOKENS}), not -3\n"
        f"imported 1 record(s); 0 already present; 1 line(s) rejected, kept in {tmp_path / 'r'}\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only_and_not_when_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(make_record(i).to_json() + "\n" for i in range(50)))
    summary = "imported 50 record(s); 0 already present\n"
    shown, piped, quiet = _Terminal(), io.StringIO(), _Terminal()
    for n, (stream, flags) in enumerate(((shown, []), (piped, []), (quiet, ["--quiet"]))):
        monkeypatch.setattr(sys, "stderr", stream)
        url = sqlite_url(tmp_path / f"l{n}.db")
        assert main(["ledger", "import", *flags, str(dump), url]) == 0
    assert "50 records" in shown.getvalue()
    assert "100%  ETA" in shown.getvalue()
    assert shown.getvalue().endswith("\r\033[K" + summary)  # the line is cleared at the end
    assert piped.getvalue() == quiet.getvalue() == summary


def test_import_command_prints_no_progress_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(make_record(i).to_json() + "\n" for i in range(20)))
    assert main(["ledger", "import", str(dump), sqlite_url(tmp_path / "l.db")]) == 0
    assert capsys.readouterr().err == "imported 20 record(s); 0 already present\n"


# --------------------------------------------------------------------------- record()


def _record_now(ledger: Ledger, rec: CallRecord) -> None:
    ledger.record(rec)
    ledger.flush()


@pytest.mark.parametrize(
    "bad",
    [
        {"total_cost": Decimal("NaN")},
        {"input_cost": Decimal("-1")},
        {"output_cost": Decimal("Infinity")},
        {"input_tokens": -5},
        {"output_tokens": 1.5},
        {"timestamp": dt.datetime(2026, 11, 2, 12, 0)},
        {"model": "a\x00b"},
        {"metadata": {"score": float("nan")}},
    ],
    ids=repr,
)
def test_a_recorded_bad_record_is_set_aside_never_stored(
    ledger_url: str, bad: dict[str, Any]
) -> None:
    with Ledger(ledger_url) as ledger:
        ledger.record(make_record(1))
        with pytest.warns(LedgerWarning, match="record 'run-00000002' refused"):
            _record_now(ledger, make_record(2, **bad))
        rejected = ledger.spool.path.with_suffix(".rejected.jsonl")
        assert {rec.run_id for rec in ledger.iter_records()} == {"run-00000001"}
        (row,) = audit(ledger.read_engine())
    assert row.total_cost == Decimal("0.000078")
    assert "run-00000002" in rejected.read_text()


def test_check_record_accepts_what_the_callback_builds() -> None:
    check_record(make_record(1, total="0.000000000000000000000123456789012345678901"))


def test_a_spooled_record_out_of_bounds_is_kept_aside_on_replay(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url) as ledger:
        ledger.spool.path.parent.mkdir(parents=True, exist_ok=True)
        bad = _line(run_id="bad", total_cost="-1")
        ledger.spool.path.write_text(make_record(1).to_json() + "\n" + bad + "\n")
        ledger.spool.replay(ledger._commit_or_reject)
        assert {rec.run_id for rec in ledger.iter_records()} == {"run-00000001"}
        assert ledger.spool.path.with_suffix(".bad").read_text() == bad + "\n"


# --------------------------------------------------------------------------- old damage


def _damaged_ledger(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url) as ledger:
        for i in range(3):
            ledger.record(make_record(i))
    with sqlite3.connect(tmp_path / "ledger.db") as conn:  # as an older azcost let it in
        conn.execute("UPDATE azcost_calls SET total_cost = 'NaN' WHERE run_id = 'run-00000001'")
        conn.execute("UPDATE azcost_calls SET input_tokens = 1e400 WHERE run_id = 'run-00000002'")
        conn.execute("UPDATE azcost_daily SET input_tokens = 1e400")
    return url


def test_stats_of_a_damaged_ledger_names_the_run_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _damaged_ledger(tmp_path)
    assert main(["ledger", "stats", url, "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["damaged_records"] == 2
    assert stats["damaged_run_ids"] == ["run-00000001", "run-00000002"]
    assert stats["total_cost"] is None


def test_audit_of_a_damaged_ledger_is_one_line_naming_the_run_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _damaged_ledger(tmp_path)
    assert main(["audit", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("azcost: error: the ledger holds 2 record(s) with a non-finite")
    assert err.endswith("run id(s) run-00000001, run-00000002\n")


def test_postgres_refuses_nan_through_every_way_in(pg_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(_line(run_id="nan", total_cost="NaN") + "\n")
    with Ledger(pg_url) as ledger:
        assert ledger.import_jsonl(dump).rejected == 1
        with pytest.warns(LedgerWarning, match="refused"):
            _record_now(ledger, make_record(1, total_cost=Decimal("NaN")))
        assert list(ledger.iter_records()) == []


# --------------------------------------------------------------------------- readers


@pytest.mark.parametrize(
    "argv",
    [["audit"], ["ledger", "stats"], ["ledger", "export"], ["audit", "--by", "tag:user"]],
)
def test_reading_commands_never_create_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    path = tmp_path / "typo" / "spend.db"
    assert main([*argv, str(path)]) == 2
    assert (
        capsys.readouterr().err == f"azcost: error: no ledger at {path}: the file does not exist\n"
    )
    assert not (tmp_path / "typo").exists()


def test_reading_an_empty_postgres_database_does_not_create_tables(pg_url: str) -> None:
    with Ledger(pg_url, create=False) as ledger, pytest.raises(LedgerError, match="no ledger at"):
        ledger.read_engine()


def test_a_record_survives_json_export_and_import(tmp_path: Path) -> None:
    rec = make_record(5, metadata={"user": "ann", "n": 3, "ok": True}, tags=("feature:chat",))
    assert CallRecord.from_json(rec.to_json()) == rec
