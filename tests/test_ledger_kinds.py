"""Every token kind reaches the ledger: columns (m006), exact per-kind costs, audit sums."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ledger_helpers import make_record

import azcost
from azcost.ledger import (
    COST_FIELDS,
    MIGRATIONS,
    TOKEN_FIELDS,
    Ledger,
    audit,
    create_ledger_engine,
    migrate,
)
from azcost.pricing import KINDS

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

_KINDS_FILE = Path(__file__).parent / "data" / "kinds.yaml"


def _every_kind_record(i: int) -> azcost.CallRecord:
    """A record of a call using every token kind, priced by the kinds test table."""
    table = azcost.load_pricing(_KINDS_FILE)
    parts: dict[str, Any] = {k.token_field: 10 + n for n, k in enumerate(KINDS) if not k.is_total}
    cost = table.cost(
        "every-kind-1", input_tokens=1000, output_tokens=500, reasoning_tokens=7, **parts
    )
    amounts: dict[str, Any] = dict(zip((k.cost_field for k in KINDS), cost.amounts(), strict=True))
    return make_record(
        i,
        model="every-kind-1",
        input_tokens=1000,
        output_tokens=500,
        total=str(cost.total),
        reasoning_tokens=7,
        **parts,
        **amounts,
    )


def test_every_token_and_cost_field_is_a_column(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger, ledger.read_engine().connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("azcost_calls")}
    assert set(TOKEN_FIELDS) | set(COST_FIELDS) <= columns


def test_records_of_every_kind_read_back_exactly(ledger_url: str) -> None:
    records = [_every_kind_record(i) for i in range(3)]
    with Ledger(ledger_url, durability="sync") as ledger:
        for rec in records:
            ledger.record(rec)
        back = list(ledger.iter_records())
    assert [r.to_dict() for r in back] == [r.to_dict() for r in records]
    assert back[0].image_output_tokens == 18
    assert back[0].cached_audio_input_cost == Decimal(15 * 6) / 10**6


def test_audit_sums_every_token_kind(ledger_url: str) -> None:
    records = [_every_kind_record(i) for i in range(4)]
    with Ledger(ledger_url, durability="sync") as ledger:
        for rec in records:
            ledger.record(rec)
        (row,) = audit(ledger.read_engine(), ["model"])
    for name in TOKEN_FIELDS:
        assert row.tokens[name] == 4 * getattr(records[0], name), name
    assert row.total_cost == 4 * (records[0].total_cost or 0)


def test_m006_adds_the_new_kinds_to_a_ledger_of_the_first_schema(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    assert [name for name, _ in MIGRATIONS].index("m006_token_kinds") > 0
    migrate(engine, upto=1)
    with engine.begin() as conn:  # a call as the first schema's writer stored it
        conn.execute(
            sa.text(
                "INSERT INTO azcost_calls (run_id, ts, day, model, input_tokens, "
                "cached_input_tokens, output_tokens, reasoning_tokens, audio_input_tokens, "
                "audio_output_tokens, currency, priced, usage_known, tags, run_metadata) "
                "VALUES ('old-1', '2026-10-01T00:00:00.000000+00:00', '2026-10-01', "
                "'gpt-35-turbo-0301', 31, 0, 8, 0, 0, 0, 'USD', false, true, '[]', '{}')"
            )
        )
    engine.dispose()
    with Ledger(ledger_url, durability="sync") as ledger:
        ledger.record(_every_kind_record(1))
        (old,) = [r for r in ledger.iter_records() if r.run_id == "old-1"]
        rows = audit(ledger.read_engine(), ["model"])
    assert (old.image_input_tokens, old.cached_image_input_tokens, old.image_output_tokens) == (
        0,
        0,
        0,
    )
    assert old.image_input_cost is None
    by_model = {r.keys: r for r in rows}
    assert by_model[("every-kind-1",)].tokens["cached_image_input_tokens"] == 17
    assert by_model[("gpt-35-turbo-0301",)].tokens["image_output_tokens"] == 0
    assert by_model[("gpt-35-turbo-0301",)].requests == 1
