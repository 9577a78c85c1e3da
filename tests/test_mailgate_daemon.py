"""The resident gateway: `mailgate --serve --socket` and the thin client the MTA runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.desk.queue import load_queue
from models.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = (
    b"From: Jo <jo@customer.example>\r\nSubject: Crash on save\r\nMessage-ID: <d1@c>\r\n\r\nhi\r\n"
)


def _cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def daemon(tmp_path: Path, sqlite_url: str) -> Iterator[Path]:
    Store(sqlite_url).dispose()  # an explicit --db must exist (the gateway answers 75 if not)
    sock = tmp_path / "run" / "mailgate.sock"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "mailgate",
            "--serve",
            "--socket",
            str(sock),
            "--db",
            sqlite_url,
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    assert "listening" in line, line
    yield sock
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert not sock.exists()  # removed on a clean stop


def test_messages_go_through_the_daemon(daemon: Path, sqlite_url: str) -> None:
    result = _cli("mailgate", "--socket", str(daemon), stdin=MESSAGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("ticket #1 new")
    again = _cli(
        "mailgate",
        stdin=MESSAGE.replace(b"<d1@c>", b"<d2@c>"),
        env={"SHIFTDESK_MAILGATE_SOCKET": str(daemon)},
    )
    assert again.stdout.decode().startswith("ticket #2 new")
    store = Store(sqlite_url)
    assert [r.subject for r in load_queue(store.session(), include_closed=True)] == [
        "Crash on save",
        "Crash on save",
    ]
    store.dispose()


def test_unusable_message_through_the_daemon_exits_65(daemon: Path) -> None:
    result = _cli("mailgate", "--socket", str(daemon), stdin=b"\r\n\r\n")
    assert result.returncode == 65
    assert result.stderr.decode().count("\n") == 1 and b"Traceback" not in result.stderr


def test_over_the_size_limit_is_refused_before_sending(daemon: Path, sqlite_url: str) -> None:
    # --db: the client refuses it itself, on its own store (never the user's default one)
    result = _cli(
        "mailgate",
        "--socket",
        str(daemon),
        "--max-size",
        "100",
        "--db",
        sqlite_url,
        stdin=MESSAGE + b"x" * 200,
    )
    assert result.returncode == 65


def test_without_a_daemon_the_client_stores_the_message_itself(
    tmp_path: Path, sqlite_url: str
) -> None:
    Store(sqlite_url).dispose()
    result = _cli(
        "mailgate", "--socket", str(tmp_path / "nobody.sock"), "--db", sqlite_url, stdin=MESSAGE
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("ticket #1 new")


def test_serve_needs_a_socket() -> None:
    result = _cli("mailgate", "--serve")
    assert result.returncode == 2 and b"--socket" in result.stderr


def test_the_client_loads_neither_the_orm_nor_textual_nor_the_parser(daemon: Path) -> None:
    code = (
        "import sys, io\n"
        "from click.testing import CliRunner\n"
        "from tui.cli.core import main\n"
        f"args = ['mailgate', '--socket', {str(daemon)!r}]\n"
        f"r = CliRunner().invoke(main, args, input={MESSAGE!r})\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'textual', 'models.mail.mailparse')"
        " if m in sys.modules]\n"
        "print(heavy); sys.exit(1 if heavy else 0)\n"
    )
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.perf_counter() - started < 5


def test_a_slow_client_does_not_stall_the_others(daemon: Path) -> None:
    """A client that connects and sends half a length prefix must not hold up the next
    message (it used to: one connection at a time, 60 s each)."""
    import socket

    from tui.mailgate_socket import send

    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(str(daemon))
    slow.sendall(b"\x00\x00\x00")  # 3 of the 8 length bytes, then nothing
    try:
        started = time.monotonic()
        answer = send(daemon, MESSAGE, timeout=5)
        assert answer is not None and answer[0] == 0, answer
        assert time.monotonic() - started < 5
    finally:
        slow.close()


def test_a_client_that_stalls_is_dropped_after_the_read_timeout(
    tmp_path: Path, sqlite_url: str
) -> None:
    import socket

    Store(sqlite_url).dispose()  # an explicit --db must exist
    sock = tmp_path / "gate.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "mailgate", "--serve", "--socket", str(sock),
         "--read-timeout", "0.5", "--db", sqlite_url],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    assert "listening" in proc.stderr.readline().decode()
    try:
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.settimeout(10)
        slow.connect(str(sock))
        slow.sendall(b"\x00\x00\x00")
        started = time.monotonic()
        assert slow.recv(100) == b""  # the daemon hung up on us
        assert time.monotonic() - started < 5
        slow.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_a_second_serve_does_not_take_over_a_live_socket(daemon: Path, sqlite_url: str) -> None:
    second = _cli("mailgate", "--serve", "--socket", str(daemon), "--db", sqlite_url)
    assert second.returncode == 75, second.stderr
    assert second.stderr.decode().count("\n") == 1 and b"already" in second.stderr
    result = _cli("mailgate", "--socket", str(daemon), stdin=MESSAGE)  # the first one answers
    assert result.returncode == 0 and result.stdout.decode().startswith("ticket #1 new")


def test_a_stale_socket_file_is_replaced(tmp_path: Path, sqlite_url: str) -> None:
    import socket

    Store(sqlite_url).dispose()  # an explicit --db must exist
    sock = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock))
    dead.close()  # the file stays, nobody listens (a daemon that was killed -9)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "mailgate", "--serve", "--socket", str(sock),
         "--db", sqlite_url],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        assert "listening" in proc.stderr.readline().decode()
        result = _cli("mailgate", "--socket", str(sock), stdin=MESSAGE)
        assert result.returncode == 0, result.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_concurrent_clients_are_all_stored(daemon: Path, sqlite_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tui.mailgate_socket import send

    def one(n: int) -> tuple[int, str] | None:
        return send(daemon, MESSAGE.replace(b"<d1@c>", f"<par{n}@c>".encode()), timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(one, range(24)))
    assert all(a is not None and a[0] == 0 for a in answers), answers
    store = Store(sqlite_url)
    assert len(load_queue(store.session(), include_closed=True)) == 24
    store.dispose()
