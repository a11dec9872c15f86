"""The shipped pricing table: complete, sourced, and consistent with Azure's published rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from retail_dump import Gap, check_rows, dump_rows, header_gaps, is_token_row

import azcost
from azcost import DeploymentType
from azcost.azure import RetailRow
from azcost.cli import main
from azcost.pricing import read_table

TABLE = azcost.load_pricing()

REQUIRED = [
    "gpt-35-turbo-0301",
    "gpt-35-turbo-0613",
    "gpt-35-turbo-1106",
    "gpt-35-turbo-0125",
    "gpt-35-turbo-16k-0613",
    "gpt-35-turbo-instruct-0914",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-32k-0613",
    "gpt-4-1106-preview",
    "gpt-4-0125-preview",
    "gpt-4-turbo-2024-04-09",
    "gpt-4o-2024-05-13",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-11-20",
    "gpt-4o-mini-2024-07-18",
    "o1-2024-12-17",
    "o1-mini-2024-09-12",
    "o3-mini-2025-01-31",
    "o3-2025-04-16",
    "o4-mini-2025-04-16",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "gpt-5-2025-08-07",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano-2025-08-07",
    "text-embedding-3-small-1",
    "text-embedding-3-large-1",
]


@pytest.mark.parametrize("model", REQUIRED)
def test_required_model_version_is_shipped(model: str) -> None:
    assert model in TABLE.models


def test_gpt35_0301_is_two_dollars_per_million_in_and_out() -> None:
    cost = TABLE.cost("gpt-35-turbo", model_version="0301", input_tokens=31, output_tokens=8)
    assert cost.total == Decimal("0.000078")


@pytest.mark.parametrize(
    ("alias", "model"),
    [(a, name) for name, info in TABLE.models.items() for a in info.aliases],
)
def test_every_shipped_alias_resolves_to_its_model(alias: str, model: str) -> None:
    assert TABLE.resolve(alias).model == model


@pytest.mark.parametrize("model", sorted(TABLE.models))
def test_every_model_prices_its_default_deployment_today(model: str) -> None:
    cost = TABLE.cost(model, input_tokens=1000, output_tokens=0)
    assert cost.total > 0
    assert cost.deployment_type is TABLE.models[model].default_deployment_type


@pytest.mark.parametrize("model", sorted(TABLE.models))
def test_every_period_names_a_public_source_and_date(model: str) -> None:
    for series in TABLE.models[model].prices:
        for period in series.periods:
            assert period.source.url.startswith(("https://", "pypi:", "git:"))
            assert period.source.retrieved_on <= dt.date(2026, 11, 25)


def test_batch_is_half_the_matching_standard_price() -> None:
    for name, info in TABLE.models.items():
        types = {s.deployment_type: s for s in info.prices if s.region is None}
        if DeploymentType.GLOBAL in types and DeploymentType.GLOBAL_BATCH in types:
            std = TABLE.rates(name, deployment_type="global").period
            batch = TABLE.rates(name, deployment_type="global-batch").period
            assert batch.input_per_mtok is not None, name
            assert batch.input_per_mtok * 2 == std.input_per_mtok, name


def test_each_base_has_at_most_one_default_version() -> None:
    defaults: dict[str, str] = {}
    for name, info in TABLE.models.items():
        if info.default_for_base:
            assert info.base not in defaults, (name, defaults.get(info.base))
            defaults[info.base] = name
    assert defaults["gpt-4o"].startswith("gpt-4o-")


def test_shipped_table_is_in_canonical_form_so_update_loses_nothing() -> None:
    from azcost.pricing import dump_table, read_table

    path = azcost.shipped_pricing_paths()[0]
    doc = read_table(path)
    assert dump_table(doc.file, doc.header) == path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the full retail dump

ADDED_FROM_THE_DUMP = [
    "gpt-5-codex",
    "gpt-5.1-codex",
    "gpt-5.1-codex-mini",
    "gpt-5.1-codex-max",
    "gpt-5.2-codex",
    "gpt-5.3-codex",
    "codex-mini",
    "gpt-5-pro",
    "gpt-5.4-pro",
    "o3-pro",
    "o1-preview",
    "gpt-oss-120b",
    "gpt-4.5-preview",
    "o3-deep-research",
    "computer-use-preview",
    "gpt-4o-audio-preview",
    "gpt-4o-mini-audio-preview",
    "gpt-audio",
    "gpt-audio-mini",
    "gpt-audio-1.5",
    "gpt-4o-realtime-preview",
    "gpt-4o-mini-realtime-preview",
    "gpt-realtime",
    "gpt-realtime-mini",
    "gpt-realtime-1.5",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-tts",
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
]

SHIPPED_PATH = Path(__file__).parent.parent / "pricing" / "azure-openai.yaml"


@pytest.fixture(scope="module")
def dump_check() -> tuple[list[RetailRow], dict[int, str], list[Gap]]:
    """The dump's token rows, the ones the shipped table does not price exactly, the gap list."""
    shipped = read_table(SHIPPED_PATH)
    rows = [r for r in dump_rows() if is_token_row(r)]
    problems = check_rows(rows, azcost.load_pricing(SHIPPED_PATH), shipped.file.models)
    return rows, problems, header_gaps(shipped.header)


