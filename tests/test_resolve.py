"""Name resolution: from what a client reports to one canonical model version."""

from __future__ import annotations

import pytest

import azcost
from azcost import MatchKind, UnknownModelError
from azcost.pricing import join_version, normalize_name


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("gpt-4o", "2024-08-06", "gpt-4o-2024-08-06"),
        ("gpt-4o-2024-08-06", "2024-08-06", "gpt-4o-2024-08-06"),
        ("gpt-35-turbo", "0301", "gpt-35-turbo-0301"),
        ("gpt-35-turbo-0301", None, "gpt-35-turbo-0301"),
        ("gpt-35-turbo", "", "gpt-35-turbo"),
        ("gpt-35-turbo", " 0301 ", "gpt-35-turbo-0301"),
    ],
)
def test_version_is_appended_exactly_once(name: str, version: str | None, expected: str) -> None:
    assert join_version(name, version) == expected


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("GPT-3.5-Turbo-0301", "gpt-35-turbo-0301"),
        ("  gpt-4o\n", "gpt-4o"),
        ("gpt-35-turbo-instruct-completion", "gpt-35-turbo-instruct"),
        ("azure/gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
    ],
)
def test_names_are_normalized(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


def test_exact_canonical_name_matches_exactly(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-35-turbo-0301")
    assert (r.model, r.match, r.assumed) == ("gpt-35-turbo-0301", MatchKind.EXACT, False)


def test_base_name_plus_version_matches_the_version(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-35-turbo", "0301")
    assert (r.model, r.match) == ("gpt-35-turbo-0301", MatchKind.VERSION_APPENDED)


def test_versioned_name_with_same_version_is_not_doubled(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-4o-2024-08-06", "2024-08-06")
    assert r.model == "gpt-4o-2024-08-06"


def test_openai_spelling_maps_to_azure(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-3.5-turbo", "0301")
    assert r.model == "gpt-35-turbo-0301"


def test_declared_alias_matches_as_alias(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-3.5-turbo-0301")
    assert (r.model, r.match) == ("gpt-35-turbo-0301", MatchKind.ALIAS)


@pytest.mark.parametrize(
    "name", ["GPT-35-TURBO-0301", "  gpt-35-turbo-0301  ", "Gpt-35-Turbo-0301"]
)
def test_case_and_surrounding_space_are_tolerated(mini: azcost.PricingTable, name: str) -> None:
    r = mini.resolve(name)
    assert (r.model, r.match) == ("gpt-35-turbo-0301", MatchKind.SPELLING)


def test_langchain_completion_suffix_is_accepted(mini: azcost.PricingTable) -> None:
    assert mini.resolve("gpt-35-turbo-0301-completion").model == "gpt-35-turbo-0301"


def test_bare_name_resolves_to_default_version_marked_assumed(mini: azcost.PricingTable) -> None:
    r = mini.resolve("gpt-4o")
    assert r.model == "gpt-4o-2024-08-06"
    assert r.match is MatchKind.BASE_DEFAULT
    assert r.assumed


def test_unknown_version_is_not_priced_as_the_default(mini: azcost.PricingTable) -> None:
    with pytest.raises(UnknownModelError) as info:
        mini.resolve("gpt-35-turbo", "1106")
    assert info.value.name == "gpt-35-turbo-1106"
    assert "gpt-35-turbo-0301" in info.value.suggestions
    assert "closest known" in str(info.value)


def test_unknown_model_lists_closest_names(mini: azcost.PricingTable) -> None:
    with pytest.raises(UnknownModelError) as info:
        mini.resolve("gpt-4o-2024-08-07")
    assert info.value.suggestions[0] == "gpt-4o-2024-08-06"


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_name_is_unknown(mini: azcost.PricingTable, name: str) -> None:
    with pytest.raises(UnknownModelError, match="empty model name"):
        mini.resolve(name)


def test_contains_answers_for_every_spelling(mini: azcost.PricingTable) -> None:
    assert "gpt-3.5-turbo-0301" in mini
    assert "gpt-4o" in mini
    assert "gpt-4o-1999-01-01" not in mini
