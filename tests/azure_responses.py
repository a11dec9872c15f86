"""The Responses API wire format of the local Azure server (``tests/azure_server.py``).

``POST .../openai/v1/responses`` answers a ``response`` object: ``output`` holds one
``message`` item with an ``output_text`` part, or a ``function_call`` item when the request
offers tools and no ``function_call_output`` answered yet; ``usage`` carries
``input_tokens``, ``input_tokens_details.cached_tokens``, ``output_tokens``,
``output_tokens_details.reasoning_tokens`` and ``total_tokens``. A stream is SSE with an
``event:`` line per event, each with its ``sequence_number``: ``response.created``,
``response.in_progress``, ``response.output_item.added``, then the text
(``response.content_part.added``, ``response.output_text.delta`` per word,
``response.output_text.done``, ``response.content_part.done``) or the call's arguments
(``response.function_call_arguments.delta``/``.done``), ``response.output_item.done`` and
``response.completed`` carrying the whole response with its usage; no ``[DONE]`` line.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure_server import DeploymentSpec

__all__ = ["response_body", "response_events"]


def _usage(spec: DeploymentSpec) -> dict[str, Any]:
    return {
        "input_tokens": spec.prompt_tokens,
        "input_tokens_details": {"cached_tokens": spec.cached_tokens},
        "output_tokens": spec.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": spec.reasoning_tokens},
        "total_tokens": spec.prompt_tokens + spec.completion_tokens,
    }


def _answered(body: dict[str, Any]) -> bool:
    """True when the input carries a tool's output (the model answers in text then)."""
    items = body.get("input")
    if not isinstance(items, list):
        return False
    return any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)


def _item(spec: DeploymentSpec, body: dict[str, Any], rid: str) -> dict[str, Any]:
    """The one output item: a function call, or the assistant's message."""
    if spec.tool_call and body.get("tools") and not _answered(body):
        return {
            "type": "function_call",
            "id": f"fc_{rid}",
            "call_id": f"call_{rid}",
            "name": spec.tool_call,
            "arguments": "{}",
            "status": "completed",
        }
    text = {"type": "output_text", "text": spec.content, "annotations": [], "logprobs": []}
    return {
        "type": "message",
        "id": f"msg_{rid}",
        "status": "completed",
        "role": "assistant",
        "content": [text],
    }


def response_body(
    spec: DeploymentSpec, body: dict[str, Any], rid: str | None = None, *, done: bool = True
) -> dict[str, Any]:
    """The ``response`` object: complete with output and usage, or as it starts (``done=False``).

    ``rid`` names the response and its items (a new one when None): LangChain gives each
    message its response's id, and LangGraph replaces a message by a later one with its id.
    """
    rid = rid or uuid.uuid4().hex
    tier = {} if spec.service_tier is None else {"service_tier": spec.service_tier}
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed" if done else "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": spec.model,
        "output": [_item(spec, body, rid)] if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": _usage(spec) if done else None,
        "user": None,
        "metadata": {},
        **tier,
    }


def _item_events(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events between ``output_item.added`` and ``output_item.done`` of one item."""
    where = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        yield {"type": "response.function_call_arguments.delta", **where, "delta": "{}"}
        yield {"type": "response.function_call_arguments.done", **where, "arguments": "{}"}
        return
    part = item["content"][0]
    where = {**where, "content_index": 0}
    yield {"type": "response.content_part.added", **where, "part": {**part, "text": ""}}
    for i, word in enumerate(part["text"].split(" ")):
        delta = word if i == 0 else " " + word
        yield {"type": "response.output_text.delta", **where, "delta": delta, "logprobs": []}
    yield {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": part}


def _events(spec: DeploymentSpec, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    rid = uuid.uuid4().hex
    started = response_body(spec, body, rid, done=False)
    final = response_body(spec, body, rid)
    item = final["output"][0]
    if item["type"] == "function_call":
        pending = {**item, "arguments": "", "status": "in_progress"}
    else:
        pending = {**item, "content": [], "status": "in_progress"}
    yield {"type": "response.created", "response": started}
    yield {"type": "response.in_progress", "response": started}
    yield {"type": "response.output_item.added", "output_index": 0, "item": pending}
    yield from _item_events(item)
    yield {"type": "response.output_item.done", "output_index": 0, "item": item}
    yield {"type": "response.completed", "response": final}


def response_events(spec: DeploymentSpec, body: dict[str, Any]) -> Iterator[bytes]:
    """The SSE stream of one response, event by event."""
    for n, event in enumerate(_events(spec, body)):
        event["sequence_number"] = n
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
