"""Every CLI command, every path argument: a bad path is one line on stderr and exit status 2.

The commands and their arguments are read from the argparse parser, so a new
command or argument is exercised as soon as it exists; a new argument that looks
like a path but has no known role fails :func:`test_every_path_argument_has_a_role`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import cost_exports as ce
import pytest
from ledger_helpers import make_record

from azcost.cli import build_parser, main
from azcost.ledger import Ledger

pytestmark = pytest.mark.hostile

DATA = Path(__file__).parent / "data"
PAGE = DATA / "retail" / "page1.json"
PRICING = DATA / "mini.yaml"

# What each path argument is, by its dest: read (a file azcost reads), write (a file it
# writes), ledger (a ledger URL or SQLite file). Arguments that are no local path, or
# that only act in a mode this test cannot reach offline, are listed with the reason.
ROLES = {
    "files": "read",
    "file": "read",
    "exports": "read",
    "pricing": "read",
    "reprice": "read",
    "table": "read",
    "old": "read",
    "new": "read",
    "url": "ledger",
    "rejected": "write",
    "output": "write",
    "html": "write",
}
NOT_PATHS = {
    "api_url": "an HTTP URL (the corpus runs --fetch against a local server)",
    "save_pages": "used only with --fetch (the corpus covers it against a local server)",
}
NOT_OPENED = {("ledger", "path"): "only prints where the ledger is"}
_PATHLIKE = re.compile(r"FILE|PATH|DIR|URL|TABLE|OLD|NEW|\.(ya?ml|jsonl?|csv|gz|html)", re.I)
_IGNORED = {"help", "version", "format"}
HOSTILE_READ = ("missing", "folder", "fifo", "dev-zero", "under-a-file", "unreadable")
HOSTILE_WRITE = ("missing-folder", "folder", "under-a-file")
HOSTILE_LEDGER = ("folder", "fifo", "dev-zero", "under-a-file")


def _leaves(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaves(sub, (*prefix, name))


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.dest not in _IGNORED]


def _role(command: tuple[str, ...], action: argparse.Action) -> str | None:
    if action.dest in NOT_PATHS or command in NOT_OPENED or action.type in (int, float):
        return None
    return ROLES.get(action.dest)


@dataclass(frozen=True)
class Case:
    """One command run with one hostile value for one of its path arguments."""

    command: tuple[str, ...]
    dest: str
    role: str
    kind: str

    def __str__(self) -> str:
        return f"{' '.join(self.command)}:{self.dest}:{self.kind}"


def _cases() -> list[Case]:
    kinds = {"read": HOSTILE_READ, "write": HOSTILE_WRITE, "ledger": HOSTILE_LEDGER}
    cases = []
    for command, parser in _leaves(build_parser()):
        for action in _arguments(parser):
            role = _role(command, action)
            if role is not None:
                cases += [Case(command, action.dest, role, k) for k in kinds[role]]
    return cases


def _hostile(tmp: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp / "missing.yaml"
    if kind == "missing-folder":
        return tmp / "no-such-folder" / "out.txt"
    if kind == "folder":
        (tmp / "a-folder").mkdir()
        return tmp / "a-folder"
    if kind == "fifo":
        os.mkfifo(tmp / "a-fifo")
        return tmp / "a-fifo"
    if kind == "dev-zero":
        (tmp / "zero").symlink_to("/dev/zero")
        return tmp / "zero"
    if kind == "under-a-file":
        (tmp / "plain").write_text("x\n")
        return tmp / "plain" / "child"
    assert kind == "unreadable"
    path = tmp / "locked.yaml"
    path.write_text("x: 1\n")
    path.chmod(0)
    return path


_LEDGER = argparse.Action(["url"], "url")


def _filler(command: tuple[str, ...], action: argparse.Action, tmp: Path) -> list[str]:
    """A valid value for an argument the case does not target (empty: leave it out)."""
    role = _role(command, action)
    if action.dest == "model" and not action.option_strings:
        return ["gpt-4o"]
    if action.dest == "key" and not action.option_strings:  # azcost ledger rollup: a tag key
        return ["user"]
    if action.required and action.type is int:
        return [action.option_strings[0], "1"]
    if action.dest == "exports":  # azcost reconcile: a cost export with a header only,
        return [str(ce.ea(tmp / "export.csv", [])), *_filler(command, _LEDGER, tmp)]  # a ledger
    if role == "read" and (action.required or not action.option_strings or action.dest == "files"):
        if command[-1] == "import" and action.dest == "file":
            (tmp / "one.jsonl").write_text(make_record(1).to_json() + "\n")
            value = str(tmp / "one.jsonl")
        else:
            value = str(PAGE if action.dest == "files" else PRICING)
        return [value] if not action.option_strings else [action.option_strings[0], value]
    if role == "write" and action.required:
        return [action.option_strings[0], str(tmp / "written.out")]
    if role == "ledger":  # an existing ledger: reading commands never create one
        path = tmp / "ledger.db"
        if not path.exists():
            with Ledger(f"sqlite:///{path}", durability="sync") as ledger:
                ledger.record(make_record(1))
        return [f"sqlite:///{path}"]
    return []


def _argv(case: Case, tmp: Path, hostile: Path) -> list[str]:
    parser = dict(_leaves(build_parser()))[case.command]
    argv = list(case.command)
    for action in _arguments(parser):
        if action.dest != case.dest:
            argv += _filler(case.command, action, tmp)
        elif action.option_strings:
            argv += [action.option_strings[0], str(hostile)]
        else:
            argv.append(str(hostile))
            if action.dest == "exports":  # reconcile's ledger comes after its exports
                argv += _filler(case.command, _LEDGER, tmp)
    return argv


class _Hung(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hung


CASES = _cases()


def test_every_path_argument_has_a_role() -> None:
    unknown = []
    for command, parser in _leaves(build_parser()):
        for action in _arguments(parser):
            names = f"{action.dest} {action.metavar or ''} {' '.join(action.option_strings)}"
            known = action.dest in ROLES or action.dest in NOT_PATHS
            if not known and _PATHLIKE.search(names):
                unknown.append(f"{' '.join(command)} {action.dest} ({action.metavar})")
    assert not unknown, f"give these arguments a role in ROLES or NOT_PATHS: {unknown}"


def test_the_cases_reach_every_command_with_a_path() -> None:
    commands = {c.command for c in CASES}
    assert {("price",), ("pricing", "validate"), ("audit",), ("ledger", "import")} <= commands
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_path_is_one_line_and_exit_status_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if case.kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode")
    hostile = _hostile(tmp_path, case.kind)
    argv = _argv(case, tmp_path, hostile)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        code = main(argv)
    except _Hung:
        pytest.fail(f"azcost {' '.join(argv)} did not finish in 20 s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err
    assert code == 2, f"azcost {' '.join(argv)} -> {code}: {err}"
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("azcost: error: ")
    shown = {str(hostile), str(hostile.parent), os.path.realpath(hostile)}
    assert any(p in lines[0] for p in shown), f"the error does not name the path: {lines[0]}"
    after = sorted(p.name for p in tmp_path.rglob("*") if not p.name.startswith("ledger.db"))
    assert [n for n in after if n not in before] == [], "a failed command left files behind"
