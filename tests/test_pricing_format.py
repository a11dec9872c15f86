"""Pricing file scalars: ISO dates only; the writer quotes what the reader would misread."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import azcost
from azcost import DeploymentType, PricingFileError
from azcost.pricing import ModelEntry, PricingFile, dump_table, load_yaml

_FILE = """\
schema_version: 1
version: "2026.01.01"
currency: USD
sources:
  s:
    title: test
    url: https://example.invalid/prices
    retrieved_on: {retrieved}
models:
  m-1:
    base: m
    version: "1"
    default_deployment_type: global
    retired_on: {retired}
    prices:
      - deployment_type: global
        periods:
          - effective_from: {day}
            input_per_mtok: 1
            output_per_mtok: 2
            source: s
"""


def _load(tmp_path: Path, **dates: str) -> azcost.PricingTable:
    values = {"retrieved": "2026-01-01", "retired": "2027-01-01", "day": "2024-06-13"} | dates
    path = tmp_path / "p.yaml"
    path.write_text(_FILE.format(**values), encoding="utf-8")
    return azcost.load_pricing(path)


def test_an_iso_date_is_read_as_that_day(tmp_path: Path) -> None:
    table = _load(tmp_path)
    assert str(table.models["m-1"].prices[0].periods[0].effective_from) == "2024-06-13"


@pytest.mark.parametrize(
    ("field", "key", "value", "line"),
    [
        ("effective_from", "day", "1718236800", 18),  # a Unix time is not a date
        ("effective_from", "day", "20240613", 18),  # ISO basic format: not the file's format
        ("effective_from", "day", "2024-06-13T00:00:00", 18),
        ("effective_from", "day", "2024-02-30", 18),
        ("retrieved_on", "retrieved", "1767225600", 8),
        ("retired_on", "retired", "2024.06.13", 14),
    ],
)
def test_a_date_that_is_not_yyyy_mm_dd_is_refused_with_file_line_and_field(
    tmp_path: Path, field: str, key: str, value: str, line: int
) -> None:
    with pytest.raises(PricingFileError) as info:
        _load(tmp_path, **{key: value})
    err = info.value
    assert (err.line, err.field) == (line, field)
    assert str(err).startswith(f"{tmp_path / 'p.yaml'}:{line}: ")
    assert "YYYY-MM-DD" in str(err)


_SCALARS = st.one_of(
    st.text(alphabet="0123456789.-+eE_:~ntrufalsyoNTRUFALSYO", max_size=12),
    st.sampled_from(
        ["0301", "1106", "2", "null", "~", "yes", "Off", "1e5", ".5", "-0", "1_0", "1_", "1__2"]
    ),
    st.text(max_size=20),
)


def _written_version(text: str) -> str:
    """A model version as the writer writes it: plain, or quoted (built unvalidated)."""
    entry = ModelEntry.model_construct(
        base="m", version=text, default_deployment_type=DeploymentType.GLOBAL, prices=[]
    )
    table = PricingFile.model_construct(
        schema_version=1, version="2026.01.01", currency="USD", sources={}, models={"m": entry}
    )
    (line,) = [line for line in dump_table(table).splitlines() if line.startswith("    version: ")]
    return line.removeprefix("    version: ")


@given(text=_SCALARS)
def test_the_writer_quotes_every_scalar_the_reader_would_not_read_back_as_that_text(
    text: str,
) -> None:
    written = _written_version(text)
    data, _ = load_yaml("<test>", f"key: {written}\n")
    read = data["key"]
    assert str(read) == text if written == text else read == text
