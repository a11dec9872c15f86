"""The ways the client tests call a chat model: invoke, stream and ainvoke of one greeting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["HELLO", "MODES", "ainvoke", "invoke", "stream"]


HELLO = [("human", "Hello!")]


def invoke(llm: Any) -> None:
    """One ``invoke`` of the greeting."""
    llm.invoke(HELLO)


def stream(llm: Any) -> None:
    """The greeting streamed to its end."""
    for _ in llm.stream(HELLO):
        pass


def ainvoke(llm: Any) -> None:
    """One ``ainvoke`` of the greeting, on a loop of its own."""
    asyncio.run(llm.ainvoke(HELLO))


MODES: dict[str, Callable[[Any], None]] = {"invoke": invoke, "stream": stream, "ainvoke": ainvoke}
"""The call modes the client tests run each client in, by name."""
