"""Record builders and read-backs shared by the ledger and audit tests."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from azcost.cli import main
from azcost.ledger import CallRecord, Ledger

UTC = dt.timezone.utc


def make_record(
    i: int = 0,
    *,
    run_id: str | None = None,
    when: dt.datetime | None = None,
    model: str | None = "gpt-35-turbo-0301",
    input_tokens: int = 31,
    output_tokens: int = 8,
    total: str | None = "0.000078",
    **extra: Any,
) -> CallRecord:
    """A priced record (31 in + 8 out on gpt-35-turbo-0301 by default)."""
    values: dict[str, Any] = {
        "run_id": run_id or f"run-{i:08d}",
        "timestamp": when or dt.datetime(2026, 11, 2, 12, 0, 0, i % 1_000_000, tzinfo=UTC),
        "deployment": "chat",
        "reported_model": "gpt-35-turbo",
        "model": model,
        "deployment_type": "regional",
        "region": "eastus",
        "match": "version-appended",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_cost": None if total is None else Decimal(total),
        "input_cost": None if total is None else Decimal(total),
        "output_cost": None if total is None else Decimal(0),
        "pricing_version": "2026.01.01",
        "price_effective_from": dt.date(2023, 3, 9),
        "priced": total is not None,
        "tags": ("feature:chat",),
        "metadata": {"user": "ann"},
    }
    values.update(extra)
    return CallRecord(**values)


def sqlite_url(path: Path) -> str:
    """A SQLite URL for a file."""
    return f"sqlite:///{path}"


def count_records(url: str) -> int:
    """The number of rows in the ledger's calls table."""
    with Ledger(url) as ledger, ledger.read_engine().connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM azcost_calls").scalar_one())


def stored_run_ids(url: str) -> set[str]:
    """The run ids of every record in the ledger."""
    with Ledger(url) as ledger:
        return {rec.run_id for rec in ledger.iter_records()}


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    """The rows ``azcost audit ARGS --format json`` prints."""
    assert main(["audit", *args, "--format", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows
