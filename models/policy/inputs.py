"""Bounded reads of files and streams the user names (`--body-file`, imports): a path such as
/dev/zero, /dev/urandom or a runaway pipe must end in a one-line error, not fill the memory."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

MAX_IMPORT_BYTES = 64 * 1024 * 1024  # a licensing-system export of ~300,000 customers


class TooLarge(ValueError):
    """The input is larger than its limit."""


def read_bounded(stream: BinaryIO, limit: int, what: str) -> bytes:
    """All of `stream`, or TooLarge as soon as more than `limit` bytes arrive."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"{what} is larger than {limit:,} bytes")


def read_file_bounded(path: Path | str, limit: int) -> bytes:
    with Path(path).open("rb") as stream:
        return read_bounded(stream, limit, str(path))
