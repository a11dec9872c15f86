"""Loading pricing files: strict validation with file, line, model and field in every error."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import azcost
from azcost import PricingFileError
from azcost.pricing import validate_files

HEADER = """\
schema_version: 1
version: "2026.01.01"
currency: USD
sources:
  s:
    title: test
    url: https://example.invalid/prices
    retrieved_on: 2026-01-01
models:
"""

MODEL = """\
  gpt-4o-2024-08-06:
    base: gpt-4o
    version: 2024-08-06
    aliases: [gpt-4o-0806]
    default_for_base: true
    default_deployment_type: global
    prices:
      - deployment_type: global
        periods:
          - effective_from: 2024-08-06
            input_per_mtok: 2.50
            output_per_mtok: 10.00
            source: s
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> PricingFileError:
    path = write(tmp_path, text)
    with pytest.raises(PricingFileError) as info:
        azcost.load_pricing(path)
    return info.value


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth occurrence of needle."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[nth - 1]


def test_valid_file_loads_with_decimal_prices(tmp_path: Path) -> None:
    table = azcost.load_pricing(write(tmp_path, HEADER + MODEL))
    period = table.models["gpt-4o-2024-08-06"].prices[0].periods[0]
    assert period.input_per_mtok == Decimal("2.50")
    assert isinstance(period.input_per_mtok, Decimal)
    assert table.version == "2026.01.01"


