"""The input boundary (azcost.inputs): regular files, bounded size, strict UTF-8, bounded depth."""

from __future__ import annotations

import gzip
import os
from decimal import Decimal
from pathlib import Path

import pytest

from azcost.errors import AzcostError, InputFileError, PricingFileError
from azcost.inputs import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    iter_lines,
    loads_json,
    max_input_bytes,
    open_binary,
    read_bytes,
    read_text,
)
from azcost.pricing import load_yaml


def _special(tmp_path: Path, kind: str) -> tuple[Path, str]:
    if kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
        return path, "FIFO"
    if kind == "device":
        path = tmp_path / "zero.yaml"
        path.symlink_to("/dev/zero")
        return path, "character device"
    if kind == "folder":
        path = tmp_path / "folder.yaml"
        path.mkdir()
        return path, "folder"
    return tmp_path / "missing.yaml", "No such file"


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "missing"])
def test_read_text_refuses_what_is_not_a_regular_file_naming_it(tmp_path: Path, kind: str) -> None:
    path, word = _special(tmp_path, kind)
    with pytest.raises(InputFileError, match=word) as info:
        read_text(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_streams_refuse_special_files_too(tmp_path: Path, kind: str) -> None:
    path, word = _special(tmp_path, kind)
    with pytest.raises(InputFileError, match=word):
        open_binary(path)
    with pytest.raises(InputFileError, match=word):
        list(iter_lines(path))


def test_whole_file_reads_stop_at_the_limit_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 101)
    monkeypatch.setenv("AZCOST_MAX_INPUT_BYTES", "100")
    assert max_input_bytes() == 100
    with pytest.raises(InputFileError, match=r"too large: 101 bytes.*AZCOST_MAX_INPUT_BYTES"):
        read_bytes(path)
    assert read_bytes(path, limit=101) == b"x" * 101


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_bad_size_limit_in_the_environment_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AZCOST_MAX_INPUT_BYTES", value)
    with pytest.raises(AzcostError, match="AZCOST_MAX_INPUT_BYTES"):
        max_input_bytes()


def test_a_bad_byte_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nnote: café \xff\n".encode().replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(InputFileError) as info:
        read_text(path)
    assert (info.value.line, info.value.column) == (2, 12)
    assert str(info.value).startswith(f"{path}:2:12: not UTF-8 text: byte 0xff")


def test_a_leading_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text(path) == "a: 1\n"


def test_iter_lines_hands_back_a_bad_line_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"a": 1}\r\n' + b"\xfe\n" + b"y" * 50 + b"\n" + b'{"b": 2}\n')
    lines = list(iter_lines(path, max_line_bytes=20))
    assert [n for n, _ in lines] == [1, 2, 3, 4]
    assert lines[0][1] == '{"a": 1}'
    assert lines[3][1] == '{"b": 2}'
    bad_byte, too_long = lines[1][1], lines[2][1]
    assert isinstance(bad_byte, InputFileError)
    assert str(bad_byte).startswith(f"{path}:2:1: ")
    assert isinstance(too_long, InputFileError)
    assert "longer than 20 bytes" in str(too_long)


def test_gzip_streams_are_decompressed_and_capped_after_decompression(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" * 1000))
    assert sum(1 for _ in iter_lines(path)) == 1000
    with pytest.raises(InputFileError, match="over the limit of 100 bytes"):
        list(iter_lines(path, limit=100))


def test_a_damaged_gzip_stream_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" * 1000)[:40])
    with pytest.raises(InputFileError, match=str(path)):
        list(iter_lines(path))


def test_loads_json_bounds_depth_numbers_and_refuses_non_finite_values() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InputFileError, match=f"x.jsonl:7: nested deeper than {MAX_DEPTH}"):
        loads_json(deep, "x.jsonl", line=7)
    with pytest.raises(InputFileError, match="number too long"):
        loads_json("[" + "9" * 5000 + "]", "x.json")
    with pytest.raises(InputFileError, match="out of range"):
        loads_json('{"p": 1e400}', "x.json")
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(InputFileError, match="finite numbers only"):
            loads_json(f'{{"p": {constant}}}', "x.json")
    assert loads_json('{"p": 0.1, "s": "[[[["}', "x.json") == {"p": Decimal("0.1"), "s": "[[[["}


def test_malformed_json_names_line_and_column_in_the_file() -> None:
    with pytest.raises(InputFileError, match=r"^x\.jsonl:12:7: malformed JSON"):
        loads_json('{"a": }', "x.jsonl", line=12)


def test_yaml_nested_hundreds_of_levels_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a:\n  " + "- " * 600 + "x\n")
    with pytest.raises(PricingFileError, match=f"nested deeper than {MAX_DEPTH}") as info:
        load_yaml(path)
    assert info.value.line == 2


def test_yaml_number_of_thousands_of_digits_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("a: 1\nprice: " + "7" * 5000 + "\n")
    with pytest.raises(PricingFileError, match=f"at most {MAX_NUMBER_CHARS}") as info:
        load_yaml(path)
    assert info.value.line == 2
