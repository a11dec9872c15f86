"""A batch's tags/metadata/labels JSON built by columns equals the record-by-record text."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
