"""A batch's tags, metadata and labels, built by columns, are stored as each record alone gets them.

The writer and ``import`` build a batch's JSON columns key by key (each distinct value
encoded once); the oracle is :func:`azcost.ledger.row_of`, which encodes one record.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ledger_helpers import make_record

from azcost.errors import LedgerWarning
from azcost.ledger import COLUMNS, CallRecord, Ledger, RecordError, row_of

STORED = ("tags", "run_metadata", "labels")
AT = [COLUMNS.index(name) for name in STORED]


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(str, enum.Enum):
    ALICE = "alice"


TEXT = st.sampled_from(["a", "user", "% s", "x:y", "é", "a=b", "\\u0000", ""]) | st.text(max_size=8)
SCALAR = (
    TEXT
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 0.2, 1.0])
    | st.none()
)
ODD = st.sampled_from([Color.RED, Level.HIGH, Name.ALICE, uuid.UUID(int=7), {1: "a", 2: "b"}])
VALUE = st.recursive(
    SCALAR | ODD,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(TEXT, max_size=3).map(tuple)
        | st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = st.lists(TEXT, min_size=0, max_size=5, unique=True)
TAGS = st.lists(TEXT, max_size=3).map(tuple)
Batch = tuple[list[tuple[str, ...]], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One SQLite ledger whose writer commits only on flush: one batch per flush."""
    path = tmp_path_factory.mktemp("labels") / "ledger.db"
    with Ledger(f"sqlite:///{path}", flush_interval=3600, batch_size=100_000) as led:
        yield led


def expected(records: Sequence[CallRecord]) -> dict[str, tuple[str, ...] | None]:
    """Each record's (tags, metadata, labels) JSON as it is encoded alone; None: refused."""
    out: dict[str, tuple[str, ...] | None] = {}
    for rec in records:
        try:
            row = row_of(rec, text_money=True)
        except (ValueError, TypeError):
            out[rec.run_id] = None
        else:
            out[rec.run_id] = tuple(row[i] for i in AT)
    return out


