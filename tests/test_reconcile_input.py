"""``azcost reconcile`` on bad input: one error naming file and line, never a traceback."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import cost_exports as ce
import pytest
from cost_exports import IN, gpt4o_day

from azcost.azure import iter_export
from azcost.cli import main
from azcost.ledger import Ledger

NOV2 = dt.date(2026, 11, 2)


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'spend.db'}"
    with Ledger(url) as ledger:  # an empty ledger: reconcile reads one, never creates it
        assert ledger.engine is not None
    return url


def test_truncated_gzip_is_one_error_naming_the_file(
    tmp_path: Path, ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = ce.ea(tmp_path / "whole.csv.gz", gpt4o_day(NOV2, 1) * 200, gz=True).read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    assert main(["reconcile", str(cut), ledger_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"azcost: error: {cut}:")
    assert re.match(rf"azcost: error: {re.escape(str(cut))}:\d+: the file ends early", err)
    assert "Traceback" not in err


def test_a_file_that_is_not_a_cost_export_is_refused_naming_it(
    tmp_path: Path, ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "people.csv"
    other.write_text("name,age\nann,31\n")
    assert main(["reconcile", str(other), ledger_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"azcost: error: {other}:1: not a Cost Management cost details file")


def test_a_row_with_missing_fields_is_an_error_naming_its_line(
    tmp_path: Path, ledger_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export = ce.ea(tmp_path / "ea.csv", gpt4o_day(NOV2, 1))
    text = export.read_text(encoding="utf-8-sig").splitlines()
    export.write_text("\n".join([*text, "only,three,fields"]) + "\n")
    assert main(["reconcile", str(export), ledger_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"azcost: error: {export}:5: 3 fields where the header has")


def test_gzip_export_rows_come_with_their_line(tmp_path: Path) -> None:
    path = ce.ea(tmp_path / "ea.csv.gz", gpt4o_day(NOV2, 1), gz=True)
    assert gzip.decompress(path.read_bytes()).startswith(b"\xef\xbb\xbfCostInBillingCurrency")
    rows = iter_export(path)
    assert rows.layout.name == "EA/pay-as-you-go cost details"
    fields = next(iter(rows))
    assert (rows.line, fields[1]) == (2, IN)
