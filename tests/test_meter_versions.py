"""Meters naming no version: the version Azure documents, with its source, or a skip."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import get_args

import pytest

import azcost
from azcost.azure import (
    MeterSkipped,
    documented_versions,
    import_rows,
    parse_meter,
    read_pages,
    resolve_meter,
)
from azcost.pricing import ModelEntry, read_table

DATA = Path(__file__).parent / "data"
SHIPPED = Path(__file__).parent.parent / "pricing" / "azure-openai.yaml"
KINDS = set(get_args(ModelEntry.model_fields["kind"].annotation))


def test_every_documented_version_names_its_source_and_a_model_kind() -> None:
    found = documented_versions()
    assert len(found) > 40
    for base, doc in found.items():
        assert doc.base == base
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{4}|\d", doc.version), base
        assert doc.kind in KINDS, base
        assert "https://" in doc.source, base


def test_the_shipped_table_prices_each_documented_model_under_its_documented_version() -> None:
    models = read_table(SHIPPED).file.models
    for base, doc in documented_versions().items():
        name = f"{base}-{doc.version}"
        assert name in models, f"{name}: documented but not in the shipped table"


@pytest.mark.parametrize(
    ("meter", "model"),
    [
        ("o1-pro Inp glbl Tokens", "o1-pro-2025-03-19"),
        ("Image 2 img inp Gl 1M Tokens", "gpt-image-2-2026-04-21"),
        ("gpt-realtime-2.1-mini Audio inp DZ 1M Tokens", "gpt-realtime-2.1-mini-2026-07-07"),
        ("gpt 4.1 Inp regnl Tokens", "gpt-4.1-2025-04-14"),
    ],
)
def test_a_meter_naming_no_version_prices_the_version_azure_documents(
    meter: str, model: str
) -> None:
    target = resolve_meter(parse_meter(meter), read_table(SHIPPED).file.models)
    assert target.model == model
    assert target.note is not None
    assert "from Azure's model documentation" in target.note
    assert (
        "https://learn.microsoft.com/" in target.note or "github.com/MicrosoftDocs" in target.note
    )


@pytest.mark.parametrize(
    ("meter", "reason"),
    [
        ("gpt 5.2 pro inp gl 1M Tokens", "names no gpt-5.2-pro version"),
        ("gpt-realtime-2 text inp gl 1M Tokens", "disagrees on gpt-realtime-2's version"),
        ("GPT 5 Chat Inpt Glbl 1M Tokens", "(the table has 2025-08-07, 2025-10-03): never guessed"),
        ("Az-GPT-3.5-turbo Tokens", "documents none for gpt-35-turbo 4k"),
        ("brand-new-model Inp glbl Tokens", "documents none for brand-new-model"),
    ],
)
def test_a_meter_whose_version_azure_does_not_document_is_skipped_with_the_reason(
    meter: str, reason: str
) -> None:
    with pytest.raises(MeterSkipped, match=re.escape(reason)):
        resolve_meter(parse_meter(meter), read_table(SHIPPED).file.models)


def _item(meter: str, price: str, unit: str = "1K") -> dict[str, object]:
    return {
        "currencyCode": "USD",
        "tierMinimumUnits": 0,
        "retailPrice": "PRICE" + price,
        "unitPrice": "PRICE" + price,
        "armRegionName": "eastus",
        "effectiveStartDate": "2025-03-01T00:00:00Z",
        "meterName": meter,
        "productName": "Azure OpenAI Reasoning",
        "unitOfMeasure": unit,
        "type": "Consumption",
    }


def test_a_documented_model_the_table_lacks_is_imported_under_its_documented_version(
    tmp_path: Path,
) -> None:
    items = [_item("o1-pro Inp glbl Tokens", "0.15"), _item("o1-pro Outp glbl Tokens", "0.6")]
    text = json.dumps({"Items": items, "NextPageLink": None})
    page = tmp_path / "page.json"
    page.write_text(re.sub(r'"PRICE([0-9.]+)"', r"\1", text), encoding="utf-8")
    rows, _ = read_pages([page])
    small = read_table(DATA / "retail" / "table.yaml").file.models
    assert "o1-pro-2025-03-19" not in small
    result = import_rows(rows, small, region="eastus")
    entry = result.file.models["o1-pro-2025-03-19"]
    assert (entry.base, entry.version, entry.kind) == ("o1-pro", "2025-03-19", "reasoning")
    (period,) = entry.prices[0].periods
    assert (period.input_per_mtok, period.output_per_mtok) == (Decimal(150), Decimal(600))
    assert period.note is not None
    assert "model-retirement-schedule" in period.note


def test_o1_pro_is_priced_by_the_shipped_table() -> None:
    cost = azcost.load_pricing().cost("o1-pro", input_tokens=1000, output_tokens=1000)
    assert cost.model == "o1-pro-2025-03-19"
    assert cost.total == Decimal("0.75")  # 150 + 600 per 1M, Global
