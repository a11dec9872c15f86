"""One boundary for the files azcost reads: regular files, bounded size, UTF-8, bounded depth.

Every file a user names (pricing and deployments YAML, saved Retail Prices API
pages, ledger JSONL, cost exports) is opened here, so that a hostile or careless
path gives one clear :class:`~azcost.errors.InputFileError` naming the file (and
line and column where there is one) instead of a hang, a traceback or a process
eating memory:

- only regular files are read: a FIFO would block, ``/dev/zero`` never ends, a
  folder is no file; the check is made on the opened descriptor (symlinks are
  followed, then judged by what they point at), and a FIFO is opened without
  waiting for a writer;
- whole-file reads stop at :func:`max_input_bytes` (``$AZCOST_MAX_INPUT_BYTES``,
  default 64 MiB); streamed reads (JSONL, CSV, gzip'd exports, measured after
  decompression) at :func:`max_stream_bytes` (``$AZCOST_MAX_STREAM_BYTES``,
  default 16 GiB; a gzip file may expand at most :data:`MAX_EXPANSION` fold), one
  line at :data:`MAX_LINE_BYTES`;
- text is UTF-8, strictly: a bad byte is reported with its line and column;
- structured documents nest to a bounded depth and numbers are bounded in length
  and range (:mod:`azcost._parse`, applied by the YAML reader and to JSON).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from .errors import AzcostError, InputFileError

__all__ = [
    "MAX_EXPANSION",
    "MAX_LINE_BYTES",
    "decode_text",
    "iter_lines",
    "max_input_bytes",
    "max_stream_bytes",
    "not_regular_problem",
    "open_binary",
    "read_bytes",
    "read_text",
]

INPUT_BYTES_ENV = "AZCOST_MAX_INPUT_BYTES"
DEFAULT_INPUT_BYTES = 64 * 1024 * 1024
STREAM_BYTES_ENV = "AZCOST_MAX_STREAM_BYTES"
DEFAULT_STREAM_BYTES = 16 * 1024**3

MAX_LINE_BYTES = 1024 * 1024
"""Longest line of a streamed text file (JSONL record, CSV row), in bytes."""

MAX_EXPANSION = 250
"""Largest ratio of decompressed to compressed bytes (CSV compresses 10-30 fold; a bomb 1000)."""
_EXPANSION_FLOOR = 4 * 1024 * 1024  # small files are not judged by their ratio
_GZIP_MAGIC = b"\x1f\x8b"
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _limit_from_env(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise AzcostError(f"${name} must be a positive number of bytes, got {text!r}")
    return value


def max_input_bytes() -> int:
    """Largest file read whole (YAML, JSON pages): ``$AZCOST_MAX_INPUT_BYTES``, default 64 MiB."""
    return _limit_from_env(INPUT_BYTES_ENV, DEFAULT_INPUT_BYTES)


def max_stream_bytes() -> int:
    """Largest file read as a stream, after decompression: ``$AZCOST_MAX_STREAM_BYTES``, 16 GiB."""
    return _limit_from_env(STREAM_BYTES_ENV, DEFAULT_STREAM_BYTES)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def not_regular_problem(path: str | Path) -> str | None:
    """Why an existing ``path`` is no regular file; None if regular or absent."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return f"is {_kind(mode)}, not a regular file: azcost reads only regular files"


def _cannot_read(path: str, exc: OSError) -> InputFileError:
    return InputFileError(f"cannot read: {exc.strerror or exc}", path=path)


def _open_regular(path: str | Path) -> tuple[IO[bytes], int]:
    """Open a regular file for binary reading; return it and its size."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise _cannot_read(name, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(
                f"is {_kind(st.st_mode)}, not a regular file: azcost reads only regular files",
                path=name,
            )
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _too_large(path: str, size: int | None, limit: int, env: str) -> InputFileError:
    what = "too large: " + ("" if size is None else f"{size:,} bytes, ")
    return InputFileError(
        f"{what}over the limit of {limit:,} bytes (set ${env} to raise it)", path=path
    )


def read_bytes(path: str | Path, *, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default :func:`max_input_bytes`)."""
    name = os.fspath(path)
    cap = max_input_bytes() if limit is None else limit
    f, size = _open_regular(name)
    with f:
        if size > cap:
            raise _too_large(name, size, cap, INPUT_BYTES_ENV)
        try:
            data = f.read(cap + 1)
        except OSError as exc:
            raise _cannot_read(name, exc) from None
    if len(data) > cap:  # the file grew while it was read
        raise _too_large(name, None, cap, INPUT_BYTES_ENV)
    return data


