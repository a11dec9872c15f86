"""Running the CLI on a hostile input and checking what every such run must guarantee."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from azcost.cli import main

HOSTILE = Path(__file__).parent / "data" / "hostile"
SECONDS = 20
"""Longest a single hostile run may take (a hang fails the test instead of the suite)."""
SENTINEL = "azcost-hostile-executed"
"""The file the corpus's code-execution attempts would create in the working folder."""
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Expected:
    """What the corpus manifest says one file's error is: its line, and words of the message."""

    line: int | None
    pattern: str


def manifest() -> dict[str, Expected]:
    """``tests/data/hostile/expected.tsv``: relative path -> the line and pattern of the error."""
    out: dict[str, Expected] = {}
    for row in (HOSTILE / "expected.tsv").read_text(encoding="utf-8").splitlines():
        if not row.strip() or row.startswith("#"):
            continue
        name, line, pattern = row.split("\t")
        out[name] = Expected(None if line == "-" else int(line), pattern)
    return out


class Hung(Exception):
    """A hostile run did not finish in :data:`SECONDS`."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hung


@contextmanager
def time_limit(seconds: int = SECONDS) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    except Hung:
        pytest.fail(f"did not finish in {seconds} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run ``azcost argv`` in-process under the time limit; return the status and stderr lines."""
    with time_limit():
        code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not _RAW_CONTROL.search(err), f"raw control characters reach the terminal: {err!r}"
    return code, err.splitlines()


def assert_names(line: str, path: Path | str, expected: Expected | None) -> None:
    """``line`` is an azcost error naming ``path`` (and the expected line) and problem."""
    where = f"{path}:{expected.line}:" if expected and expected.line else f"{path}:"
    assert line.startswith((f"azcost: error: {where}", f"azcost: {where}")), (
        f"expected an error at {where}, got {line!r}"
    )
    if expected is not None:
        assert re.search(expected.pattern, line), f"{expected.pattern!r} not in {line!r}"


def cases(names: list[str], pending: dict[str, str]) -> list[Any]:
    """``names`` as pytest params, those waiting for a fix elsewhere marked xfail with why."""
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=pending[n], strict=False))
        if n in pending
        else n
        for n in names
    ]


def files_in(folder: Path) -> set[str]:
    """Every path under ``folder``, relative (to compare before and after a run)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}
