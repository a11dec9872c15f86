"""Hostile inputs made at run time: special files, huge files, hostile servers and ledger URLs.

The same guarantees as tests/test_hostile.py: one clear error naming the file or
URL, exit status 2, no traceback, nothing written, nothing recorded lost, bounded
time (and memory, under ``.ci/run``'s limit).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hostile_helpers import assert_names, cases, files_in, run_cli, time_limit
from ledger_helpers import make_record, sqlite_url

from azcost.callback import load_deployments
from azcost.errors import DeploymentsFileError
from azcost.inputs import MAX_LINE_BYTES
from azcost.ledger import Ledger

pytestmark = pytest.mark.hostile

DATA = Path(__file__).parent / "data"
PAGE = DATA / "retail" / "page1.json"
TABLE = DATA / "retail" / "table.yaml"

# ---------------------------------------------------------------- special and huge files


def _make(kind: str, folder: Path, suffix: str) -> Path:
    path = folder / f"hostile-{kind}{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "sparse-huge":  # 65 MiB that take no disk: refused by size before reading
        with path.open("wb") as f:
            f.truncate(65 * 1024 * 1024)
    return path


ENTRY_POINTS: dict[str, tuple[str, Callable[[Path, Path], list[str]]]] = {
    "pricing validate": (".yaml", lambda p, w: ["pricing", "validate", str(p)]),
    "price --pricing": (
        ".yaml",
        lambda p, w: ["price", "gpt-4o", "--input", "1", "--output", "1", "--pricing", str(p)],
    ),
    "import-azure": (
        ".json",
        lambda p, w: ["pricing", "import-azure", str(p), "--output", str(w / "new.yaml")],
    ),
    "update --from": (
        ".json",
        lambda p, w: ["pricing", "update", str(w / "table.yaml"), "--from", str(p)],
    ),
    "audit --reprice": (
        ".yaml",
        lambda p, w: ["audit", sqlite_url(w / "spend.db"), "--reprice", str(p)],
    ),
    "ledger import": (".jsonl", lambda p, w: ["ledger", "import", str(p), str(w / "spend.db")]),
    "reconcile": (".csv", lambda p, w: ["reconcile", str(p), sqlite_url(w / "spend.db")]),
    "audit (ledger file)": (".db", lambda p, w: ["audit", str(p)]),
    "ledger stats (ledger file)": (".db", lambda p, w: ["ledger", "stats", str(p)]),
}
KINDS = ("fifo", "dev-zero", "folder", "sparse-huge")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding a ledger with three records and a table to update."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(TABLE, tmp_path / "table.yaml")
    with Ledger(sqlite_url(tmp_path / "spend.db"), durability="sync") as ledger:
        for i in range(3):
            ledger.record(make_record(i))
    return tmp_path


def _records(path: Path) -> list[str]:
    with Ledger(sqlite_url(path)) as ledger:
        return sorted(r.run_id for r in ledger.iter_records())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_special_and_huge_files_are_refused_at_once(
    entry: str, kind: str, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suffix, argv = ENTRY_POINTS[entry]
    if kind == "sparse-huge" and suffix == ".db":
        pytest.skip("a SQLite file is not read whole; its size is no input limit")
    hostile = _make(kind, work, suffix)
    table = (work / "table.yaml").read_bytes()
    before = files_in(work)
    code, lines = run_cli(argv(hostile, work), capsys)
    assert code == 2
    streamed = kind == "sparse-huge" and suffix == ".jsonl"  # read by line: no whole-file cap
    assert len(lines) == (2 if streamed else 1)  # an import ends with its summary line
    shown = str(hostile) if kind != "dev-zero" or suffix != ".db" else "/dev/zero"
    assert shown in lines[0], lines[0]
    word = {"fifo": "FIFO", "dev-zero": "device", "folder": "folder", "sparse-huge": "too large"}
    if streamed:
        word[kind] = "line longer than"
    elif kind == "sparse-huge" and suffix == ".csv":  # streamed: its first line is all NUL
        word[kind] = "a NUL byte"
    assert word[kind] in lines[0]
    assert files_in(work) == before
    assert (work / "table.yaml").read_bytes() == table
    assert _records(work / "spend.db") == ["run-00000000", "run-00000001", "run-00000002"]


@pytest.mark.parametrize("kind", KINDS)
def test_special_and_huge_deployments_maps_are_refused(kind: str, tmp_path: Path) -> None:
    hostile = _make(kind, tmp_path, ".yaml")
    with time_limit(), pytest.raises(DeploymentsFileError, match=str(hostile)):
        load_deployments(hostile)


def test_the_size_limit_is_the_environment_s(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZCOST_MAX_INPUT_BYTES", "1000")
    code, lines = run_cli(["pricing", "validate", str(TABLE)], capsys)
    assert code == 2
    assert_names(lines[0], TABLE, None)
    assert "over the limit of 1,000 bytes (set $AZCOST_MAX_INPUT_BYTES" in lines[0]


def test_a_jsonl_line_over_the_line_limit_is_named_and_nothing_recorded_is_lost(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = work / "long.jsonl"
    long_line = make_record(8, deployment="d" * (MAX_LINE_BYTES + 10)).to_json()
    source.write_text(make_record(7).to_json() + "\n" + long_line + "\n")
    code, lines = run_cli(["ledger", "import", str(source), str(work / "spend.db")], capsys)
    assert code == 2
    assert any(f"{source}:2:" in line for line in lines)
    kept = _records(work / "spend.db")
    assert {"run-00000000", "run-00000001", "run-00000002"} <= set(kept)
    assert "run-00000008" not in kept


def _gzip_export(path: Path, lines: int, line: bytes) -> Path:
    import gzip

    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"Date,MeterName,Quantity,UnitOfMeasure,CostInBillingCurrency\n")
        for _ in range(lines):
            f.write(line)
    return path


def test_a_gzip_bomb_is_refused_by_its_expansion(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """40 MB of the same line in about 100 KB of gzip: refused long before it is all read."""
    bomb = _gzip_export(work / "export.csv.gz", 40_000, b"a,b,c,d," + b"0" * 991 + b"\n")
    before = files_in(work)
    code, lines = run_cli(["reconcile", str(bomb), sqlite_url(work / "spend.db")], capsys)
    assert code == 2
    assert len(lines) == 1
    assert_names(lines[0], bomb, None)
    assert "expands more than 250-fold" in lines[0]
    assert files_in(work) == before


def test_a_stream_stops_at_the_limit_from_the_environment(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _gzip_export(
        work / "export.csv.gz", 2_000, b"a,b,c,d," + os.urandom(200).hex().encode() + b"\n"
    )
    monkeypatch.setenv("AZCOST_MAX_STREAM_BYTES", "100000")
    code, lines = run_cli(["reconcile", str(export), sqlite_url(work / "spend.db")], capsys)
    assert code == 2
    assert len(lines) == 1
    assert "over the limit of 100,000 bytes (set $AZCOST_MAX_STREAM_BYTES" in lines[0]


# ---------------------------------------------------------------- hostile ledger URLs


def _garbage_db(work: Path) -> str:
    (work / "garbage.db").write_bytes(b"this is not a database\n" * 200)
    return str(work / "garbage.db")


def _truncated_db(work: Path) -> str:
    data = (work / "spend.db").read_bytes()
    (work / "truncated.db").write_bytes(data[: len(data) // 3])
    return str(work / "truncated.db")


LEDGER_URLS: dict[str, tuple[Callable[[Path], str], str]] = {
    "port-not-a-number": (lambda w: "postgresql://user@:notaport/db", "not a database URL"),
    "password-masked": (lambda w: "postgresql://user:s3cret@:notaport/db", "not a database URL"),
    "unsupported-scheme": (lambda w: "mysql://user@127.0.0.1/db", "unsupported ledger URL"),
    "not-a-url": (lambda w: "sqlite:////" + "x" * 5000 + "/ledger.db", "x"),
    "closed-port": (lambda w: "postgresql+psycopg://postgres@127.0.0.1:1/db", "127.0.0.1"),
    "garbage-file": (_garbage_db, "garbage.db"),
    "truncated-file": (_truncated_db, "truncated.db"),
    "missing-file": (lambda w: str(w / "typo" / "spend.db"), "spend.db"),
}


PENDING_URLS: dict[str, str] = {}


@pytest.mark.parametrize("case", cases(sorted(LEDGER_URLS), PENDING_URLS))
@pytest.mark.parametrize("verb", [["audit"], ["ledger", "stats"], ["ledger", "export"]])
def test_a_hostile_ledger_url_is_one_line_and_creates_nothing(
    case: str, verb: list[str], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_url, word = LEDGER_URLS[case]
    url = make_url(work)
    before = files_in(work)
    code, lines = run_cli([*verb, url], capsys)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("azcost: error: ")
    assert word in lines[0]
    assert "s3cret" not in lines[0]
    assert files_in(work) == before, "a reading command created files"


# ---------------------------------------------------------------- a hostile price server


@dataclass
class _Answer:
    body: bytes
    status: int = 200
    delay: float = 0.0


@dataclass
class _Server:
    url: str = ""
    answers: dict[str, _Answer] = field(default_factory=dict)


@pytest.fixture
def server() -> Iterator[_Server]:
    """A local HTTP server answering each path with what the test put in ``answers``."""
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = state.answers.get(self.path.split("?")[0], _Answer(b"", 404))
            time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: Any) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up (the slow case) closes the socket mid-answer

    httpd = Quiet(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _page(next_link: str | None) -> bytes:
    page = json.loads(PAGE.read_text())
    page["NextPageLink"] = next_link
    return json.dumps(page).encode()


FETCH_CASES: dict[str, tuple[Callable[[str], _Answer], str]] = {
    "next-link-file-url": (lambda u: _Answer(_page("file:///etc/passwd")), "file:///etc/passwd"),
    "next-link-other-host": (lambda u: _Answer(_page("https://evil.example/p")), "evil.example"),
    "next-link-other-port": (
        lambda u: _Answer(_page("http://127.0.0.1:1/api")),
        "http://127.0.0.1:1/api",
    ),
    "next-link-loop": (lambda u: _Answer(_page(u + "/api")), "paging does not end"),
    "not-json": (lambda u: _Answer(b"<html>maintenance</html>"), "malformed JSON"),
    "not-utf8": (lambda u: _Answer(_page(None).replace(b"US East", b"US \xe9ast")), "UTF-8"),
    "nan-price": (
        lambda u: _Answer(_page(None).replace(b'"retailPrice": 0.0025', b'"retailPrice": NaN')),
        "NaN",
    ),
    "deep-json": (lambda u: _Answer(b'{"Items": ' + b"[" * 50000 + b"]" * 50000 + b"}"), "deeper"),
    "too-large": (lambda u: _Answer(b" " * 3_000_000 + _page(None)), "over the limit"),
    "not-found": (lambda u: _Answer(b"", 404), "HTTP 404"),
    "too-slow": (lambda u: _Answer(_page(None), delay=3.0), "request failed"),
}


@pytest.mark.parametrize("case", sorted(FETCH_CASES))
@pytest.mark.parametrize("command", ["import-azure", "update"])
def test_fetch_from_a_hostile_server_is_one_line_and_writes_nothing(
    case: str,
    command: str,
    server: _Server,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AZCOST_MAX_INPUT_BYTES", "2000000")
    make, word = FETCH_CASES[case]
    server.answers["/api"] = make(server.url)
    table = (work / "table.yaml").read_bytes()
    before = files_in(work)
    target = ["import-azure", "--output", "new.yaml"] if command == "import-azure" else []
    argv = ["pricing", *(target or ["update", "table.yaml"]), "--fetch", "--api-url"]
    argv += [server.url + "/api", "--timeout", "0.5", "--retries", "0"]
    argv += ["--save-pages", "pages"]
    code, lines = run_cli(argv, capsys)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("azcost: error: ")
    assert word in lines[0]
    assert (work / "table.yaml").read_bytes() == table
    assert files_in(work) == before
