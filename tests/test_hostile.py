"""The hostile-input corpus (tests/data/hostile): every file against every entry point reading it.

Each run must give a clear error naming the file (and line where there is one),
exit status 2, no traceback, execute nothing, write nothing where it should not,
lose nothing already recorded, and finish in bounded time (``.ci/run`` runs this
module again under a memory limit). ``expected.tsv`` holds each file's line and
words of its message.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hostile_helpers import (
    HOSTILE,
    SENTINEL,
    Expected,
    assert_names,
    cases,
    files_in,
    manifest,
    run_cli,
    time_limit,
)

from azcost.callback import load_deployments
from azcost.errors import DeploymentsFileError
from azcost.ledger import Ledger

pytestmark = pytest.mark.hostile

EXPECTED = manifest()
RETAIL_TABLE = Path(__file__).parent / "data" / "retail" / "table.yaml"
GOOD_PAGE = Path(__file__).parent / "data" / "retail" / "page1.json"


PENDING: dict[str, str] = {}
"""Corpus files whose fix belongs to another part of issue 12, not landed yet."""


def _corpus(folder: str) -> list[Any]:
    return cases(sorted(f"{folder}/{p.name}" for p in (HOSTILE / folder).iterdir()), PENDING)


def _expected(name: str) -> Expected:
    assert name in EXPECTED, f"add {name} to tests/data/hostile/expected.tsv"
    return EXPECTED[name]


def test_the_corpus_holds_over_a_hundred_files_each_with_an_expectation() -> None:
    files = {str(p.relative_to(HOSTILE)) for p in HOSTILE.rglob("*.*") if p.parent != HOSTILE}
    assert len(files) >= 100
    assert files == set(EXPECTED), "expected.tsv and the corpus differ"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder: whatever a run creates in it shows."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _assert_clean(work: Path, before: set[str]) -> None:
    assert not (work / SENTINEL).exists(), "the input executed code"
    assert files_in(work) == before, "the run wrote files"


@pytest.mark.parametrize("name", _corpus("pricing"))
def test_pricing_file_is_refused_by_validate_and_price(
    name: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = HOSTILE / name
    expected = _expected(name)
    before = files_in(workdir)
    code, lines = run_cli(["pricing", "validate", str(path)], capsys)
    assert code == 2
    assert lines
    assert_names(lines[0], path, expected)
    assert all(line.startswith(f"azcost: error: {path}") for line in lines)
    argv = ["price", "gpt-4o", "--input", "1", "--output", "1", "--pricing", str(path)]
    code, lines = run_cli([*argv, "--no-shipped"], capsys)
    assert code == 2
    assert len(lines) == 1
    assert_names(lines[0], path, expected)
    _assert_clean(workdir, before)


@pytest.mark.parametrize("name", _corpus("deployments"))
def test_deployments_map_is_refused_naming_file_and_line(name: str, workdir: Path) -> None:
    path = HOSTILE / name
    expected = _expected(name)
    with time_limit(), pytest.raises(DeploymentsFileError) as info:
        load_deployments(path)
    assert_names(f"azcost: error: {info.value}", path, expected)
    assert "\n" not in str(info.value)
    assert not (workdir / SENTINEL).exists()


@pytest.mark.parametrize("name", _corpus("retail"))
def test_retail_page_is_refused_by_import_and_update_leaving_files_alone(
    name: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = HOSTILE / name
    expected = _expected(name)
    table = workdir / "table.yaml"
    shutil.copy(RETAIL_TABLE, table)
    original = table.read_bytes()
    before = files_in(workdir)
    code, lines = run_cli(
        ["pricing", "import-azure", str(GOOD_PAGE), str(path), "--output", "new.yaml"], capsys
    )
    assert code == 2
    assert len(lines) == 1
    assert_names(lines[0], path, expected)
    code, lines = run_cli(["pricing", "update", str(table), "--from", str(path)], capsys)
    assert code == 2
    assert len(lines) == 1
    assert_names(lines[0], path, expected)
    assert table.read_bytes() == original
    _assert_clean(workdir, before)


def _ledger_state(url: str) -> tuple[list[str], Decimal]:
    with Ledger(url) as ledger:
        records = list(ledger.iter_records())
    total = sum((r.total_cost or Decimal(0) for r in records), Decimal(0))
    return sorted(r.run_id for r in records), total


@pytest.mark.parametrize("name", _corpus("ledger"))
def test_ledger_import_refuses_the_bad_line_and_loses_nothing(
    name: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger_helpers import make_record, sqlite_url

    source = workdir / Path(name).name  # a copy: refused lines may be set aside beside it
    shutil.copy(HOSTILE / name, source)
    url = sqlite_url(workdir / "spend.db")
    with Ledger(url, durability="sync") as ledger:
        for i in range(3):
            ledger.record(make_record(i))
    recorded = _ledger_state(url)
    code, lines = run_cli(["ledger", "import", str(source), url], capsys)
    assert code == 2
    assert any(str(source) in line for line in lines)
    assert_names(next(line for line in lines if str(source) in line), source, _expected(name))
    ids, total = _ledger_state(url)
    assert set(recorded[0]) <= set(ids), "records already in the ledger were lost"
    assert "hostile-2" not in ids, "the bad line was stored"
    assert total.is_finite()
    assert total == recorded[1] + Decimal("0.000078") * (len(ids) - len(recorded[0]))


@pytest.mark.parametrize("name", _corpus("exports"))
def test_cost_export_is_refused_or_its_bad_row_listed_and_nothing_is_written(
    name: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken file stops ``reconcile`` (exit 2); a bad row is listed with file and line."""
    from ledger_helpers import make_record, sqlite_url

    path = HOSTILE / name
    expected = _expected(name)
    url = sqlite_url(workdir / "spend.db")
    with Ledger(url, durability="sync") as ledger:
        ledger.record(make_record(1))
    recorded = _ledger_state(url)
    before = files_in(workdir)
    with time_limit():
        from azcost.cli import main

        code = main(["reconcile", str(path), url])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1
        assert_names(lines[0], path, expected)
    else:
        where = f"{path}:{expected.line}: "
        listed = [line.strip() for line in out.splitlines() if where in line]
        assert listed, f"the bad row is neither refused nor listed: {out}"
        assert_names(f"azcost: error: {listed[0]}", path, expected)
    assert _ledger_state(url) == recorded
    _assert_clean(workdir, before)
