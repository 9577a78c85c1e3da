"""Textual's web driver protocol, as textual-serve speaks it to its child.

Child to server (stdout): the line `__GANGLION__` once, then packets: one type byte (b"D" screen
data, b"M" a JSON meta packet, b"P" packed binary), a 4-byte big-endian length, the payload.
Server to child (stdin): b"D" packets of terminal input (escape sequences, as a terminal sends
them) and b"M" packets such as {"type": "resize", "width": 120, "height": 40}.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

READY_LINE = b"__GANGLION__\n"
DATA = b"D"
META = b"M"
PACKED = b"P"
DRIVER = "tui.serve.driver:SessionDriver"  # Textual's WebDriver, ending the app on stdin EOF
READY_LINES_MAX = 50  # lines of stray output tolerated before the ready line


def packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def data_packet(payload: bytes) -> bytes:
    return packet(DATA, payload)


def meta_packet(meta: dict[str, object]) -> bytes:
    return packet(META, json.dumps(meta).encode("utf-8"))


def resize_packet(width: int, height: int) -> bytes:
    return meta_packet({"type": "resize", "width": width, "height": height})


async def wait_ready(stdout: asyncio.StreamReader) -> bool:
    """Skip to the ready line; False if the child ended (or babbled) before it."""
    for _ in range(READY_LINES_MAX):
        line = await stdout.readline()
        if not line:
            return False
        if line == READY_LINE:
            return True
    return False


async def packets(stdout: asyncio.StreamReader) -> AsyncIterator[tuple[bytes, bytes]]:
    """(type, payload) until the child's stdout ends."""
    while True:
        try:
            kind = await stdout.readexactly(1)
            size = int.from_bytes(await stdout.readexactly(4), "big")
            payload = await stdout.readexactly(size)
        except asyncio.IncompleteReadError:
            return
        yield kind, payload
