"""The input boundary: how azcost reads the files a user names, and its limits.

Every file azcost reads (pricing and deployments YAML, Retail Prices API pages,
ledger JSONL, cost exports) goes through these functions: regular files only,
whole-file reads capped at :func:`max_input_bytes` (``$AZCOST_MAX_INPUT_BYTES``),
streams at :func:`max_stream_bytes` (``$AZCOST_MAX_STREAM_BYTES``), one line at
:data:`MAX_LINE_BYTES`, strict UTF-8, JSON and YAML nested at most :data:`MAX_DEPTH`
deep with numbers of at most :data:`MAX_NUMBER_CHARS` characters. A file that breaks
one of these is an :class:`~azcost.errors.InputFileError` naming it.
"""

from __future__ import annotations

from ._input import (
    MAX_EXPANSION,
    MAX_LINE_BYTES,
    iter_lines,
    max_input_bytes,
    max_stream_bytes,
    open_binary,
    read_bytes,
    read_text,
)
from ._parse import MAX_DEPTH, MAX_EXPONENT, MAX_NUMBER_CHARS, loads_json

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANSION",
    "MAX_EXPONENT",
    "MAX_LINE_BYTES",
    "MAX_NUMBER_CHARS",
    "iter_lines",
    "loads_json",
    "max_input_bytes",
    "max_stream_bytes",
    "open_binary",
    "read_bytes",
    "read_text",
]