def stored(led: Ledger, run_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The stored (tags, run_metadata, labels) of these run ids."""
    query = sa.text(f"SELECT run_id, {', '.join(STORED)} FROM azcost_calls WHERE run_id IN :ids")
    query = query.bindparams(sa.bindparam("ids", expanding=True))
    with led.read_engine().connect() as conn:
        return {run_id: tuple(rest) for run_id, *rest in conn.execute(query, {"ids": run_ids})}


def records_of(
    tags: Sequence[tuple[str, ...]], metas: Sequence[dict[str, Any]]
) -> list[CallRecord]:
    return [
        make_record(run_id=str(uuid.uuid4()), tags=t, metadata=m)
        for t, m in zip(tags, metas, strict=True)
    ]


def write(led: Ledger, records: Sequence[CallRecord]) -> dict[str, tuple[str, ...]]:
    """Record a batch, wait for its commit, and read it back."""
    for rec in records:
        led.record(rec)
    led.flush()
    return stored(led, [rec.run_id for rec in records])


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    """A batch as LangChain's usually are: a few shapes of metadata, varied values."""
    shapes = draw(st.lists(st.tuples(TAGS, KEYS), min_size=1, max_size=3))
    size = draw(st.integers(min_value=1, max_value=12))
    tags, metas = [], []
    for i in range(size):
        shape_tags, keys = shapes[draw(st.integers(0, len(shapes) - 1)) if i else 0]
        tags.append(shape_tags)
        metas.append({key: draw(VALUE) for key in keys})
    return tags, metas


@settings(max_examples=300, deadline=None)
@given(batches())
def test_a_recorded_batch_stores_the_text_each_record_alone_would_get(
    ledger: Ledger, batch: Batch
) -> None:
    records = records_of(*batch)
    want = expected(records)
    assume(None not in want.values())  # refused records: see the NaN and NUL test below
    assert write(ledger, records) == want


def langgraph_metadata(i: int) -> dict[str, Any]:
    """Run metadata as a LangGraph agent node's chat model call carries it (langchain-core 1.x)."""
    ns = f"agent:{uuid.UUID(int=i)}"
    return {
        "user": f"user{i % 3}",
        "thread_id": "t1",
        "ls_integration": "langchain_chat_model",
        "langgraph_step": 1 + i % 2,
        "langgraph_node": "agent",
        "langgraph_triggers": ("branch:to:agent",),
        "langgraph_path": ("__pregel_pull", "agent"),
        "langgraph_checkpoint_ns": ns,
        "checkpoint_ns": ns,
        "ls_provider": "azure",
        "ls_model_name": "gpt-4o-2024-08-06",
        "ls_model_type": "chat",
        "ls_temperature": 0.0 if i % 2 else -0.0,
        "ls_max_tokens": 512,
        "lc_versions": {"langchain-core": "1.8.3", "langchain": "1.5.2"},
    }


def test_langgraph_metadata_with_a_key_sometimes_none_is_stored_as_alone(ledger: Ledger) -> None:
    metas = [langgraph_metadata(i) for i in range(6)]
    metas[2]["user"] = None  # the tag's user label applies to this record only
    metas[4]["lc_versions"] = {"langchain-core": "1.8.3", "extra": 1}
    records = records_of([("feature:chat", "user=tagged")] * 6, metas)
    assert write(ledger, records) == expected(records)


def test_nested_values_shared_between_records_are_stored_as_alone(ledger: Ledger) -> None:
    # LangChain hands every call the same lc_versions object; one record here has its own
    versions = {"langchain-core": "1.8.3", "langchain": "1.5.2"}
    shared: dict[str, Any] = {"lc_versions": versions, "langgraph_path": ("__pregel_pull", "a")}
    metas = [shared | {"user": f"u{i}"} for i in range(8)]
    metas[5] = metas[5] | {"lc_versions": {"langchain-core": "0.3.0"}, "langgraph_path": ("b",)}
    records = records_of([("feature:chat",)] * 8, metas)
    assert write(ledger, records) == expected(records)


def test_records_with_the_same_keys_in_another_order_are_stored_as_alone(ledger: Ledger) -> None:
    metas: list[dict[str, Any]] = [{"a": 1, "b": "x"}, {"b": "y", "a": 2}, {"a": 3, "b": "z"}]
    records = records_of([("k:v",)] * 3, metas)
    assert write(ledger, records) == expected(records)


@pytest.mark.parametrize(
    "bad",
    [{"t": float("nan")}, {"note": "a\0b"}, {"note": "x" * 70_000}, {1: "int key", "b": 2}],
    ids=["nan", "nul", "too-long", "keys-that-do-not-sort"],
)
def test_a_record_whose_metadata_is_refused_is_set_aside_and_the_rest_stored(
    ledger: Ledger, bad: dict[Any, Any]
) -> None:
    metas = [langgraph_metadata(i) for i in range(4)]
    records = records_of([()] * 4, [*metas[:2], bad, *metas[2:3]])
    with pytest.warns(LedgerWarning, match=f"record '{records[2].run_id}' refused"):
        got = write(ledger, records)
    assert got == {k: v for k, v in expected(records).items() if v is not None}
    assert records[2].run_id not in got


JSON_SCALAR = (
    st.sampled_from(["a", "1", "", "é"])
    | st.sampled_from([0, 1, -1, 10**20])
    | st.booleans()
    | st.sampled_from([0.0, -0.0, 1.0, 0.2])
    | st.none()
)
JSON_SHAPES = {  # every record's value of one key has the same shape, as in a batch
    "scalar": JSON_SCALAR,
    "array": st.lists(JSON_SCALAR, max_size=2),
    "object": st.dictionaries(st.sampled_from(["a", "b"]), JSON_SCALAR, max_size=2),
    "nested": st.recursive(
        JSON_SCALAR,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2),
        max_leaves=4,
    ),
}


def imported(led: Ledger, tmp: Path, metas: list[dict[str, Any]]) -> None:
    """Import JSON lines of these metadata; each is stored as its line read alone gives it."""
    lines = [make_record(run_id=str(uuid.uuid4()), metadata=m).to_json() for m in metas]
    path = tmp / f"{uuid.uuid4()}.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    led.import_jsonl(path)
    records, refused = [], []
    for line in lines:
        try:
            records.append(CallRecord.from_json(line))
        except RecordError:  # e.g. a key of the six characters \u0000, refused as a NUL
            refused.append(json.loads(line)["run_id"])
    assert stored(led, [r.run_id for r in records] + refused) == expected(records)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["lc_versions", "path", "user"]), st.sampled_from(list(JSON_SHAPES))
    ),
    st.lists(st.data(), min_size=1, max_size=8),
)
def test_imported_metadata_keeps_the_values_and_types_each_line_holds(
    ledger: Ledger,
    tmp_path_factory: pytest.TempPathFactory,
    shapes: dict[str, str],
    draws: list[st.DataObject],
) -> None:
    metas = [
        {key: data.draw(JSON_SHAPES[shape]) for key, shape in shapes.items()} for data in draws
    ]
    imported(ledger, tmp_path_factory.getbasetemp(), metas)


@pytest.mark.parametrize(
    "values",
    [[[1], [True]], [[0.0], [-0.0]], [{"a": 1}, {"a": 1.0}], [{"a": False}, {"a": 0}]],
    ids=["1-true", "zero-signs", "int-float", "false-0"],
)
def test_equal_values_of_other_json_types_stay_apart_on_import(
    ledger: Ledger, tmp_path: Path, values: list[Any]
) -> None:
    # 1, 1.0 and true, or 0.0 and -0.0, are equal in Python: each line keeps its own
    metas = [{"v": value} for value in values]
    imported(ledger, tmp_path, metas)
    assert len({json.dumps(m) for m in metas}) == len(metas)
