"""A batch's metadata, tags and labels built by columns equal what each record alone gets."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import make_record

from azcost.ledger._columns import FIELD_AT
from azcost.ledger._json_columns import columns_of_json
from azcost.ledger._label_columns import Refused, labels_columns
from azcost.ledger._tables import tags_meta_json


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(str, enum.Enum):
    ALICE = "alice"


TEXT = st.sampled_from(["a", "user", "% s", "x:y", "é", "\0", "\\u0000", "a=b", ""]) | st.text(
    max_size=8
)
SCALAR = (
    TEXT
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
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


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[tuple[str, ...]], list[dict[str, Any]]]:
    """A batch as LangChain's usually are: a few shapes of metadata, varied values."""
    shapes = draw(st.lists(st.tuples(TAGS, KEYS), min_size=1, max_size=3))
    size = draw(st.integers(min_value=1, max_value=12))
    tags, metas = [], []
    for i in range(size):
        shape_tags, keys = shapes[draw(st.integers(0, len(shapes) - 1)) if i else 0]
        tags.append(shape_tags)
        metas.append({key: draw(VALUE) for key in keys})
    return tags, metas


def by_record(
    tags: Sequence[tuple[str, ...]], metas: Sequence[dict[str, Any]]
) -> list[list[str]] | None:
    """Each record's (tags, metadata, labels) JSON as the writer makes it alone; None: refused."""
    try:
        triples = [tags_meta_json(t, m) for t, m in zip(tags, metas, strict=True)]
    except (ValueError, TypeError):
        return None
    return [list(col) for col in zip(*triples, strict=True)]


@settings(max_examples=400, deadline=None)
@given(batches())
def test_the_columns_hold_the_text_each_record_alone_would_get(
    batch: tuple[list[tuple[str, ...]], list[dict[str, Any]]],
) -> None:
    tags, metas = batch
    expected = by_record(tags, metas)
    if expected is None:
        with pytest.raises(Refused):
            labels_columns(tags, metas)
    else:
        assert [list(col) for col in labels_columns(tags, metas)] == expected


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


def test_langgraph_metadata_with_a_key_sometimes_none_is_encoded_as_alone() -> None:
    tags = [("feature:chat", "user=tagged")] * 6
    metas = [langgraph_metadata(i) for i in range(6)]
    metas[2]["user"] = None  # the tag's user label applies to this record only
    metas[4]["lc_versions"] = {"langchain-core": "1.8.3", "extra": 1}
    assert [list(col) for col in labels_columns(tags, metas)] == by_record(tags, metas)


def test_a_nan_in_one_record_refuses_the_batch() -> None:
    metas = [langgraph_metadata(i) for i in range(4)]
    metas[3]["ls_temperature"] = float("nan")
    with pytest.raises(Refused):
        labels_columns([()] * 4, metas)


def test_metadata_over_the_length_limit_refuses_the_batch() -> None:
    metas: list[dict[str, Any]] = [{"note": "x" * 70_000}, {"note": "y"}]
    with pytest.raises(Refused):
        labels_columns([(), ()], metas)


def test_nested_values_shared_between_records_are_encoded_as_alone() -> None:
    # LangChain hands every call the same lc_versions object; one record here has its own
    versions = {"langchain-core": "1.8.3", "langchain": "1.5.2"}
    shared: dict[str, Any] = {"lc_versions": versions, "langgraph_path": ("__pregel_pull", "a")}
    metas = [shared | {"user": f"u{i}"} for i in range(8)]
    metas[5] = metas[5] | {"lc_versions": {"langchain-core": "0.3.0"}, "langgraph_path": ("b",)}
    tags: list[tuple[str, ...]] = [("feature:chat",)] * 8
    assert [list(col) for col in labels_columns(tags, metas)] == by_record(tags, metas)


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


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["lc_versions", "path", "user"]), st.sampled_from(list(JSON_SHAPES))
    ),
    st.lists(st.data(), min_size=1, max_size=8),
)
def test_imported_metadata_holds_the_values_and_types_each_line_holds(
    shapes: dict[str, str], draws: list[st.DataObject]
) -> None:
    # 1, 1.0, true and -0.0/0.0 are equal in Python: each line must keep its own
    metas = [
        {key: data.draw(JSON_SHAPES[shape]) for key, shape in shapes.items()} for data in draws
    ]
    check_imported_metadata(metas)


def check_imported_metadata(metas: list[dict[str, Any]]) -> None:
    """The batch's metadata column read from JSON lines equals each line decoded alone."""
    lines = [
        (make_record(run_id=f"r{i}", metadata=meta).to_json() + "\n").encode()
        for i, meta in enumerate(metas)
    ]
    cols = columns_of_json(lines)
    assert cols is not None
    assert repr(cols[FIELD_AT["metadata"]]) == repr(
        [json.loads(line)["metadata"] for line in lines]
    )


@pytest.mark.parametrize(
    "values",
    [[[1], [True]], [[0.0], [-0.0]], [{"a": 1}, {"a": 1.0}], [{"a": False}, {"a": 0}]],
    ids=["1-true", "zero-signs", "int-float", "false-0"],
)
def test_equal_values_of_other_json_types_stay_apart_on_import(values: list[Any]) -> None:
    check_imported_metadata([{"v": value} for value in values])
