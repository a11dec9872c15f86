"""``azcost audit --html``: a self-contained report whose chart renders in headless Chromium."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from browser import rendered_dom
from ledger_helpers import UTC, make_record, sqlite_url

from azcost.cli import main
from azcost.ledger import Ledger

# (day of November 2026, model, cost)
SPEND = [
    (1, "gpt-35-turbo-0301", "0.000078"),
    (1, "gpt-4o-2024-08-06", "0.0125"),
    (2, "gpt-4o-2024-08-06", "0.5"),
    (2, "gpt-4o-2024-08-06", "0.25"),
    (3, "gpt-35-turbo-0301", "0.002"),
    (3, 'evil</script><script>document.title="x"</script>', "0.1"),
]


@pytest.fixture
def report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The HTML report of a small ledger."""
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url) as ledger:
        for i, (day, model, cost) in enumerate(SPEND):
            when = dt.datetime(2026, 11, day, 8, tzinfo=UTC)
            ledger.record(make_record(i, when=when, model=model, total=cost))
    out = tmp_path / "report.html"
    assert main(["audit", url, "--html", str(out)]) == 0
    capsys.readouterr()
    return out


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    loads = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]+)', text)
    assert loads == []
    assert "cdn" not in text.lower()


def test_chart_draws_one_bar_per_day_and_model_in_chromium(report: Path) -> None:
    dom = rendered_dom(report)
    assert 'data-rendered="true"' in dom
    bars = re.findall(r'<rect class="bar"[^>]*data-day="([^"]+)"[^>]*data-model="([^"]+)"', dom)
    pairs = {(f"2026-11-{day:02d}", model) for day, model, _ in SPEND}
    assert len(bars) == len(pairs)
    assert {day for day, _ in bars} == {day for day, _ in pairs}


def test_chart_bar_carries_the_exact_daily_cost(report: Path) -> None:
    dom = rendered_dom(report)
    costs = re.findall(
        r'data-day="2026-11-02" data-model="gpt-4o-2024-08-06" data-cost="([^"]+)"', dom
    )
    assert costs == ["0.75"]


def test_a_model_name_cannot_inject_script(report: Path) -> None:
    dom = rendered_dom(report)
    assert "<title>azcost spend audit</title>" in dom
    assert dom.count("<rect") == 4 + 1  # the 4 benign (day, model) pairs and the odd name's bar


def test_report_table_lists_every_group(report: Path) -> None:
    table = report.read_text().split('<table id="audit">', 1)[1]
    assert table.count("<tr>") == 1 + len({m for _, m, _ in SPEND})


def test_a_group_with_no_priced_call_reads_unpriced_in_the_report_never_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url) as ledger:
        ledger.record(make_record(0, model="gpt-4o-2024-08-06", total="0.0125"))
        ledger.record(make_record(1, model=None, total=None))
    out = tmp_path / "report.html"
    assert main(["audit", url, "--by", "model", "--html", str(out)]) == 0
    capsys.readouterr()
    rows = re.findall(r"<tr>(.*?)</tr>", out.read_text(encoding="utf-8"))
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    by_model = {c[0]: c for c in cells if c}
    assert by_model["gpt-4o-2024-08-06"][1:3] == ["1", "0"]
    assert by_model["gpt-4o-2024-08-06"][6] == "0.0125"
    unresolved = next(c for key, c in by_model.items() if key != "gpt-4o-2024-08-06")
    assert unresolved[1:3] == ["1", "1"]
    assert unresolved[6] == "unpriced"
