"""A resident mail gateway: `shiftdesk mailgate --serve --socket PATH` keeps the store and the ORM
loaded; `shiftdesk mailgate --socket PATH` (what the MTA runs) hands each message over a UNIX
socket and exits with the daemon's answer. The client imports neither SQLAlchemy nor Textual, so
one message costs a Python start and a round trip instead of ~0.5 s of imports.

Connections are served concurrently by a few threads, each client with a short read timeout;
`PATH.lock` (flock) keeps a second `--serve` from taking over a live socket.

Protocol, one message per connection: the client sends an 8-byte big-endian length and the raw
message; the daemon answers one line, `CODE text\\n` (sysexits code, then what to print).
When nothing listens on the socket the client says so and the caller processes the message itself.
If the answer is lost after the daemon committed, the MTA retries and the gateway's duplicate
Message-ID check makes the second delivery a no-op.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HEADER = struct.Struct(">Q")
EX_TEMPFAIL = 75
# the MTA hands over a whole message at once on a local socket: 25 MB take well under a second
READ_TIMEOUT_SECONDS = 10.0
WORKERS = 8  # connections served at once (the store serialises their writes anyway)


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


class AlreadyServing(Exception):
    """Another gateway holds the socket (its lock file, or it answers on the socket)."""


def _read_exactly(conn: socket.socket, size: int, deadline: float) -> bytes:
    chunks, left = [], size
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("client too slow")
        conn.settimeout(remaining)
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("client closed the connection early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _answer(
    conn: socket.socket,
    handle: Callable[[bytes], tuple[int, str]],
    max_bytes: int,
    read_timeout: float,
) -> None:
    """One connection: read the message within `read_timeout` seconds, store it, answer."""
    with conn:
        try:
            deadline = time.monotonic() + read_timeout
            (size,) = HEADER.unpack(_read_exactly(conn, HEADER.size, deadline))
            if size > max_bytes:
                code, line = 65, f"unusable message: over the size limit ({size} bytes)"
            else:
                code, line = handle(_read_exactly(conn, size, deadline))
            conn.settimeout(read_timeout)
            conn.sendall(f"{code} {line}\n".encode())
        except (OSError, ConnectionError, struct.error):
            return  # a client that hung up or stalled: nothing was stored for it


def _is_live(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _take_lock(path: Path) -> int:
    """Hold `PATH.lock` for the daemon's lifetime: two gateways starting at once must not both
    decide the socket is stale and unlink each other's."""
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o660)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise AlreadyServing(f"a mail gateway is already serving {path}") from None
    return descriptor


def serve(
    path: Path,
    handle: Callable[[bytes], tuple[int, str]],
    *,
    max_bytes: int,
    ready: Callable[[], None] | None = None,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    workers: int = WORKERS,
) -> None:
    """Answer one message per connection until SIGTERM / SIGINT. Connections are served by
    `workers` threads at once, each message in its own transaction (inside `handle`); a client
    gets `read_timeout` seconds to send its message, so a slow or stuck one holds one thread
    for that long and nobody else. Raises AlreadyServing when another gateway has the socket."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _take_lock(path)
    server: socket.socket | None = None
    try:
        if _is_live(path):  # a gateway that predates the lock file
            raise AlreadyServing(f"a mail gateway is already serving {path}")
        with contextlib.suppress(FileNotFoundError):
            if path.is_socket():
                path.unlink()  # stale: nobody answers on it
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        os.chmod(path, 0o660)  # the MTA's user shares our group
        server.listen(64)
        _accept_until_stopped(server, handle, max_bytes, ready, read_timeout, workers)
    finally:
        if server is not None:
            with contextlib.suppress(OSError):
                server.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        os.close(lock)


def _accept_until_stopped(
    server: socket.socket,
    handle: Callable[[bytes], tuple[int, str]],
    max_bytes: int,
    ready: Callable[[], None] | None,
    read_timeout: float,
    workers: int,
) -> None:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        server.close()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailgate")
    if ready is not None:
        ready()
    try:
        while not stopping:
            try:
                conn, _ = server.accept()
            except OSError:
                break  # closed by stop()
            pool.submit(_answer, conn, handle, max_bytes, read_timeout)
    finally:
        pool.shutdown(wait=True)  # messages being stored finish and get their answer
        for sig, handler in previous.items():
            signal.signal(sig, handler)
