"""The azcost CLI for pricing: price, pricing validate|show|list|schema, one error boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from azcost.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_price_0301_example_prints_78_millionths(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "price", "gpt-35-turbo-0301", "--input", "31", "--output", "8")
    assert code == 0
    assert out.splitlines()[0] == "0.000078 USD"


def test_price_json_has_model_total_and_currency(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "price",
        "gpt-35-turbo",
        "--model-version",
        "0301",
        "--input",
        "31",
        "--output",
        "8",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0
    assert (data["model"], data["total_cost"], data["currency"]) == (
        "gpt-35-turbo-0301",
        "0.000078",
        "USD",
    )
    assert data["match"] == "version-appended"


def test_price_with_pricing_layer(capsys: pytest.CaptureFixture[str], mini_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "price",
        "gpt-35-turbo-0125",
        "--input",
        "1000",
        "--output",
        "500",
        "--region",
        "swedencentral",
        "--at",
        "2025-01-01",
        "--pricing",
        str(mini_path),
        "--no-shipped",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["total_cost"] == "0.0015"


def test_unknown_model_is_one_line_on_stderr_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "price", "gpt-35-turbo", "--model-version", "1106x", "--input", "1", "--output", "1"
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("azcost: error: unknown model 'gpt-35-turbo-1106x'")
    assert "Traceback" not in err


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["price", "gpt-4o", "--input", "1", "--output", "1", "--at", "yesterday"])
    assert info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_validate_shipped_tables_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pricing", "validate")
    assert code == 0
    assert out.startswith("ok ")


def test_validate_reports_every_problem_with_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mini_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    text = mini_path.read_text().replace("input_per_mtok: 2.00", "input_per_mtok: -2.00")
    text = text.replace("source: test\n  gpt-35-turbo-0125", "source: nope\n  gpt-35-turbo-0125")
    bad.write_text(text)
    code, _, err = run(capsys, "pricing", "validate", str(bad))
    assert code == 2
    assert f"{bad}:" in err
    assert "model 'gpt-35-turbo-0301': field 'input_per_mtok'" in err


def test_show_prints_history_per_deployment_type(
    capsys: pytest.CaptureFixture[str], mini_path: Path
) -> None:
    code, out, _ = run(
        capsys, "pricing", "show", "gpt-3.5-turbo", "--pricing", str(mini_path), "--no-shipped"
    )
    assert code == 0
    assert out.startswith("gpt-35-turbo-0125")
    assert "from 2025-09-01  input 0.55, output 1.65" in out
    assert "regional @ swedencentral" in out


def test_show_json_is_the_model_entry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pricing", "show", "gpt-35-turbo-0301", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "gpt-35-turbo-0301"
    assert data["prices"][0]["periods"][0]["input_per_mtok"] == "2"


def test_list_marks_base_defaults(capsys: pytest.CaptureFixture[str], mini_path: Path) -> None:
    code, out, _ = run(
        capsys, "pricing", "list", "--pricing", str(mini_path), "--no-shipped", "--format", "json"
    )
    assert code == 0
    rows = {r["model"]: r for r in json.loads(out)}
    assert rows["gpt-4o-2024-08-06"]["default_for_base"] is True
    assert rows["gpt-4o-2024-08-06"]["deployment_types"] == ["global", "global-batch"]


def test_schema_is_json_schema_with_field_docs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pricing", "schema")
    assert code == 0
    schema = json.loads(out)
    period = schema["$defs"]["PricePeriod"]
    assert period["additionalProperties"] is False
    assert "1M" in period["properties"]["input_per_mtok"]["description"]


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "azcost",
            "price",
            "gpt-35-turbo-0301",
            "--input",
            "31",
            "--output",
            "8",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("0.000078 USD")


def test_committed_schema_matches_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    committed = json.loads((Path(__file__).parent.parent / "pricing" / "schema.json").read_text())
    code, out, _ = run(capsys, "pricing", "schema")
    assert code == 0
    assert json.loads(out) == committed, "regenerate: azcost pricing schema > pricing/schema.json"


def test_price_command_imports_nothing_heavy_once_the_table_is_cached(mini_path: Path) -> None:
    code = (
        "import sys; from azcost.cli import main; main(['price', 'gpt-35-turbo-0301', "
        "'--input', '31', '--output', '8']); "
        "print(sorted(m for m in ('asyncio', 'langchain_core', 'pydantic', 'sqlalchemy', "
        "'yaml', 'ssl') if m in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert warm.stdout.splitlines()[-1] == "[]"