def test_prices_never_pass_through_float(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("2.50", "0.1000000000000000055511151231257827")
    table = azcost.load_pricing(write(tmp_path, text))
    rate = table.models["gpt-4o-2024-08-06"].prices[0].periods[0].input_per_mtok
    assert rate == Decimal("0.1000000000000000055511151231257827")
    assert str(rate) != str(Decimal(float(rate)))


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("aliases: [gpt-4o-0806]", "aliases: [gpt-4o-0806")
    err = load_error(tmp_path, text)
    assert err.path is not None
    assert err.path.endswith("p.yaml")
    assert "malformed YAML" in str(err)
    assert err.line is not None
    assert err.line >= line_of(text, "aliases:")


def test_unknown_field_is_a_typo_error_with_line_model_and_field(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("output_per_mtok", "output_per_ktok")
    err = load_error(tmp_path, text)
    assert err.line == line_of(text, "output_per_ktok")
    assert err.model == "gpt-4o-2024-08-06"
    assert err.field == "output_per_ktok"
    assert "unknown field" in str(err)
    assert re.match(
        r".*p\.yaml:\d+: model 'gpt-4o-2024-08-06': field 'output_per_ktok': ", str(err)
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-1.00", "greater than or equal to 0"),
        ('"2.50"', "not the string"),
        ("abc", "not the string"),
        ("true", "decimal number"),
        (".nan", "string"),
    ],
)
def test_bad_price_is_refused_with_its_line(tmp_path: Path, value: str, fragment: str) -> None:
    text = HEADER + MODEL.replace("input_per_mtok: 2.50", f"input_per_mtok: {value}")
    err = load_error(tmp_path, text)
    assert err.line == line_of(text, "input_per_mtok")
    assert err.field == "input_per_mtok"
    assert err.model == "gpt-4o-2024-08-06"
    assert fragment in str(err)


def test_duplicate_model_key_is_detected(tmp_path: Path) -> None:
    text = HEADER + MODEL + MODEL.replace("aliases: [gpt-4o-0806]", "")
    err = load_error(tmp_path, text)
    assert "duplicate key 'gpt-4o-2024-08-06'" in str(err)
    assert err.line == line_of(text, "gpt-4o-2024-08-06:", 2)
    assert f"first at line {line_of(text, 'gpt-4o-2024-08-06:')}" in str(err)


@pytest.mark.parametrize(
    ("second", "word"), [("2024-08-06", "duplicate"), ("2024-01-01", "unsorted")]
)
def test_effective_dates_must_increase(tmp_path: Path, second: str, word: str) -> None:
    extra = f"""\
          - effective_from: {second}
            input_per_mtok: 3
            output_per_mtok: 11
            source: s
"""
    text = HEADER + MODEL + ""
    text = text.rstrip("\n") + "\n" + extra
    err = load_error(tmp_path, text)
    assert f"{word} effective date" in str(err)
    assert err.field == "effective_from"
    assert err.line == line_of(text, f"effective_from: {second}", 2 if word == "duplicate" else 1)


def test_alias_colliding_with_another_model_is_refused(tmp_path: Path) -> None:
    other = MODEL.replace("gpt-4o-2024-08-06:", "gpt-4o-2024-11-20:").replace(
        "version: 2024-08-06", "version: 2024-11-20"
    )
    other = other.replace("aliases: [gpt-4o-0806]", "aliases: [gpt-4o-2024-08-06]")
    other = other.replace("default_for_base: true", "default_for_base: false")
    text = HEADER + MODEL + other
    err = load_error(tmp_path, text)
    assert "collides with model" in str(err)
    assert err.model == "gpt-4o-2024-11-20"
    assert err.line == line_of(text, "aliases: [gpt-4o-2024-08-06]")


def test_alias_colliding_with_another_alias_is_refused(tmp_path: Path) -> None:
    other = MODEL.replace("gpt-4o-2024-08-06:", "gpt-4o-2024-11-20:").replace(
        "version: 2024-08-06", "version: 2024-11-20"
    )
    other = other.replace("default_for_base: true", "default_for_base: false")
    err = load_error(tmp_path, HEADER + MODEL + other)
    assert "alias 'gpt-4o-0806' collides with an alias of 'gpt-4o-2024-08-06'" in str(err)


def test_unknown_deployment_type_lists_the_accepted_names(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("- deployment_type: global", "- deployment_type: provisioned")
    err = load_error(tmp_path, text)
    assert "unknown deployment type 'provisioned'" in str(err)
    assert "GlobalStandard" in str(err)
    assert err.line == line_of(text, "deployment_type: provisioned")


@pytest.mark.parametrize("sku", ["GlobalStandard", "globalstandard", " Global "])
def test_azure_sku_names_are_accepted_as_deployment_types(tmp_path: Path, sku: str) -> None:
    text = HEADER + MODEL.replace("- deployment_type: global", f'- deployment_type: "{sku}"')
    table = azcost.load_pricing(write(tmp_path, text))
    assert table.deployment_types("gpt-4o") == [azcost.DeploymentType.GLOBAL]


def test_key_must_be_base_dash_version(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("version: 2024-08-06", "version: 2024-11-20")
    err = load_error(tmp_path, text)
    assert "canonical name base-version" in str(err)
    assert err.field == "version"


def test_period_source_must_be_declared(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("source: s", "source: nowhere")
    err = load_error(tmp_path, text)
    assert "unknown source 'nowhere'" in str(err)
    assert err.line == line_of(text, "source: nowhere")


def test_two_default_versions_for_one_base_are_refused(tmp_path: Path) -> None:
    other = MODEL.replace("gpt-4o-2024-08-06:", "gpt-4o-2024-11-20:").replace(
        "version: 2024-08-06", "version: 2024-11-20"
    )
    other = other.replace("aliases: [gpt-4o-0806]", "")
    err = load_error(tmp_path, HEADER + MODEL + other)
    assert "already the default version of 'gpt-4o'" in str(err)


def test_default_deployment_type_needs_a_series(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace(
        "default_deployment_type: global", "default_deployment_type: regional"
    )
    err = load_error(tmp_path, text)
    assert "no region-less regional series" in str(err)
    assert err.field == "default_deployment_type"


def test_chat_model_without_output_rate_is_refused(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("            output_per_mtok: 10.00\n", "")
    err = load_error(tmp_path, text)
    assert err.field == "output_per_mtok"


def test_missing_required_field_names_its_parent_line(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("            source: s\n", "")
    err = load_error(tmp_path, text)
    assert err.field == "source"
    assert "required field is missing" in str(err)
    assert err.line == line_of(text, "effective_from: 2024-08-06")


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("source: s", "source: x").replace("2.50", "-1")
    err = load_error(tmp_path, text)
    assert len([err, *err.others]) >= 1
    problems = validate_files([write(tmp_path, HEADER + MODEL.replace("source: s", "source: x"))])
    assert [p.field for p in problems] == ["source"]


def test_python_tags_are_refused_without_executing(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    text = HEADER + MODEL.replace(
        "input_per_mtok: 2.50",
        f"input_per_mtok: !!python/object/apply:os.system ['touch {marker}']",
    )
    err = load_error(tmp_path, text)
    assert "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in str(err)
    assert err.line == line_of(text, "python/object")
    assert not marker.exists()


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    err = load_error(tmp_path, "\n".join(bomb) + "\n")
    assert "alias bomb" in str(err)


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    err = load_error(tmp_path, "base: &b {currency: USD}\nother:\n  <<: *b\n")
    assert "merge keys" in str(err)
    assert err.line == 3


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = load_error(tmp_path, "- 1\n- 2\n")
    assert "mapping at the top level" in str(err)


def test_missing_file_is_a_pricing_error(tmp_path: Path) -> None:
    with pytest.raises(PricingFileError, match="cannot read"):
        azcost.load_pricing(tmp_path / "absent.yaml")


def test_version_like_scalars_stay_strings(tmp_path: Path) -> None:
    text = HEADER + MODEL.replace("gpt-4o-2024-08-06:", "gpt-35-turbo-0301:").replace(
        "base: gpt-4o", "base: gpt-35-turbo"
    ).replace("version: 2024-08-06", "version: 0301")
    table = azcost.load_pricing(write(tmp_path, text))
    assert table.models["gpt-35-turbo-0301"].version == "0301"


# ------------------------------------------------------------------ layering


OVERRIDE = """\
schema_version: 1
version: "2026.02.01+contoso"
currency: {currency}
sources:
  contract:
    title: Contoso enterprise agreement
    url: https://example.invalid/contract
    retrieved_on: 2026-02-01
models:
  gpt-4o-2024-08-06:
    base: gpt-4o
    version: 2024-08-06
    aliases: [{alias}]
    default_for_base: true
    default_deployment_type: global
    prices:
      - deployment_type: global
        periods:
          - effective_from: 2024-08-06
            input_per_mtok: 2.00
            output_per_mtok: 8.00
            source: contract
"""


def test_later_file_overrides_whole_model(tmp_path: Path) -> None:
    base = write(tmp_path, HEADER + MODEL, "base.yaml")
    over = write(tmp_path, OVERRIDE.format(currency="USD", alias="contoso-4o"), "over.yaml")
    table = azcost.load_pricing(base, over)
    cost = table.cost("gpt-4o", input_tokens=1_000_000, output_tokens=0)
    assert cost.total == Decimal("2.00")
    assert cost.period.source.id == "contract"
    assert table.version == "2026.01.01+2026.02.01+contoso"
    assert "contoso-4o" in table
    assert "gpt-4o-0806" not in table  # the replaced entry's aliases go with it


def test_layered_files_must_share_a_currency(tmp_path: Path) -> None:
    base = write(tmp_path, HEADER + MODEL, "base.yaml")
    over_text = OVERRIDE.format(currency="EUR", alias="contoso-4o")
    over = write(tmp_path, over_text, "over.yaml")
    with pytest.raises(PricingFileError) as info:
        azcost.load_pricing(base, over)
    assert info.value.path == str(over)
    assert info.value.field == "currency"
    assert info.value.line == line_of(over_text, "currency:")


def test_alias_taken_in_an_earlier_file_is_refused(tmp_path: Path, mini_path: Path) -> None:
    over_text = OVERRIDE.format(currency="USD", alias="gpt-3.5-turbo-0301")
    over = write(tmp_path, over_text, "over.yaml")
    with pytest.raises(PricingFileError) as info:
        azcost.load_pricing(mini_path, over)
    assert "already taken by model 'gpt-35-turbo-0301'" in str(info.value)
    assert info.value.line == line_of(over_text, "aliases:")


# ------------------------------------------------------------------ cache


def test_unchanged_file_loads_from_cache_without_pydantic(tmp_path: Path, mini_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, azcost; t = azcost.load_pricing(sys.argv[1]); "
        "print('pydantic' in sys.modules, 'yaml' in sys.modules, t.cost('gpt-35-turbo-0301', "
        "input_tokens=31, output_tokens=8).total)"
    )
    first = subprocess.run(
        [sys.executable, "-c", code, str(mini_path)], capture_output=True, text=True, check=True
    )
    second = subprocess.run(
        [sys.executable, "-c", code, str(mini_path)], capture_output=True, text=True, check=True
    )
    assert first.stdout.split() == ["True", "True", "0.00007800"]
    assert second.stdout.split() == ["False", "False", "0.00007800"]


def test_edited_file_is_validated_again_not_served_from_cache(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + MODEL)
    azcost.load_pricing(path)
    path.write_text(HEADER + MODEL.replace("2.50", "-2.50"), encoding="utf-8")
    with pytest.raises(PricingFileError, match="greater than or equal to 0"):
        azcost.load_pricing(path)


def test_damaged_cache_entry_only_costs_a_slower_load(tmp_path: Path, mini_path: Path) -> None:
    azcost.load_pricing(mini_path)
    for entry in azcost._paths.cache_dir().glob("pricing-*.json"):
        entry.write_text("{not json", encoding="utf-8")
    table = azcost.load_pricing(mini_path)
    assert table.cost("gpt-35-turbo-0301", input_tokens=31, output_tokens=8).total == Decimal(
        "0.000078"
    )
