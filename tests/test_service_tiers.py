"""Service-tier rates: read strictly, priced at the tier's own rates, never at another tier's."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import azcost
from azcost import NoPriceError, PricingFileError
from azcost.cli import main
from azcost.pricing import diff_files, dump_table, read_table, validate_files

DATA = Path(__file__).parent / "data"
TIERS = DATA / "tiers.yaml"
SHIPPED = Path(__file__).parent.parent / "pricing" / "azure-openai.yaml"
AFTER = dt.date(2025, 6, 1)


@pytest.fixture
def tiers() -> azcost.PricingTable:
    """The test table with a priority tier on gpt-4o from 2025-01-01."""
    return azcost.load_pricing(TIERS)


def test_a_priority_call_is_priced_at_the_tiers_own_rates(tiers: azcost.PricingTable) -> None:
    cost = tiers.cost(
        "gpt-4o",
        input_tokens=1000,
        cached_input_tokens=400,
        output_tokens=100,
        service_tier="priority",
        at=AFTER,
    )
    assert cost.total == Decimal("0.002625") + Decimal("0.000875") + Decimal("0.00175")
    assert cost.service_tier == "priority"
    assert cost.as_dict()["service_tier"] == "priority"
    assert cost.amount("cached_input") == Decimal("0.000875")


@pytest.mark.parametrize("tier", [None, "default", "standard", "auto"])
def test_the_standard_tier_names_price_the_periods_own_rates(
    tiers: azcost.PricingTable, tier: str | None
) -> None:
    cost = tiers.cost("gpt-4o", input_tokens=1000, output_tokens=100, service_tier=tier, at=AFTER)
    assert cost.total == Decimal("0.0035")
    assert cost.service_tier == "standard"


@pytest.mark.parametrize(
    ("tier", "day", "why"),
    [
        ("flex", AFTER, "no 'flex' service-tier price in the global period from 2025-01-01"),
        ("priority", dt.date(2024, 12, 31), "no 'priority' service-tier price"),
        ("scale", AFTER, "no 'scale' service-tier price"),
    ],
)
def test_a_tier_the_period_has_no_rates_for_is_never_priced_at_standard_rates(
    tiers: azcost.PricingTable, tier: str, day: dt.date, why: str
) -> None:
    with pytest.raises(NoPriceError, match=why):
        tiers.cost("gpt-4o", input_tokens=1000, output_tokens=100, service_tier=tier, at=day)


def test_a_kind_the_tier_does_not_sell_is_not_priced_at_another_kinds_rate(
    tiers: azcost.PricingTable,
) -> None:
    with pytest.raises(NoPriceError, match=r"data-zone priority-tier price .* no cached_input"):
        tiers.cost(
            "gpt-4o",
            input_tokens=1000,
            cached_input_tokens=400,
            output_tokens=0,
            deployment_type="data-zone",
            service_tier="priority",
            at=AFTER,
        )


def test_tier_rates_are_decimals_read_from_their_text(tiers: azcost.PricingTable) -> None:
    rates = tiers.rates("gpt-4o", at=AFTER, service_tier="priority")
    assert rates.period.tier_rates("priority") == (
        Decimal("4.375"),
        Decimal("2.1875"),
        Decimal("17.50"),
        *([None] * 6),
    )
    assert rates.input == Decimal("0.000004375")


def test_a_cached_load_keeps_the_tier_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZCOST_NO_CACHE", raising=False)
    first = azcost.load_pricing(TIERS).rates("gpt-4o", at=AFTER, service_tier="priority")
    again = azcost.load_pricing(TIERS).rates("gpt-4o", at=AFTER, service_tier="priority")
    assert first.period.tiers == again.period.tiers
    assert again.output == Decimal("0.0000175")


def _broken(tmp_path: Path, old: str, new: str) -> list[str]:
    text = TIERS.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = validate_files([path])
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("              priority:", "              turbo:", "unknown service tier 'turbo'"),
        ("                input_per_mtok: 4.375", "                input_per_1m: 4.375", ":32: "),
        (
            "                input_per_mtok: 4.375",
            '                input_per_mtok: "4.375"',
            "string",
        ),
        (
            "                input_per_mtok: 4.375",
            "                input_per_mtok: -1",
            "greater than",
        ),
        ("                output_per_mtok: 17.50", "", "needs an output rate on the priority"),
    ],
)
def test_a_bad_tier_is_refused_with_file_line_and_field(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    problems = _broken(tmp_path, old, new)
    assert problems, "the file was accepted"
    assert "broken.yaml:" in problems[0]
    assert said in problems[0] or said in " ".join(problems)


def test_the_writer_round_trips_tier_rates_byte_for_byte() -> None:
    for path in (TIERS, SHIPPED):
        doc = read_table(path)
        assert dump_table(doc.file, doc.header) == path.read_text(encoding="utf-8")


def test_the_diff_names_a_changed_tier_rate(tmp_path: Path) -> None:
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        TIERS.read_text(encoding="utf-8").replace("output_per_mtok: 17.50", "output_per_mtok: 18"),
        encoding="utf-8",
    )
    d = diff_files(read_table(TIERS).file, read_table(changed).file)
    [change] = d.changed
    assert (change.field, change.old, change.new) == (
        "priority.output_per_mtok",
        Decimal("17.50"),
        Decimal("18"),
    )
    assert "priority.output_per_mtok 17.5 -> 18" in d.text()


def test_one_priority_meter_updates_only_that_tier_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "azure-openai.yaml"
    shutil.copy(SHIPPED, table)
    item = {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": 24.0,
        "unitPrice": 24.0,
        "armRegionName": "eastus",
        "effectiveStartDate": "2026-12-01T00:00:00Z",
        "meterName": "5 pp opt Gl 1M Tokens",
        "productName": "Azure OpenAI GPT5",
        "unitOfMeasure": "1M",
        "type": "Consumption",
    }
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"Items": [item], "NextPageLink": None}), encoding="utf-8")
    before = read_table(table).file.models["gpt-5-2025-08-07"].prices[0].periods
    assert main(["pricing", "update", str(table), "--from", str(page)]) == 0
    assert "priority.output_per_mtok 20 -> 24" in capsys.readouterr().out
    after = read_table(table).file.models["gpt-5-2025-08-07"].prices[0].periods
    assert after[:-1] == before
    opened = after[-1]
    assert opened.effective_from == dt.date(2026, 12, 1)
    assert opened.service_tiers is not None
    priority = opened.service_tiers["priority"]
    assert (priority.input_per_mtok, priority.output_per_mtok) == (Decimal("2.50"), Decimal(24))
    assert opened.output_per_mtok == before[-1].output_per_mtok


def test_the_shipped_table_prices_priority_processing_from_the_retail_meters() -> None:
    table = azcost.load_pricing()
    on = dt.date(2026, 8, 1)
    cost = table.cost(
        "gpt-5", input_tokens=10**6, output_tokens=10**6, service_tier="priority", at=on
    )
    assert cost.total == Decimal("22.50")  # 2.50 + 20.00 per 1M: the '5 pp' meters
    with pytest.raises(NoPriceError, match="no 'priority' service-tier price"):
        table.cost("gpt-4o", input_tokens=1, output_tokens=1, service_tier="priority", at=on)
    with pytest.raises(NoPriceError, match="no 'priority' service-tier price"):
        table.cost(
            "gpt-5",
            input_tokens=1,
            output_tokens=1,
            service_tier="priority",
            at=dt.date(2026, 2, 1),
        )


def test_price_command_takes_the_service_tier(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["price", "gpt-4o", "--input", "1000", "--output", "100", "--cached", "400"]
    args += ["--pricing", str(TIERS), "--no-shipped", "--at", "2025-06-01"]
    assert main([*args, "--service-tier", "priority", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["service_tier"], data["total_cost"]) == ("priority", "0.00525")
    assert main([*args, "--service-tier", "flex"]) == 2
    assert "no 'flex' service-tier price" in capsys.readouterr().err


def test_pricing_show_lists_the_tier_rates(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["pricing", "show", "gpt-4o", "--pricing", str(TIERS), "--no-shipped"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "priority tier: input 4.375, cached input 2.1875, output 17.5" in out
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    period = data["prices"][0]["periods"][1]
    assert period["service_tiers"]["priority"]["output_per_mtok"] == "17.5"


def test_a_tier_key_outside_the_tiers_table_is_a_pricing_file_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        TIERS.read_text(encoding="utf-8").replace("  priority:", "  premium:"), encoding="utf-8"
    )
    with pytest.raises(PricingFileError, match=r"t.yaml:30: .*'service_tiers': unknown service"):
        azcost.load_pricing(path)
