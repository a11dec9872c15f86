"""CallRecord as the callback builds it: fast constructor, exact costs, JSON-safe metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import azcost
from azcost.callback import Client, Usage, build_record, identify
from azcost.ledger import CallRecord, new_record
from azcost.pricing import KINDS

NAMES = [f.name for f in dataclasses.fields(CallRecord)]


class Colour(str, enum.Enum):
    RED = "red"


def _build(
    table: azcost.PricingTable,
    tokens: tuple[int, int, int, int, int, int] = (31, 0, 8, 0, 0, 0),
    *,
    model: str = "gpt-35-turbo-0301",
    metadata: dict[Any, Any] | None = None,
    priced: bool = True,
) -> tuple[CallRecord, azcost.Cost | None]:
    ident = identify(table, {}, Client("chat", None, None, None), model)
    prompt, cached, completion, reasoning, audio_in, audio_out = tokens
    parts: dict[str, Any] = {
        "cached_input_tokens": cached,
        "audio_input_tokens": audio_in,
        "audio_output_tokens": audio_out,
    }
    details = {f: n for f, n in parts.items() if n}
    cost = None
    if priced:
        cost = table.cost(
            model,
            input_tokens=prompt,
            output_tokens=completion,
            reasoning_tokens=reasoning,
            **details,
        )
    rec = build_record(
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ["t1", "t2"],
        metadata,
        "chat",
        Usage(True, prompt, completion, reasoning, details, model),
        ident,
        cost,
        None if priced else ValueError("no price for this test"),
        currency=table.currency,
        pricing_version=table.version,
    )
    return rec, cost


def test_fast_constructor_builds_the_same_frozen_record_as_init() -> None:
    values: list[Any] = [
        object() for _ in NAMES
    ]  # a distinct value per field: a swapped slot shows
    rec = new_record(*values)
    assert type(rec) is CallRecord
    assert [getattr(rec, name) for name in NAMES] == values
    assert rec == CallRecord(**dict(zip(NAMES, values, strict=True)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.run_id = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("table_file", "model", "tokens"),
    [
        ("mini.yaml", "gpt-35-turbo-0301", (31, 0, 8, 0, 0, 0)),
        ("mini.yaml", "gpt-4o-2024-08-06", (1000, 400, 500, 0, 0, 0)),
        ("mini.yaml", "o1-2024-12-17", (1000, 300, 900, 600, 0, 0)),
        ("kinds.yaml", "every-kind-1", (1000, 100, 500, 0, 200, 50)),
    ],
    ids=["plain", "cached", "reasoning", "audio"],
)
def test_record_costs_are_exactly_the_cost_objects_amounts(
    table_file: str, model: str, tokens: tuple[int, int, int, int, int, int]
) -> None:
    table = azcost.load_pricing(Path(__file__).parent / "data" / table_file)
    rec, cost = _build(table, tokens, model=model)
    assert cost is not None
    expected = [getattr(cost, kind.cost_field) for kind in KINDS]
    got = [getattr(rec, kind.cost_field) for kind in KINDS]
    assert [str(v) for v in got] == [str(v) for v in expected]  # same digits and exponent
    assert list(cost.amounts()) == expected
    assert sum(got, Decimal(0)) == rec.total_cost == cost.total
    assert rec.priced
    assert rec.model == model
    assert rec.price_effective_from == cost.period.effective_from
    assert rec.deployment_type == cost.deployment_type.value


def test_record_identity_fields_are_the_calls(mini: azcost.PricingTable) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    rec, _ = _build(mini)
    assert rec.run_id == "12345678-1234-5678-1234-567812345678"
    assert before <= rec.timestamp <= dt.datetime.now(dt.timezone.utc)
    assert rec.timestamp.utcoffset() == dt.timedelta(0)
    assert rec.tags == ("t1", "t2")
    assert (rec.currency, rec.pricing_version) == (mini.currency, mini.version)
    assert (rec.input_tokens, rec.output_tokens, rec.usage_known) == (31, 8, True)


def test_unpriced_record_has_the_reason_and_no_costs(mini: azcost.PricingTable) -> None:
    rec, _ = _build(mini, priced=False)
    assert not rec.priced
    assert rec.unpriced_reason == "no price for this test"
    assert [getattr(rec, name) for name in ("input_cost", "output_cost", "total_cost")] == [
        None,
        None,
        None,
    ]
    assert rec.price_effective_from is None


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, {}),
        ({"user": "ann", "n": 3, "x": 1.5, "ok": True, "none": None}, None),
        ({"user": "ann", "id": uuid.UUID(int=7)}, {"user": "ann", "id": str(uuid.UUID(int=7))}),
        ({1: "one", "user": "ann"}, {"1": "one", "user": "ann"}),
        ({"colour": Colour.RED}, {"colour": Colour.RED}),
        ({"list": [1, 2]}, {"list": "[1, 2]"}),
    ],
    ids=["none", "plain", "uuid-value", "int-key", "str-subclass", "list-value"],
)
def test_record_metadata_is_a_json_safe_copy(
    mini: azcost.PricingTable, metadata: dict[Any, Any] | None, expected: dict[str, Any] | None
) -> None:
    rec, _ = _build(mini, metadata=metadata)
    assert rec.metadata == (metadata if expected is None else expected)
    assert rec.metadata is not metadata
    assert CallRecord.from_json(rec.to_json()).metadata == rec.metadata


def test_built_record_roundtrips_through_json(mini: azcost.PricingTable) -> None:
    rec, _ = _build(mini, (1000, 400, 500, 0, 0, 0), model="gpt-4o-2024-08-06")
    assert CallRecord.from_json(rec.to_json()) == rec