def _location(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", "replace")) + 1


def _decode(raw: bytes, path: str, first_line: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _location(raw, exc.start)
        raise InputFileError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason})",
            path=path,
            line=first_line + line - 1,
            column=column,
        ) from None
    return text[1:] if first_line == 1 and text.startswith("\ufeff") else text


def decode_text(raw: bytes, path: str | Path) -> str:
    """``raw`` as strict UTF-8 (a leading byte-order mark dropped); a bad byte names line:column."""
    return _decode(raw, os.fspath(path), 1)


def read_text(path: str | Path, *, limit: int | None = None) -> str:
    """The text of a regular UTF-8 file of at most ``limit`` bytes (:func:`read_bytes`)."""
    return decode_text(read_bytes(path, limit=limit), path)


class _Capped(io.RawIOBase):
    """A binary reader that refuses to deliver more than ``limit`` bytes."""

    def __init__(
        self, inner: IO[bytes], path: str, limit: int, compressed: IO[bytes] | None = None
    ) -> None:
        self.inner = inner
        self.path = path
        self.limit = limit
        self.total = 0
        self.compressed = compressed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n: int = self.inner.readinto(buffer)  # type: ignore[attr-defined]
        except (OSError, EOFError) as exc:
            raise InputFileError(f"cannot read: {exc}", path=self.path) from None
        except Exception as exc:  # zlib.error and kin from a damaged gzip stream
            raise InputFileError(f"damaged compressed data: {exc}", path=self.path) from None
        self.total += n
        if self.total > self.limit:
            raise _too_large(self.path, None, self.limit, STREAM_BYTES_ENV)
        if (
            self.compressed is not None
            and self.total > _EXPANSION_FLOOR
            and self.total > MAX_EXPANSION * max(self.compressed.tell(), 1)
        ):
            raise InputFileError(
                f"expands more than {MAX_EXPANSION}-fold when decompressed (a compression bomb?)",
                path=self.path,
            )
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self.inner.close()
            finally:  # a GzipFile leaves the file it reads from open
                if self.compressed is not None:
                    self.compressed.close()
        super().close()


def open_binary(
    path: str | Path, *, limit: int | None = None, decompress: bool = True
) -> io.BufferedReader:
    """A buffered binary stream of a regular file, capped at ``limit`` bytes as it is read.

    A gzip file (recognised by its first bytes) is decompressed, and the cap
    (default :func:`max_stream_bytes`) applies to the decompressed bytes; so does
    :data:`MAX_EXPANSION`.
    """
    name = os.fspath(path)
    cap = max_stream_bytes() if limit is None else limit
    f, _ = _open_regular(name)
    inner: IO[bytes] = f
    compressed: IO[bytes] | None = None
    try:
        if decompress and f.read(2) == _GZIP_MAGIC:
            import gzip  # only for compressed exports

            f.seek(0)
            inner = cast("IO[bytes]", gzip.GzipFile(fileobj=f, mode="rb"))
            compressed = f
        else:
            f.seek(0)
    except OSError as exc:
        f.close()
        raise _cannot_read(name, exc) from None
    return io.BufferedReader(_Capped(inner, name, cap, compressed))


def iter_lines(
    path: str | Path,
    *,
    limit: int | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    keepends: bool = False,
) -> Iterator[tuple[int, str | InputFileError]]:
    """``(line number, text)`` of each line of a regular file, streamed (:func:`open_binary`).

    A line that is longer than ``max_line_bytes`` or not UTF-8 comes as an
    :class:`InputFileError` naming file, line (and column) in place of its text,
    so a caller can set it aside and go on; a problem with the file as a whole
    (missing, not a regular file, over the size limit) is raised.
    """
    name = os.fspath(path)
    with open_binary(name, limit=limit) as f:
        number = 0
        while True:
            raw = f.readline(max_line_bytes + 1)
            if not raw:
                return
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest, bounded memory
                    raw = f.readline(max_line_bytes)
                yield (
                    number,
                    InputFileError(
                        f"line longer than {max_line_bytes:,} bytes", path=name, line=number
                    ),
                )
                continue
            if not keepends:
                raw = raw.rstrip(b"\r\n")
            try:
                yield number, _decode(raw, name, number)
            except InputFileError as exc:
                yield number, exc
