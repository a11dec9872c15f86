"""Tag rollups: ``audit --by tag:KEY`` read from a rollup equals the scan of every call.

Each test compares the audit read from a tag's rollup with the same audit after the
rollup is removed (a scan of every call), and with sums done here from the records.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import UTC, make_record, sqlite_url

from azcost import PricingTable
from azcost.cli import main
from azcost.errors import LedgerError, LedgerWarning
from azcost.ledger import (
    CallRecord,
    Ledger,
    Reprice,
    audit,
    backfill_rollup_tag,
    remove_rollup_tag,
    rollup_tags,
)

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

USERS: tuple[Any, ...] = ("ann", "bob", "", "用户", 7, None)
"""Values of metadata ``user`` by call; None: no ``user`` key at all (an untagged call)."""
MODELS = ("gpt-35-turbo-0301", "gpt-4o-2024-08-06", None)


def _records(n: int, start: int = 0) -> list[CallRecord]:
    """Calls over 3 days, 3 models (one unresolved), mixed users, exact and inexact costs."""
    out = []
    for i in range(start, start + n):
        user = USERS[i % len(USERS)]
        meta: dict[str, Any] = {} if user is None else {"user": user}
        if i % 4 == 0:
            meta["Ключ ü"] = f"v{i % 3}"  # a unicode key
        model = MODELS[i % len(MODELS)]
        # one in five costs has 14 decimal places: not a whole number of 1e-12 units
        total = f"0.000{i:03d}" + ("0000000001" if i % 5 == 0 else "")
        out.append(
            make_record(
                i,
                run_id=f"run-{(i * 7919) % 100_003:06d}-{i}",  # run ids not in time order
                when=dt.datetime(2026, 11, 1 + i % 3, 8, i % 60, tzinfo=UTC),
                model=model,
                reported_model="gpt-9" if model is None else "gpt-4o",
                region=("eastus", "swedencentral")[i % 2],
                input_tokens=10 + i,
                output_tokens=i % 7,
                total=None if model is None else total,
                unpriced_reason="unknown model" if model is None else None,
                metadata=meta,
                tags=() if i % 3 else (f"feature:f{i % 2}",),
            )
        )
    return out


def _record(url: str, records: Sequence[CallRecord], **options: Any) -> None:
    with Ledger(url, **options) as ledger:
        for rec in records:
            ledger.record(rec)


def _rows(url: str, by: Sequence[str], **filters: Any) -> tuple[str, list[dict[str, Any]]]:
    with Ledger(url, create=False) as ledger:
        result = audit(ledger.read_engine(), by, **filters)
    return result.source, [row.as_dict(by) for row in result]


ASKS: list[tuple[list[str], dict[str, Any]]] = [
    (["tag:user"], {}),
    (["tag:user", "model"], {}),
    (["day", "tag:user"], {}),
    (["tag:user", "month", "region", "deployment-type", "deployment"], {}),
    (["tag:user"], {"since": dt.date(2026, 11, 2), "until": dt.date(2026, 11, 2)}),
    (["tag:user"], {"model": "gpt-4o-2024-08-06"}),
    (["tag:Ключ ü", "day"], {}),
]


def _assert_rollup_equals_scan(url: str, keys: Sequence[str]) -> None:
    """Every ask answered from the rollup, then the same asks scanned after removing it."""
    asks = [(by, f) for by, f in ASKS if any(b[4:] in keys for b in by if b.startswith("tag:"))]
    from_rollup = []
    for by, filters in asks:
        tag = next(b for b in by if b.startswith("tag:"))
        source, rows = _rows(url, by, **filters)
        assert source == f"rollup:{tag[4:]}", (by, source)
        from_rollup.append(rows)
    with Ledger(url, create=False) as ledger:
        for key in keys:
            assert remove_rollup_tag(ledger.engine, key)
    for (by, filters), rows in zip(asks, from_rollup, strict=True):
        source, scanned = _rows(url, by, **filters)
        assert source == "scan"
        assert rows == scanned, by


def _by_user(records: Sequence[CallRecord]) -> dict[str | None, tuple[int, Decimal]]:
    """Requests and exact cost per user, summed here from the records (first copy of a run id)."""
    seen: dict[str, CallRecord] = {}
    for rec in records:
        seen.setdefault(rec.run_id, rec)
    out: dict[str | None, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for rec in seen.values():
        user = rec.metadata.get("user")
        key = None if user is None else user if isinstance(user, str) else json.dumps(user)
        out[key][0] += 1
        out[key][1] += rec.total_cost or 0
    return {k: (v[0], v[1]) for k, v in out.items()}


def _audit_by_user(url: str) -> dict[str | None, tuple[int, Decimal]]:
    with Ledger(url, create=False) as ledger:
        rows = audit(ledger.read_engine(), ["tag:user"])
    return {row.keys[0]: (row.requests, row.total_cost) for row in rows}


def test_the_tag_rollup_answers_exactly_as_the_scan_of_every_call(ledger_url: str) -> None:
    records = _records(60)
    _record(ledger_url, records, rollup_tags=["user", "Ключ ü"])
    assert _audit_by_user(ledger_url) == _by_user(records)
    _assert_rollup_equals_scan(ledger_url, ["user", "Ключ ü"])


def test_repricing_from_the_tag_rollup_equals_repricing_the_scan(
    ledger_url: str, mini: PricingTable
) -> None:
    _record(ledger_url, _records(30), rollup_tags=["user"])
    by = ["tag:user", "day"]
    results = []
    for _ in range(2):  # from the rollup, then scanned once the rollup is removed
        with Ledger(ledger_url, create=False) as ledger:
            result = audit(ledger.read_engine(), by, reprice=Reprice(mini))
            results.append((result.source, [row.as_dict(by) for row in result]))
            remove_rollup_tag(ledger.engine, "user")
    assert [source for source, _ in results] == ["rollup:user", "scan"]
    assert results[0][1] == results[1][1]
    assert any(row["repriced_cost"] not in (None, "0") for row in results[0][1])


def test_a_resent_run_id_counts_once_in_the_tag_rollup(ledger_url: str) -> None:
    records = _records(30)
    _record(ledger_url, records, rollup_tags=["user"])
    _record(ledger_url, [*records[5:20], *_records(10, start=30), *records[:3]])
    _record(ledger_url, records[:4], durability="sync")
    assert _audit_by_user(ledger_url) == _by_user([*records, *_records(10, start=30)])
    _assert_rollup_equals_scan(ledger_url, ["user"])


def test_a_ledger_opened_without_the_option_keeps_the_rollup(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZCOST_LEDGER_ROLLUP_TAGS", "user, feature")
    first = _records(20)
    _record(ledger_url, first)  # the keys come from the environment
    monkeypatch.delenv("AZCOST_LEDGER_ROLLUP_TAGS")
    with Ledger(ledger_url) as ledger:
        assert [t.key for t in rollup_tags(ledger.engine)] == ["feature", "user"]
    _record(ledger_url, _records(25, start=20))  # no option, no variable: still kept
    assert _audit_by_user(ledger_url) == _by_user(_records(45))
    _assert_rollup_equals_scan(ledger_url, ["user"])


def test_an_interrupted_backfill_resumes_and_counts_every_call_once(ledger_url: str) -> None:
    before = _records(40)
    _record(ledger_url, before)
    with (
        pytest.warns(LedgerWarning, match="azcost ledger rollup add user"),
        Ledger(ledger_url, rollup_tags=["user"]) as ledger,
    ):
        ledger.engine  # noqa: B018 - registers the key, not ready
    assert _rows(ledger_url, ["tag:user"])[0] == "scan"  # not ready: the audit scans

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with Ledger(ledger_url) as ledger:
        with pytest.raises(KeyboardInterrupt):
            backfill_rollup_tag(ledger.engine, "user", batch=7, progress=stop)
        (tag,) = rollup_tags(ledger.engine)
        assert not tag.ready
        assert tag.backfilled_through
    # calls written meanwhile: run ids below and above how far the backfill got
    during = _records(30, start=40)
    _record(ledger_url, during)
    with Ledger(ledger_url) as ledger:
        engine = ledger.engine
        assert 0 < backfill_rollup_tag(engine, "user", batch=7) <= 70 - 7
        assert backfill_rollup_tag(engine, "user", batch=7) == 0  # done: nothing more
    assert _audit_by_user(ledger_url) == _by_user([*before, *during])
    _assert_rollup_equals_scan(ledger_url, ["user"])


def test_ledger_import_keeps_the_tag_rollup(tmp_path: Path, ledger_url: str) -> None:
    records = _records(50)
    source = tmp_path / "calls.jsonl"
    lines = [rec.to_json() for rec in records]
    source.write_text("\n".join([*lines, *lines[:10]]) + "\n", encoding="utf-8")
    with Ledger(ledger_url, rollup_tags=["user"]) as ledger:
        ledger.engine  # noqa: B018 - register the key on the empty ledger
    assert main(["ledger", "import", str(source), ledger_url]) == 0
    assert main(["ledger", "import", str(source), ledger_url]) == 0  # again: nothing added
    assert _audit_by_user(ledger_url) == _by_user(records)
    _assert_rollup_equals_scan(ledger_url, ["user"])


def test_a_sum_past_64_bits_falls_back_to_the_scan_and_says_so(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "big.db")
    # each total fits 64 bits in 1e-12 units (5e18); their sum does not
    big = [make_record(i, total="5000000.25", metadata={"user": "ann"}) for i in range(20)]
    _record(url, big, rollup_tags=["user"])
    source, rows = _rows(url, ["tag:user"])
    assert source == "scan"
    assert rows[0]["total_cost"] == "100000005"


@pytest.mark.parametrize(
    ("by", "why"),
    [
        (["tag:feature"], "tag 'feature' is not rolled up: azcost ledger rollup add feature"),
        (["tag:user", "match"], "--by match is not in the rollup of tag 'user'"),
        (["tag:user", "tag:other"], "each tag key is rolled up on its own"),
    ],
)
def test_the_audit_scans_what_the_rollup_cannot_answer_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], by: list[str], why: str
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    _record(url, _records(12), rollup_tags=["user"])
    args = [x for b in by for x in ("--by", b)]
    assert main(["audit", url, *args]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("source: scan: every call (")
    assert why in last
    assert main(["audit", url, *args, "--format", "json"]) == 0
    assert {row["source"] for row in json.loads(capsys.readouterr().out)} == {"scan"}


def test_the_audit_says_it_read_the_rollup_in_text_json_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    _record(url, _records(12), rollup_tags=["user"])
    report = tmp_path / "report.html"
    assert main(["audit", url, "--by", "tag:user", "--by", "day", "--html", str(report)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "source: rollup:user: the rollup of tag 'user'"
    assert 'id="source" data-source="rollup:user"' in report.read_text(encoding="utf-8")
    assert main(["audit", url, "--by", "tag:user", "--format", "json"]) == 0
    assert {row["source"] for row in json.loads(capsys.readouterr().out)} == {"rollup:user"}


def test_rollup_add_list_and_remove_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    records = _records(25)
    _record(url, records)
    assert main(["ledger", "rollup", "add", "user", url, "--batch", "4"]) == 0
    out, err = capsys.readouterr()
    assert "25 earlier call(s) counted" in out
    assert err == ""  # no progress line when stderr is not a terminal
    assert main(["ledger", "rollup", "add", "user", url]) == 0  # again: nothing to count
    assert "0 earlier call(s)" in capsys.readouterr().out
    assert main(["ledger", "rollup", "list", url, "--format", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["key"], listed["ready"]) == ("user", True)
    assert _audit_by_user(url) == _by_user(records)
    assert _rows(url, ["tag:user"])[0] == "rollup:user"
    assert main(["ledger", "rollup", "remove", "user", url]) == 0
    assert main(["ledger", "rollup", "list", url]) == 0
    assert "no tag rolled up" in capsys.readouterr().out
    assert _rows(url, ["tag:user"])[0] == "scan"


@pytest.mark.parametrize("key", ['a"b', "back\\slash", "", " user", "new\nline", "x" * 201])
def test_a_bad_rollup_key_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    assert main(["ledger", "rollup", "add", key, url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("azcost: error: rollup tag key")
    assert "\n" not in err


def test_removing_a_key_not_rolled_up_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    _record(url, _records(3))
    assert main(["ledger", "rollup", "remove", "user", url]) == 2
    assert capsys.readouterr().err.strip() == (
        "azcost: error: tag 'user' is not rolled up (azcost ledger rollup list)"
    )


def test_a_bad_key_in_the_environment_is_refused_when_the_ledger_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZCOST_LEDGER_ROLLUP_TAGS", 'user,a"b')
    with pytest.raises(LedgerError, match="rollup tag key 'a\"b'"):
        Ledger(sqlite_url(tmp_path / "ledger.db"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(LedgerError, match="not the string"):
            Ledger(sqlite_url(tmp_path / "ledger.db"), rollup_tags="user")