def test_every_token_row_of_the_full_dump_is_priced_exactly_or_listed_as_a_gap(
    dump_check: tuple[list[RetailRow], dict[int, str], list[Gap]],
) -> None:
    rows, problems, gaps = dump_check
    unlisted = {
        f"{rows[i].meter_name} @ {rows[i].region} from {rows[i].start}: {why}"
        for i, why in problems.items()
        if not any(g.covers(rows[i]) for g in gaps)
    }
    assert sorted(unlisted) == []
    assert len(rows) > 19000  # every page of the dump was read


def test_every_gap_line_names_a_row_the_table_does_not_price(
    dump_check: tuple[list[RetailRow], dict[int, str], list[Gap]],
) -> None:
    rows, problems, gaps = dump_check
    stale = [g for g in gaps if not any(g.covers(rows[i]) for i in problems)]
    assert stale == []


@pytest.mark.parametrize("model", ADDED_FROM_THE_DUMP)
def test_models_added_from_the_dump_price_by_their_base_name(model: str) -> None:
    cost = TABLE.cost(model, input_tokens=1000, output_tokens=0)
    assert cost.total > 0
    assert cost.period.source.id == "azure-retail-2026-08"


def test_realtime_call_prices_cached_audio_at_its_own_rate() -> None:
    # text, audio and cached audio input, each billed at its own rate
    cost = TABLE.cost(
        "gpt-realtime",
        model_version="2025-08-28",
        input_tokens=3000,
        audio_input_tokens=1000,
        cached_audio_input_tokens=1000,
        output_tokens=0,
        deployment_type="global",
        at=dt.date(2026, 8, 1),
    )
    rates = cost.rates
    assert rates.audio_input is not None
    assert rates.cached_audio_input is not None
    assert cost.total == 1000 * (rates.input + rates.audio_input + rates.cached_audio_input)
    assert rates.cached_audio_input < rates.audio_input


def test_image_model_prices_image_output_and_refuses_text_output() -> None:
    cost = TABLE.cost(
        "gpt-image-1",
        input_tokens=100,
        output_tokens=1000,
        image_output_tokens=1000,
        deployment_type="global",
        at=dt.date(2026, 8, 1),
    )
    assert cost.rates.image_output is not None
    assert cost.total == 100 * cost.rates.input + 1000 * cost.rates.image_output
    with pytest.raises(azcost.errors.NoPriceError):
        TABLE.cost("gpt-image-1", input_tokens=100, output_tokens=10, at=dt.date(2026, 8, 1))


def test_pricing_list_names_every_model_added_from_the_dump(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pricing", "list"]) == 0
    listed = capsys.readouterr().out
    for model in ADDED_FROM_THE_DUMP:
        assert model in listed


def test_price_command_prices_a_codex_model_by_its_base_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["price", "gpt-5.1-codex-mini", "--input", "1000", "--output", "1000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("0.00225 USD")  # 1000 x 0.25/1M + 1000 x 2.00/1M, Global
    assert "gpt-5.1-codex-mini-2025-11-13" in out
