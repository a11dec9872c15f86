"""A progress line on stderr for long commands, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressLine"]


class ProgressLine:
    """``123,456 records  45,678/s  37%  ETA 12s``, redrawn at most every ``every`` seconds."""

    def __init__(
        self,
        *,
        total: int | None = None,
        unit: str = "bytes",
        stream: TextIO | None = None,
        quiet: bool = False,
        every: float = 0.25,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.on = not quiet and self.stream.isatty()
        """False when quiet or when the stream is not a terminal: nothing is written."""
        self.total = total
        self.unit = unit
        self.every = every
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, records: int, done: int | None = None) -> None:
        """Report ``records`` so far and ``done`` of ``total`` (bytes or records)."""
        if not self.on:
            return
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        text = f"{records:,} records  {records / elapsed:,.0f}/s"
        done = records if done is None else done
        if self.total:
            fraction = min(done / self.total, 1.0)
            text += f"  {fraction:.0%}"
            if fraction > 0:
                text += f"  ETA {elapsed * (1 - fraction) / fraction:.0f}s"
        self.stream.write(f"\r{text}\033[K")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        """End the line (when one was drawn)."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
