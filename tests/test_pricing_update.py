"""``azcost pricing update``: imported prices appended as new periods, history never rewritten."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import azcost
from azcost.azure import import_rows, read_pages
from azcost.cli import main
from azcost.pricing import bump_version, dump_table, merge_import, read_table

DATA = Path(__file__).parent / "data" / "retail"
PAGES = [str(DATA / "page1.json"), str(DATA / "page2.json")]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A copy of the fixture table to update."""
    path = tmp_path / "table.yaml"
    shutil.copy(DATA / "table.yaml", path)
    return path


def _update(table: Path, *extra: str) -> int:
    return main(["pricing", "update", str(table), "--from", *PAGES, *extra])


def test_update_appends_changed_prices_as_new_periods(
    table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_table(table).file
    assert _update(table) == 0
    after = read_table(table).file
    (series,) = after.models["gpt-35-turbo-0125"].prices
    assert [p.effective_from for p in series.periods] == [dt.date(2024, 1, 25), dt.date(2025, 9, 1)]
    assert series.periods[0] == before.models["gpt-35-turbo-0125"].prices[0].periods[0]
    assert series.periods[1].input_per_mtok == Decimal("0.55")
    today = dt.datetime.now(dt.timezone.utc).date()
    assert series.periods[1].source == f"azure-retail-{today.isoformat()}"
    out = capsys.readouterr().out
    assert "input_per_mtok 0.5 -> 0.55  (+10.00%)" in out


def test_updated_table_loads_and_prices_with_the_new_rates(table: Path) -> None:
    _update(table)
    t = azcost.load_pricing(table)
    cost = t.cost(
        "gpt-35-turbo-0125", input_tokens=1000, output_tokens=1000, at=dt.date(2025, 10, 1)
    )
    assert cost.total == Decimal("0.0022")  # 1000 * 0.55/1M + 1000 * 1.65/1M
    old = t.cost("gpt-35-turbo-0125", input_tokens=1000, output_tokens=1000, at=dt.date(2025, 1, 1))
    assert old.total == Decimal("0.0020")


def test_history_is_never_rewritten(table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the table says 10.00 output from 2024-08-06; the import's older-dated rows say otherwise
    table.write_text(
        table.read_text().replace(
            "output_per_mtok: 10.00\n            source: test\n      - deployment_type: data-zone",
            "output_per_mtok: 9.00\n            source: test\n      - deployment_type: data-zone",
            1,
        )
    )
    before = read_table(table).file.models["gpt-4o-2024-08-06"].prices[0].periods
    _update(table)
    after = read_table(table).file.models["gpt-4o-2024-08-06"].prices[0].periods
    assert after[: len(before)] == before
    assert "history is never rewritten" in capsys.readouterr().out


def test_same_rates_change_nothing_and_keep_the_version(
    table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _update(table)
    text = table.read_text()
    assert _update(table) == 0
    assert table.read_text() == text
    assert "up to date; nothing written" in capsys.readouterr().out


def test_dry_run_prints_the_diff_and_writes_nothing(
    table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = table.read_text()
    assert _update(table, "--dry-run") == 0
    assert table.read_text() == text
    out = capsys.readouterr().out
    assert "rates changed" in out
    assert "dry run" in out


def test_new_series_are_added(table: Path) -> None:
    _update(table)
    entry = read_table(table).file.models["gpt-4.1-2025-04-14"]
    assert [s.deployment_type.value for s in entry.prices] == ["global", "regional"]


def test_header_comment_and_canonical_format_are_kept(table: Path) -> None:
    _update(table)
    doc = read_table(table)
    assert doc.header.startswith("# Test table for the retail import")
    assert table.read_text() == dump_table(doc.file, doc.header)
    assert "version: 0301\n" in table.read_text()  # not 301, not quoted


def test_version_is_bumped_to_today() -> None:
    assert bump_version("2026.01.01", dt.date(2026, 11, 25)) == "2026.11.25"
    assert bump_version("2026.11.25", dt.date(2026, 11, 25)) == "2026.11.25.1"
    assert bump_version("2026.11.25.1", dt.date(2026, 11, 25)) == "2026.11.25.2"


def test_import_source_is_added_once(table: Path) -> None:
    t = read_table(table).file
    rows, _ = read_pages(PAGES)
    imported = import_rows(rows, t.models, retrieved_on=dt.date(2026, 2, 2)).file
    merged = merge_import(t, imported, today=dt.date(2026, 2, 2)).file
    assert set(merged.sources) == {"test", "azure-retail-2026-02-02"}
    again = merge_import(merged, imported, today=dt.date(2026, 2, 2))
    assert again.appended == 0
    assert set(again.file.sources) == set(merged.sources)


def test_json_report(table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _update(table, "--format", "json", "--dry-run")
    data = json.loads(capsys.readouterr().out)
    assert data["written"] is False
    assert data["appended"] == 2
    assert data["diff"]["changed"]


def test_a_failing_write_leaves_the_table_untouched(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azcost.pricing

    text = table.read_text()

    def broken(path: Path) -> None:
        raise azcost.PricingFileError("refused", path=path)

    real = azcost.pricing.write_atomic
    monkeypatch.setattr(
        azcost.pricing, "write_atomic", lambda p, t, check=None: real(p, t, check=broken)
    )
    assert _update(table) == 2
    assert table.read_text() == text
    assert [p.name for p in table.parent.iterdir()] == ["table.yaml"]


# --------------------------------------------------------------------------- one meter at a time

SHIPPED = Path(__file__).parent.parent / "pricing" / "azure-openai.yaml"
DZ_CACHED_1120 = "gpt 4o 1120 cached Inp Data Zone Tokens"


def _page(path: Path, meter: str, price: str, start: str, region: str = "westus") -> str:
    """A one-row Retail Prices API page, as a filtered query returns it."""
    item = {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": "PRICE",
        "unitPrice": "PRICE",
        "armRegionName": region,
        "effectiveStartDate": f"{start}T00:00:00Z",
        "meterName": meter,
        "productName": "Azure OpenAI",
        "unitOfMeasure": "1K",
        "type": "Consumption",
    }
    text = json.dumps({"Items": [item], "NextPageLink": None, "Count": 1})
    path.write_text(text.replace('"PRICE"', price), encoding="utf-8")
    return str(path)


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped table to update."""
    path = tmp_path / "azure-openai.yaml"
    shutil.copy(SHIPPED, path)
    return path


def _update_from(table: Path, page: str, *extra: str) -> int:
    return main(["pricing", "update", str(table), "--from", page, "--region", "westus", *extra])


def _series(path: Path, model: str, dtype: str) -> list[Any]:
    entry = read_table(path).file.models[model]
    (series,) = [s for s in entry.prices if s.deployment_type.value == dtype and s.region is None]
    return list(series.periods)


def test_one_meter_page_opens_a_period_changing_only_that_rate(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_table(shipped).file
    old = _series(shipped, "gpt-4o-2024-11-20", "data-zone")
    page = _page(tmp_path / "page.json", DZ_CACHED_1120, "0.0015", "2026-12-01")
    assert _update_from(shipped, page) == 0
    new = _series(shipped, "gpt-4o-2024-11-20", "data-zone")
    assert new[:-1] == old  # the history is kept as it was
    opened = new[-1]
    assert opened.effective_from == dt.date(2026, 12, 1)
    assert opened.cached_input_per_mtok == Decimal("1.5")
    assert (opened.input_per_mtok, opened.output_per_mtok) == (
        old[-1].input_per_mtok,
        old[-1].output_per_mtok,
    )
    assert opened.note is not None
    assert DZ_CACHED_1120 in opened.note
    after = read_table(shipped).file
    changed = [n for n in after.models if after.models[n] != before.models.get(n)]
    assert changed == ["gpt-4o-2024-11-20"]
    assert "cached_input_per_mtok 1.375 -> 1.5" in capsys.readouterr().out
    cost = azcost.load_pricing(shipped).cost(
        "gpt-4o-2024-11-20",
        input_tokens=1000,
        cached_input_tokens=1000,
        output_tokens=0,
        deployment_type="data-zone",
        at=dt.date(2026, 12, 2),
    )
    assert cost.total == Decimal("0.0015")


def test_page_identical_to_the_table_keeps_the_file_byte_for_byte(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = shipped.read_bytes()
    page = _page(tmp_path / "page.json", DZ_CACHED_1120, "0.001375", "2024-12-01")
    assert _update_from(shipped, page) == 0
    assert shipped.read_bytes() == before
    assert "up to date; nothing written" in capsys.readouterr().out


def test_one_meter_change_dated_inside_the_history_is_reported_not_merged(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = shipped.read_bytes()
    page = _page(tmp_path / "page.json", DZ_CACHED_1120, "0.0015", "2024-12-01")
    assert _update_from(shipped, page, "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    (reason,) = report["not_merged"]
    assert "gpt-4o-2024-11-20 data-zone from 2024-12-01: cached_input_per_mtok" in reason
    assert "history is never rewritten" in reason
    assert shipped.read_bytes() == before


def test_one_meter_page_for_a_series_the_table_lacks_is_skipped_with_reason(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _page(
        tmp_path / "page.json", "gpt-4o-mini-0718-Inp-regnl Tokens", "0.0002", "2026-12-01"
    )
    assert _update_from(shipped, page, "--region", "brazilsouth", "--all-regions") == 0
    out = capsys.readouterr().out
    assert "no output meter" in out


def test_region_paying_the_region_less_rates_gets_no_series_of_its_own(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = shipped.read_bytes()
    page = _page(tmp_path / "page.json", DZ_CACHED_1120, "0.001375", "2024-12-01", "francecentral")
    assert _update_from(shipped, page, "--all-regions") == 0
    assert shipped.read_bytes() == before
    assert "up to date" in capsys.readouterr().out


def test_region_with_its_own_price_gets_a_series_from_its_date(
    shipped: Path, tmp_path: Path
) -> None:
    rows = [
        ("gpt 4o 1120 Inp Data Zone Tokens", "0.003"),
        ("gpt 4o 1120 cached Inp Data Zone Tokens", "0.0015"),
        ("gpt 4o 1120 Outp Data Zone Tokens", "0.012"),
    ]
    pages = [
        _page(tmp_path / f"p{i}.json", meter, price, "2026-12-01", "polandcentral")
        for i, (meter, price) in enumerate(rows)
    ]
    code = main(
        ["pricing", "update", str(shipped), "--from", *pages, "--region", "westus", "--all-regions"]
    )
    assert code == 0
    entry = read_table(shipped).file.models["gpt-4o-2024-11-20"]
    (series,) = [s for s in entry.prices if s.region == "polandcentral"]
    assert [(p.effective_from, p.input_per_mtok) for p in series.periods] == [
        (dt.date(2026, 12, 1), Decimal("3"))
    ]


def test_region_series_sharing_a_price_history_are_written_once_and_read_back(
    shipped: Path,
) -> None:
    text = shipped.read_text(encoding="utf-8")
    assert "periods: &p1\n" in text
    assert "periods: *p1\n" in text
    table = read_table(shipped)
    assert dump_table(table.file, table.header) == text
    apac = [
        s
        for s in table.file.models["gpt-5.1-2025-11-13"].prices
        if s.deployment_type.value == "data-zone" and s.region in ("japanwest", "koreacentral")
    ]
    assert len(apac) == 2
    assert apac[0].periods == apac[1].periods


def test_two_meters_of_one_series_changed_the_same_day_open_one_period(
    shipped: Path, tmp_path: Path
) -> None:
    old = _series(shipped, "gpt-4o-2024-11-20", "data-zone")
    a = _page(tmp_path / "a.json", DZ_CACHED_1120, "0.0015", "2026-12-01")
    b = _page(tmp_path / "b.json", "gpt 4o 1120 Inp Data Zone Tokens", "0.003", "2026-12-01")
    first, second = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (a, b))
    page = tmp_path / "page.json"
    both = {"Items": first["Items"] + second["Items"], "NextPageLink": None}
    page.write_text(json.dumps(both), encoding="utf-8")
    assert _update_from(shipped, str(page)) == 0
    new = _series(shipped, "gpt-4o-2024-11-20", "data-zone")
    assert new[:-1] == old
    opened = new[-1]
    assert (opened.input_per_mtok, opened.cached_input_per_mtok) == (Decimal(3), Decimal("1.5"))
    assert opened.output_per_mtok == old[-1].output_per_mtok
