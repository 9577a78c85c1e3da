"""A resident mail gateway: `shiftdesk mailgate --serve --socket PATH` keeps the store and the ORM
loaded; `shiftdesk mailgate --socket PATH` (what the MTA runs) hands each message over a UNIX
socket and exits with the daemon's answer. The client imports neither SQLAlchemy nor Textual, so
one message costs a Python start and a round trip instead of ~0.5 s of imports.

Protocol, one message per connection: the client sends an 8-byte big-endian length and the raw
message; the daemon answers one line, `CODE text\\n` (sysexits code, then what to print).
When nothing listens on the socket the client says so and the caller processes the message itself.
If the answer is lost after the daemon committed, the MTA retries and the gateway's duplicate
Message-ID check makes the second delivery a no-op.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
from collections.abc import Callable
from pathlib import Path

HEADER = struct.Struct(">Q")
EX_TEMPFAIL = 75


def send(path: Path, raw: bytes, timeout: float = 60.0) -> tuple[int, str] | None:
    """Deliver through the daemon: (exit code, line), or None when no daemon listens there."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        try:
            client.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        try:
            client.sendall(HEADER.pack(len(raw)) + raw)
            client.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
        except OSError as exc:  # the daemon went away mid-message: let the MTA retry
            return EX_TEMPFAIL, f"mail gateway daemon: {exc}"
    finally:
        client.close()
    code, _, line = answer.decode("utf-8", "replace").strip().partition(" ")
    if not code.isdigit():
        return EX_TEMPFAIL, "mail gateway daemon gave no answer"
    return int(code), line


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("client closed the connection early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(
    path: Path,
    handle: Callable[[bytes], tuple[int, str]],
    *,
    max_bytes: int,
    ready: Callable[[], None] | None = None,
) -> None:
    """Answer one message per connection until SIGTERM / SIGINT. Messages are handled one at a
    time, each in its own transaction (inside `handle`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    os.chmod(path, 0o660)  # the MTA's user shares our group
    server.listen(64)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        server.close()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    if ready is not None:
        ready()
    try:
        while not stopping:
            try:
                conn, _ = server.accept()
            except OSError:
                break  # closed by stop()
            with conn:
                conn.settimeout(60)
                try:
                    (size,) = HEADER.unpack(_read_exactly(conn, HEADER.size))
                    if size > max_bytes:
                        code, line = 65, f"unusable message: over the size limit ({size} bytes)"
                    else:
                        code, line = handle(_read_exactly(conn, size))
                    conn.sendall(f"{code} {line}\n".encode())
                except (OSError, ConnectionError, struct.error):
                    continue  # a client that hung up: nothing was stored for it
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(OSError):
            server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
