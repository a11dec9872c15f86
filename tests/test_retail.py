"""Importing Azure Retail Prices API pages into a pricing file (saved pages and --fetch)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import azcost
from azcost.azure import ImportResult, import_rows, read_pages
from azcost.cli import main
from azcost.errors import RetailImportError
from azcost.pricing import DeploymentType, read_table

DATA = Path(__file__).parent / "data" / "retail"
PAGES = [DATA / "page1.json", DATA / "page2.json"]
TABLE = DATA / "table.yaml"
DAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def result() -> ImportResult:
    """The fixture pages imported against the fixture table."""
    rows, _ = read_pages(PAGES)
    return import_rows(rows, read_table(TABLE).file.models, retrieved_on=DAY)


def _period(result: ImportResult, model: str, dtype: str, index: int = -1) -> Any:
    entry = result.file.models[model]
    series = [s for s in entry.prices if s.deployment_type.value == dtype and s.region is None]
    assert len(series) == 1, f"{model} {dtype}: {entry.prices}"
    return series[0].periods[index]


def _skip_reason(result: ImportResult, meter: str) -> str:
    reasons = [s.reason for s in result.skipped if s.meter_name == meter]
    assert reasons, f"{meter!r} was not skipped"
    return "; ".join(reasons)


@pytest.mark.parametrize(
    ("model", "dtype", "field", "per_mtok"),
    [
        ("gpt-4o-2024-08-06", "global", "input_per_mtok", "2.50"),  # gpt-4o-0806-Inp-glbl, 1K
        ("gpt-4o-2024-08-06", "global", "cached_input_per_mtok", "1.25"),
        ("gpt-4o-2024-08-06", "data-zone", "input_per_mtok", "2.75"),  # gpt 4o 0806 Inp Data Zone
        ("gpt-4o-2024-11-20", "data-zone", "cached_input_per_mtok", "1.375"),  # 1120 cached Inp
        ("gpt-4o-mini-2024-07-18", "data-zone-batch", "output_per_mtok", "0.33"),  # BatchOutp
        ("gpt-4o-mini-2024-07-18", "data-zone-batch", "input_per_mtok", "0.0825"),
        ("gpt-4.1-2025-04-14", "regional", "input_per_mtok", "2.20"),  # gpt 4.1 Inp regnl
        ("gpt-4.1-2025-04-14", "regional", "output_per_mtok", "8.80"),
        ("gpt-5.4-mini-2026-03-17", "global-batch", "cached_input_per_mtok", "0.0375"),  # 1M
        ("gpt-5-2025-08-07", "global", "output_per_mtok", "10.00"),  # 1M
        ("gpt-35-turbo-0125", "regional", "input_per_mtok", "0.55"),  # 16K-0125 Input-regional
        ("text-embedding-3-small-1", "regional", "input_per_mtok", "0.02"),
    ],
)
def test_meter_prices_land_per_1m_exactly(
    result: ImportResult, model: str, dtype: str, field: str, per_mtok: str
) -> None:
    value = getattr(_period(result, model, dtype), field)
    assert isinstance(value, Decimal)
    assert value == Decimal(per_mtok)
    assert str(value) == per_mtok  # exact text: no float residue, at least two decimals


def test_1k_meter_is_multiplied_by_1000_without_float_residue(tmp_path: Path) -> None:
    assert 0.000015 * 1000 != 0.015  # what a float pipeline would write: 0.015000000000000001
    page = tmp_path / "page.json"
    text = PAGES[1].read_text()
    page.write_text(text.replace('"retailPrice": 0.00002,', '"retailPrice": 0.000015,'))
    rows, _ = read_pages([PAGES[0], page])
    r = import_rows(rows, read_table(TABLE).file.models, retrieved_on=DAY)
    assert str(_period(r, "text-embedding-3-small-1", "regional").input_per_mtok) == "0.015"


def test_price_history_becomes_periods_from_effective_start_dates(result: ImportResult) -> None:
    entry = result.file.models["gpt-35-turbo-0125"]
    (series,) = entry.prices
    assert [(p.effective_from, p.input_per_mtok, p.output_per_mtok) for p in series.periods] == [
        (dt.date(2024, 5, 1), Decimal("0.50"), Decimal("1.50")),
        (dt.date(2025, 9, 1), Decimal("0.55"), Decimal("1.65")),
    ]


def test_meter_starting_later_opens_a_new_period(result: ImportResult) -> None:
    first = _period(result, "gpt-4o-2024-08-06", "global", 0)
    second = _period(result, "gpt-4o-2024-08-06", "global", 1)
    assert (first.effective_from, first.cached_input_per_mtok) == (dt.date(2024, 8, 1), None)
    assert (second.effective_from, second.cached_input_per_mtok) == (
        dt.date(2024, 10, 1),
        Decimal("1.25"),
    )


def test_a_meter_naming_no_version_gets_the_version_azure_documents(
    result: ImportResult,
) -> None:
    note = _period(result, "gpt-4.1-2025-04-14", "regional").note
    assert "gpt 4.1 Inp regnl" in note
    assert "version 2025-04-14 from Azure's model documentation" in note
    assert "https://learn.microsoft.com/" in note


def test_an_old_meter_naming_only_a_context_size_is_skipped_never_guessed(
    result: ImportResult,
) -> None:
    # Azure documents two 4K gpt-35-turbo versions (0301, 0613); the meter names neither
    reason = _skip_reason(result, "Az-GPT-3.5-turbo Tokens")
    assert "documents none for gpt-35-turbo 4k" in reason
    assert "never guessed" in reason
    assert "gpt-35-turbo-0301" not in result.file.models


@pytest.mark.parametrize(
    ("meter", "reason"),
    [
        ("Az-GPT4-Turbo-128K-Prompt Tokens", "documents none for gpt-4 128k"),
        ("GPT 5 Chat Inpt Glbl 1M Tokens", "(the table has 2025-08-07, 2025-10-03): never guessed"),
        ("Az-GPT35-Turbo-4K-FTuned Training Unit", "fine-tuning"),
        ("Az-GPT35-Turbo-4K-FTuned Deployment Hosting Unit", "fine-tuning"),
        ("gpt 4.1 ft training Dz Tokens", "fine-tuning"),
        ("Az-Assistants-Code-Interpreter Session", "tool call"),
        ("Az-Assistants-File-Search Vector Storage", "tool call"),
        ("Az-Image-Dall-E-3 Standard LR Images", "image"),
        ("Az-Speech-Whisper Hours", "speech"),
        ("Llama-3.3-70B-Instruct-Inp-glbl Tokens", "not an Azure OpenAI product"),
        ("DeepSeek-R1 Inp glbl Tokens", "not an Azure OpenAI product"),
        ("Mistral-Large-2411-Inp-glbl Tokens", "not an Azure OpenAI product"),
        ("Provisioned Managed Global Unit", "Reservation"),
        ("gpt-4o-0806-Inp-glbl Tokens", "DevTestConsumption"),
    ],
)
def test_meters_not_understood_or_not_token_prices_are_skipped_with_reason(
    result: ImportResult, meter: str, reason: str
) -> None:
    assert reason in _skip_reason(result, meter)


def test_ambiguous_versions_are_not_guessed(result: ImportResult) -> None:
    assert not any(m.startswith(("gpt-4-", "gpt-5-chat")) for m in result.file.models)


def test_other_regions_regional_prices_are_not_taken(result: ImportResult) -> None:
    # westeurope's data-zone rows are dearer; the region-less series carries eastus's
    assert _period(result, "gpt-4o-2024-08-06", "data-zone").input_per_mtok == Decimal("2.75")


def test_all_regions_adds_region_series_only_where_prices_differ() -> None:
    rows, _ = read_pages(PAGES)
    r = import_rows(rows, read_table(TABLE).file.models, all_regions=True, retrieved_on=DAY)
    regions = {
        (name, s.deployment_type, s.region)
        for name, e in r.file.models.items()
        for s in e.prices
        if s.region
    }
    # westeurope data-zone differs; westus's gpt-4.1 regional row equals eastus's
    assert regions == {("gpt-4o-2024-08-06", DeploymentType.DATA_ZONE, "westeurope")}


def test_conflicting_global_duplicates_are_reported(result: ImportResult) -> None:
    (warning,) = result.warnings
    assert "GPT 5 outpt Glbl" in warning
    assert "swedencentral" in warning
    assert _period(result, "gpt-5-2025-08-07", "global").output_per_mtok == Decimal("10.00")


def test_other_currency_is_refused_naming_file_item_and_meter(tmp_path: Path) -> None:
    page = json.loads(PAGES[0].read_text())
    page["Items"][2]["currencyCode"] = "EUR"
    bad = tmp_path / "eur.json"
    bad.write_text(json.dumps(page))
    rows, _ = read_pages([bad])
    with pytest.raises(RetailImportError, match=r"eur\.json: item 2 \(meterName 'gpt-4o-0806-Outp"):
        import_rows(rows, read_table(TABLE).file.models)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p["Items"][3].pop("retailPrice"), r"item 3 \(meterName .*retailPrice"),
        (lambda p: p["Items"][1].update(retailPrice="0.0025"), r"item 1 .*retailPrice"),
        (
            lambda p: p["Items"][2].update(tierMinimumUnits="1000"),
            r"item 2 .*'tierMinimumUnits' must be a number >= 0, got '1000'",
        ),
        (lambda p: p["Items"][2].update(tierMinimumUnits=True), r"item 2 .*tierMinimumUnits"),
        (lambda p: p["Items"][2].update(tierMinimumUnits=-1), r"item 2 .*tierMinimumUnits"),
        (lambda p: p["Items"][0].update(effectiveStartDate="soon"), r"item 0 .*effectiveStartDate"),
        (lambda p: p["Items"][4].update(meterName=7), r"item 4.*meterName"),
        (lambda p: p.pop("Items"), r"not a Retail Prices API response"),
    ],
)
def test_malformed_page_raises_retail_import_error_naming_file_and_item(
    tmp_path: Path, mutate: Any, match: str
) -> None:
    page = json.loads(PAGES[0].read_text())
    mutate(page)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(page))
    with pytest.raises(RetailImportError, match=r"bad\.json: .*" + match):
        read_pages([bad])


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"Items": [\n{"meterName": }\n]}')
    with pytest.raises(RetailImportError, match=r"broken\.json:2:15: malformed JSON"):
        read_pages([bad])


def test_a_row_without_tier_minimum_units_starts_at_zero(tmp_path: Path) -> None:
    page = json.loads(PAGES[0].read_text())
    page["Items"][2].pop("tierMinimumUnits", None)
    page["Items"][3]["tierMinimumUnits"] = 100
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    rows, _ = read_pages([path])
    assert (rows[2].tier_minimum, rows[3].tier_minimum) == (Decimal(0), Decimal(100))
    result = import_rows(rows, read_table(TABLE).file.models)
    assert any("tiered price from 100 units" in s.reason for s in result.skipped)


def test_missing_last_page_is_warned() -> None:
    _, warnings = read_pages([PAGES[0]])
    assert any("last page" in w for w in warnings)


def test_round_trip_import_load_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new.yaml"
    assert (
        main(["pricing", "import-azure", *map(str, PAGES), "--table", str(TABLE), "-o", str(out)])
        == 0
    )
    assert "skipped" in capsys.readouterr().out
    table = azcost.load_pricing(out)
    cost = table.cost(
        "gpt-4o-2024-08-06",
        input_tokens=1000,
        output_tokens=100,
        cached_input_tokens=200,
        deployment_type="global",
        at=dt.date(2025, 1, 1),
    )
    # 800 * 2.50/1M + 200 * 1.25/1M + 100 * 10/1M
    assert cost.total == Decimal("0.00325")
    assert out.read_text().startswith("# Azure OpenAI list prices imported")


def test_import_json_report_lists_skipped_meters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new.yaml"
    main(
        [
            "pricing",
            "import-azure",
            *map(str, PAGES),
            "--table",
            str(TABLE),
            "-o",
            str(out),
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["rows_read"] == 48
    whisper = [s for s in report["skipped"] if s["meter_name"] == "Az-Speech-Whisper Hours"]
    assert [(s["product_name"], s["rows"]) for s in whisper] == [("Azure OpenAI", 1)]
    assert whisper[0]["reason"].startswith("speech (Whisper, TTS and TTS HD)")
