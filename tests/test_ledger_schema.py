"""The migrated ledger schema is the schema the code reads and writes, on both backends.

The expectation comes from the code's own tables (``TABLES``: columns, types, nullability,
primary keys, indexes), so a new column or index in the code without its migration fails
here, and so does a migration that leaves the database different from the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from azcost.ledger import TABLES, migrate, on_dialect

pytest_plugins = ("ledger_fixtures",)  # fixtures: ledger_url (both backends), pg_url

Schema = dict[str, dict[str, Any]]


def _where(text: Any) -> str | None:
    return None if text is None else " ".join(str(text).split())


def _expected(dialect: sa.Dialect) -> Schema:
    schema: Schema = {}
    for table in TABLES:
        if not on_dialect(table, dialect.name):
            continue
        schema[table.name] = {
            "columns": sorted(
                (c.name, c.type.compile(dialect=dialect), c.nullable) for c in table.columns
            ),
            "primary key": [c.name for c in table.primary_key.columns],
            "indexes": sorted(
                (
                    ix.name,
                    [c.name for c in ix.columns],
                    bool(ix.unique),
                    _where(ix.dialect_options[dialect.name].get("where")),
                )
                for ix in table.indexes
                if on_dialect(ix, dialect.name)
            ),
        }
    return schema


def _found(engine: sa.Engine) -> Schema:
    inspector = sa.inspect(engine)
    where = f"{engine.dialect.name}_where"
    return {
        name: {
            "columns": sorted(
                (c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"])
                for c in inspector.get_columns(name)
            ),
            "primary key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(
                (
                    ix["name"],
                    list(ix["column_names"]),
                    bool(ix["unique"]),
                    _where(ix.get("dialect_options", {}).get(where)),
                )
                for ix in inspector.get_indexes(name)
            ),
        }
        for name in inspector.get_table_names()
    }


def _assert_same(found: Schema, expected: Schema) -> None:
    """Table by table, so a difference names its table (column order is not compared)."""
    assert sorted(found) == sorted(expected)
    for name, want in expected.items():
        assert found[name] == want, name


@pytest.fixture
def engine(ledger_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh, empty ledger database (SQLite file or PostgreSQL schema)."""
    engine = sa.create_engine(ledger_url)
    yield engine
    engine.dispose()


def test_an_empty_database_migrates_to_the_codes_schema(engine: sa.Engine) -> None:
    migrate(engine)
    _assert_same(_found(engine), _expected(engine.dialect))


def test_the_first_schema_upgrades_to_the_codes_schema(engine: sa.Engine) -> None:
    assert migrate(engine, upto=1) == ["m001_calls"]
    assert _found(engine) != _expected(engine.dialect)  # the first schema is older
    migrate(engine)
    _assert_same(_found(engine), _expected(engine.dialect))
