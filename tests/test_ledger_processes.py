"""The ledger under many writer processes, atexit and kill -9: no acknowledged record lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import count_records, stored_run_ids

from azcost.ledger import Ledger, audit

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url


# --------------------------------------------------------------------------- processes

_WRITER = textwrap.dedent(
    """
    import sys
    from ledger_helpers import make_record
    from azcost.ledger import Ledger

    url, durability, start, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ledger = Ledger(url, durability=durability)
    for i in range(start, start + n):
        ledger.record(make_record(i))
        if durability == "sync":
            print(make_record(i).run_id, flush=True)
    # no flush or close: the atexit hook must commit what is queued
    """
)


def _writer(url: str, durability: str, start: int, n: int, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc: subprocess.Popen[str] = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, durability, str(start), str(n)],
        env=env,
        text=True,
        **kw,  # type: ignore[call-overload]
    )
    return proc


@pytest.mark.parametrize("durability", ["async", "sync"])
def test_eight_processes_writing_one_ledger_lose_nothing(ledger_url: str, durability: str) -> None:
    n = 150
    procs = [
        _writer(ledger_url, durability, k * n, n, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for k in range(8)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert not any("locked" in e or "Warning" in e for e in errors), errors
    assert count_records(ledger_url) == 8 * n


SCALE = int(os.environ.get("AZCOST_STRESS_SCALE", "1"))


@pytest.mark.stress
def test_eight_async_writers_of_many_records_lose_nothing(ledger_url: str) -> None:
    n = 5000 * SCALE
    procs = [
        _writer(ledger_url, "async", k * n, n, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for k in range(8)
    ]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert count_records(ledger_url) == 8 * n
    with Ledger(ledger_url) as ledger:
        (row,) = audit(ledger.read_engine())
    assert (row.requests, row.total_cost) == (8 * n, 8 * n * Decimal("0.000078"))


def test_atexit_commits_queued_records(ledger_url: str) -> None:
    proc = _writer(ledger_url, "async", 0, 500)
    assert proc.wait() == 0
    assert count_records(ledger_url) == 500


def test_kill_9_of_a_sync_writer_loses_no_acknowledged_record(ledger_url: str) -> None:
    proc = _writer(ledger_url, "sync", 0, 100_000, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(40)]
    os.kill(proc.pid, signal.SIGKILL)
    acknowledged += proc.stdout.read().split()  # printed before the kill landed
    proc.stdout.close()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert set(acknowledged) <= stored_run_ids(ledger_url)
