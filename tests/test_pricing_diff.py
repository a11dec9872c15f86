"""``azcost pricing diff``: models, series and rates that differ between two pricing files."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from azcost.cli import main
from azcost.pricing import DeploymentType, RateChange, diff_files, read_table

TABLE = Path(__file__).parent / "data" / "retail" / "table.yaml"


def _edited(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = TABLE.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    out = tmp_path / "new.yaml"
    out.write_text(text)
    return out


NEW_PERIOD = """          - effective_from: 2024-11-20
            input_per_mtok: 2.50
            cached_input_per_mtok: 1.25
            output_per_mtok: 10.00
            source: test
"""
NEW_PERIOD_ADDED = (
    NEW_PERIOD
    + """          - effective_from: 2026-02-01
            input_per_mtok: 2.75
            cached_input_per_mtok: 1.25
            output_per_mtok: 11.00
            source: test
"""
)


def test_identical_files_have_no_differences() -> None:
    f = read_table(TABLE).file
    d = diff_files(f, f)
    assert d.empty
    assert "no differences" in d.text()


def test_new_period_reports_changed_rates_with_percent(tmp_path: Path) -> None:
    new = _edited(tmp_path, (NEW_PERIOD, NEW_PERIOD_ADDED))
    d = diff_files(read_table(TABLE).file, read_table(new).file)
    key = ("gpt-4o-2024-11-20", DeploymentType.GLOBAL, None)
    assert [(k, p.effective_from) for k, p in d.added_periods] == [(key, dt.date(2026, 2, 1))]
    day = dt.date(2026, 2, 1)
    assert d.changed == [
        RateChange(*key, day, "input_per_mtok", Decimal("2.50"), Decimal("2.75")),
        RateChange(*key, day, "output_per_mtok", Decimal("10.00"), Decimal("11.00")),
    ]
    assert [c.change_pct for c in d.changed] == [Decimal("10.00"), Decimal("10.00")]


def test_rate_edited_in_place_is_a_change_on_that_period(tmp_path: Path) -> None:
    new = _edited(tmp_path, ("input_per_mtok: 0.15", "input_per_mtok: 0.12"))
    (change,) = diff_files(read_table(TABLE).file, read_table(new).file).changed
    assert (change.model, change.effective_from, change.old, change.new) == (
        "gpt-4o-mini-2024-07-18",
        dt.date(2024, 7, 18),
        Decimal("0.15"),
        Decimal("0.12"),
    )
    assert change.change_pct == Decimal("-20.00")


def test_models_and_series_added_and_removed(tmp_path: Path) -> None:
    new = _edited(
        tmp_path,
        (
            "  gpt-5-chat-2025-08-07:\n    base: gpt-5-chat\n    version: 2025-08-07",
            "  gpt-5-chat-2025-08-01:\n    base: gpt-5-chat\n    version: 2025-08-01",
        ),
        ("      - deployment_type: data-zone\n", "      - deployment_type: data-zone-batch\n"),
    )
    d = diff_files(read_table(TABLE).file, read_table(new).file)
    assert (d.added, d.removed) == (["gpt-5-chat-2025-08-01"], ["gpt-5-chat-2025-08-07"])
    assert d.added_series == [("gpt-4o-2024-08-06", DeploymentType.DATA_ZONE_BATCH, None)]
    assert d.removed_series == [("gpt-4o-2024-08-06", DeploymentType.DATA_ZONE, None)]


def test_cli_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _edited(tmp_path, (NEW_PERIOD, NEW_PERIOD_ADDED))
    assert main(["pricing", "diff", str(TABLE), str(new), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "old_version",
        "new_version",
        "added",
        "removed",
        "added_series",
        "removed_series",
        "changed",
        "added_periods",
        "removed_periods",
    }
    assert data["changed"][0] == {
        "model": "gpt-4o-2024-11-20",
        "deployment_type": "global",
        "region": None,
        "effective_from": "2026-02-01",
        "field": "input_per_mtok",
        "old": "2.5",
        "new": "2.75",
        "change_pct": "10.00",
    }
    assert data["added_periods"][0]["output_per_mtok"] == "11"


def test_cli_text_names_old_and_new_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = _edited(tmp_path, (NEW_PERIOD, NEW_PERIOD_ADDED))
    main(["pricing", "diff", str(TABLE), str(new)])
    out = capsys.readouterr().out
    assert "gpt-4o-2024-11-20 global from 2026-02-01: output_per_mtok 10 -> 11  (+10.00%)" in out


def test_cli_diff_of_invalid_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _edited(tmp_path, ("source: test\n", "source: nowhere\n"))
    assert main(["pricing", "diff", str(TABLE), str(bad)]) == 2
    assert "unknown source 'nowhere'" in capsys.readouterr().err
