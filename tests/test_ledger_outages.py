"""The ledger through outages: spooled, replayed, bad records set aside, nothing lost."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from ledger_helpers import count_records, make_record, sqlite_url, stored_run_ids

from azcost.errors import LedgerWarning
from azcost.ledger import Ledger

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url


# --------------------------------------------------------------------------- outages


def _record_all(ledger: Ledger, ids: range, *, flush: bool = False) -> None:
    for i in ids:
        ledger.record(make_record(i))
    if flush:
        ledger.flush()


def _blocked_sqlite(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite URL whose directory is a plain file: every connection attempt fails."""
    blocker = tmp_path / "blocked"
    blocker.write_text("not a directory")
    return sqlite_url(blocker / "ledger.db"), blocker


def test_unreachable_database_spools_records_and_warns(tmp_path: Path) -> None:
    url, _ = _blocked_sqlite(tmp_path)
    ledger = Ledger(url, durability="sync")
    with pytest.warns(LedgerWarning, match="replayed on the next successful write"):
        _record_all(ledger, range(5))
    assert ledger.spool.count() == 5
    assert ledger.spool.path.is_relative_to(Path(os.environ["AZCOST_HOME"]))


@pytest.mark.parametrize("durability", ["async", "sync"])
def test_spooled_records_are_replayed_on_the_next_successful_write(
    tmp_path: Path, durability: str
) -> None:
    url, blocker = _blocked_sqlite(tmp_path)
    ledger = Ledger(url, durability=durability, retry_interval=0)  # type: ignore[arg-type]
    with pytest.warns(LedgerWarning):
        _record_all(ledger, range(5), flush=True)
    blocker.unlink()
    blocker.mkdir()  # the database is reachable again
    ledger.record(make_record(5))
    ledger.close()
    assert stored_run_ids(url) == {f"run-{i:08d}" for i in range(6)}
    assert ledger.spool.count() == 0


class _Forwarder:
    """A TCP forwarder on 127.0.0.1:port to PostgreSQL: the server 'comes back' when it starts."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.target = target
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.mark.postgres
def test_postgres_outage_spools_then_replays_when_the_server_returns(pg_url: str) -> None:
    target = sa.make_url(pg_url)
    with socket.socket() as probe:  # a port nobody listens on (yet)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    ledger = Ledger(url, durability="sync", retry_interval=0)
    with pytest.warns(LedgerWarning, match="OperationalError"):
        _record_all(ledger, range(5))
    assert ledger.spool.count() == 5
    forwarder = _Forwarder(port, (target.host or "127.0.0.1", target.port or 5432))
    try:
        ledger.record(make_record(5))
        ledger.close()
    finally:
        forwarder.close()
    assert ledger.spool.count() == 0
    assert stored_run_ids(pg_url) == {f"run-{i:08d}" for i in range(6)}


def test_full_queue_spills_to_the_spool_and_another_writer_replays_it(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    tiny = Ledger(url, max_queue=0)
    with pytest.warns(LedgerWarning, match="queue is full"):
        _record_all(tiny, range(20))
    assert tiny.spool.count() == 20
    with Ledger(url, durability="sync") as other:
        other.record(make_record(20))
    assert count_records(url) == 21


def test_a_record_the_database_refuses_is_set_aside_and_the_others_committed(
    ledger_url: str,
) -> None:
    ledger = Ledger(ledger_url, flush_interval=3600)  # the writer runs on flush only
    for i in range(3):
        ledger.record(make_record(i, currency=None) if i == 1 else make_record(i))
    with pytest.warns(LedgerWarning, match="record 'run-00000001' refused"):
        ledger.flush()
    ledger.close()
    assert stored_run_ids(ledger_url) == {"run-00000000", "run-00000002"}
    (line,) = ledger.spool.path.with_suffix(".rejected.jsonl").read_text().splitlines()
    assert json.loads(line)["run_id"] == "run-00000001"
    assert ledger.spool.count() == 0


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def test_a_record_that_cannot_be_converted_does_not_stop_the_writer(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    ledger = Ledger(url, flush_interval=3600)  # the writer runs on flush only
    ledger.record(make_record(0, metadata={"bad": _Unprintable()}))
    with pytest.warns(LedgerWarning, match="record 'run-00000000' refused"):
        ledger.flush()
    ledger.record(make_record(1))
    ledger.flush(timeout=60)
    ledger.close()
    assert stored_run_ids(url) == {"run-00000001"}


def test_torn_spool_line_is_kept_aside_not_lost(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    ledger = Ledger(url, durability="sync")
    ledger.spool.append([make_record(1)])
    with open(ledger.spool.path, "a", encoding="utf-8") as f:
        f.write('{"run_id": "torn", "timest')
    ledger.record(make_record(2))
    ledger.close()
    assert stored_run_ids(url) == {"run-00000001", "run-00000002"}
    assert "torn" in ledger.spool.path.with_suffix(".bad").read_text()
