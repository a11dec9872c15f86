"""Ledger fixtures (a pytest plugin: ``pytest_plugins = ("ledger_fixtures",)``)."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ledger_helpers import sqlite_url


def _postgres_base() -> str:
    base = os.environ.get("AZCOST_TEST_POSTGRES_URL")
    if base:
        return base
    if os.environ.get("AZCOST_REQUIRE_POSTGRES") == "1":
        pytest.fail("AZCOST_REQUIRE_POSTGRES=1 but AZCOST_TEST_POSTGRES_URL is not set")
    pytest.skip(
        "PostgreSQL tests need AZCOST_TEST_POSTGRES_URL "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL ledger URL in a fresh schema of its own (dropped afterwards)."""
    base = _postgres_base()
    schema = f"azcost_t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if os.environ.get("AZCOST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {base} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL at {base} is not reachable")
    url = (
        sa.make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        # finalize what the test left unreachable now, so a connection it leaked warns
        # (and fails) in this test rather than in whichever test the collector runs in
        gc.collect()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger URL on each backend: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("pg_url")
    return url
