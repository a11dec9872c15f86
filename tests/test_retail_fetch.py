"""`azcost pricing import --fetch`: Retail Prices API pages fetched, retried, host-checked."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from azcost.azure import fetch_pages, import_rows, read_pages
from azcost.cli import main
from azcost.errors import RetailImportError
from azcost.pricing import read_table

DATA = Path(__file__).parent / "data" / "retail"
PAGES = [DATA / "page1.json", DATA / "page2.json"]
TABLE = DATA / "table.yaml"


# --------------------------------------------------------------------------- --fetch


class _Api:
    """A local stand-in for prices.azure.com serving the fixture pages."""

    def __init__(self) -> None:
        self.failures: list[int] = []  # status codes to answer before serving
        self.requests: list[str] = []
        self.url = ""
        self.next_link: str | None = None  # page 1's NextPageLink instead of page 2


@pytest.fixture
def api() -> Iterator[_Api]:
    """The fixture pages served on 127.0.0.1 (port 0); page 1 links to page 2."""
    state = _Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if state.failures:
                code = state.failures.pop(0)
                self.send_response(code)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            page = json.loads((PAGES[1] if "skip=100" in self.path else PAGES[0]).read_text())
            if page["NextPageLink"]:
                page["NextPageLink"] = state.next_link or state.url + "?$skip=100"
            body = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/retail/prices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def test_fetch_follows_next_page_link(api: _Api) -> None:
    pages = fetch_pages(api_url=api.url, timeout=5)
    assert len(pages) == 2
    assert "skip=100" in api.requests[1]
    assert "currencyCode=USD" in api.requests[0]
    assert "filter" in api.requests[0]


def test_fetch_retries_429_and_5xx_with_backoff(api: _Api) -> None:
    api.failures = [429, 503]
    delays: list[float] = []
    pages = fetch_pages(api_url=api.url, timeout=5, retries=2, backoff=0.5, sleep=delays.append)
    assert len(pages) == 2
    assert len(delays) == 2


def test_fetch_gives_up_after_bounded_retries(api: _Api) -> None:
    api.failures = [500, 500, 500]
    with pytest.raises(RetailImportError, match="HTTP 500"):
        fetch_pages(api_url=api.url, timeout=5, retries=2, sleep=lambda _: None)
    assert len(api.requests) == 3


def test_fetch_does_not_retry_client_errors(api: _Api) -> None:
    api.failures = [400]
    with pytest.raises(RetailImportError, match="HTTP 400"):
        fetch_pages(api_url=api.url, timeout=5, retries=3, sleep=lambda _: None)
    assert len(api.requests) == 1


def test_cli_fetch_imports_and_saves_pages(
    api: _Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, saved = tmp_path / "new.yaml", tmp_path / "pages"
    code = main(
        [
            "pricing",
            "import-azure",
            "--fetch",
            "--api-url",
            api.url,
            "--table",
            str(TABLE),
            "-o",
            str(out),
            "--save-pages",
            str(saved),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in saved.iterdir()) == ["page-001.json", "page-002.json"]
    rows, _ = read_pages(sorted(saved.iterdir()))
    assert len(rows) == 48
    from_saved = import_rows(rows, read_table(TABLE).file.models)
    assert read_table(out).file.models == from_saved.file.models


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "https://prices.azure.com/api/retail/prices?$skip=100",
        "http://127.0.0.2:9/api/retail/prices?$skip=100",
        "http://user@127.0.0.1/api/retail/prices",
    ],
)
def test_fetch_refuses_a_next_page_link_off_the_api_host(api: _Api, link: str) -> None:
    api.next_link = link
    with pytest.raises(RetailImportError, match="NextPageLink") as caught:
        fetch_pages(api_url=api.url, timeout=5)
    assert link in str(caught.value)
    assert len(api.requests) == 1


def test_fetch_follows_links_on_the_exact_host_of_api_url(api: _Api) -> None:
    api.next_link = api.url.replace("/api/retail/prices", "/other/path?$skip=100")
    assert len(fetch_pages(api_url=api.url, timeout=5)) == 2


def test_fetch_refuses_an_api_url_that_is_not_http(tmp_path: Path) -> None:
    with pytest.raises(RetailImportError, match="https://"):
        fetch_pages(api_url=(tmp_path / "page.json").as_uri())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_fetch_shows_progress_on_a_terminal(
    api: _Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    args = ["pricing", "import-azure", "--fetch", "--api-url", api.url, "--table", str(TABLE)]
    assert main([*args, "-o", str(tmp_path / "new.yaml")]) == 0
    assert "fetching: 2 page(s) read, 48 row(s)" in err.getvalue()
    assert "48 row(s) read:" in err.getvalue()


def test_cli_fetch_prints_no_progress_when_stderr_is_not_a_terminal(
    api: _Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["pricing", "import-azure", "--fetch", "--api-url", api.url, "--table", str(TABLE)]
    assert main([*args, "-o", str(tmp_path / "new.yaml")]) == 0
    assert "fetching" not in capsys.readouterr().err
