"""An SSH server in the test's event loop (its consoles are real `shiftdesk` processes) and an
asyncssh client that reads the screen and waits on what it shows."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh

from tui.serve.child import ConsolePlan
from tui.serve.keys import AuthorizedKeys
from tui.serve.ssh import ServeState, start_ssh_server

WAIT = 40.0  # seconds at most for a console to show something (the first frame needs ~2.5 s
# here on an idle machine; the suite runs two workers on two cores)
QUEUE_LOADED = rb"waiting [1-9]"  # the header once the queue's rows are in
_ESCAPE = re.compile(rb"\x1b(\[[0-9;?$<>]*[a-zA-Z~]|\][^\x07]*\x07|[()][0-9A-B])")


def screen_text(data: bytes) -> bytes:
    """What the console wrote, without its escape sequences (styles split the text)."""
    return _ESCAPE.sub(b"", data)


async def eventually(condition: Callable[[], bool], seconds: float = WAIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def make_state(
    tmp_path: Path,
    *,
    demo: bool = True,
    keys: AuthorizedKeys | None = None,
    db: str | None = None,
    max_sessions: int = 10,
    idle_timeout: float = 0.0,
    shared_dir: Path | None = None,
) -> ServeState:
    config = tmp_path / "shiftdesk.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")  # defaults, not the machine's own config
    work = tmp_path / "serve"
    work.mkdir(exist_ok=True)
    plan = ConsolePlan(demo=demo, db=db, config_path=config, shared_dir=shared_dir)
    return ServeState(
        plan=plan, keys=keys, max_sessions=max_sessions, idle_timeout=idle_timeout, work_dir=work
    )


@asynccontextmanager
async def ssh_server(state: ServeState, *, prepared: bool = False) -> AsyncIterator[int]:
    """The server on a free port; `prepared`: with the fork server and the demo template, as
    `shiftdesk serve` runs (costs ~1 s more to start)."""
    if prepared:
        await state.prepare()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await start_ssh_server(state, "127.0.0.1", 0, host_key)
    try:
        yield acceptor.sockets[0].getsockname()[1]
    finally:
        acceptor.close()
        await state.close_all("test over")


async def connect(
    port: int, *, key: asyncssh.SSHKey | None = None, username: str = "viewer"
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port,
        username=username,
        known_hosts=None,
        client_keys=[key] if key is not None else [],
        agent_path=None,
        preferred_auth="publickey,keyboard-interactive" if key else "keyboard-interactive",
    )


class Terminal:
    """One SSH session with a PTY: everything the console sent, and waits on it."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self.process = process
        self.output = bytearray()
        self.errors = bytearray()
        self._changed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._pump(process.stdout, self.output)),
            asyncio.create_task(self._pump(process.stderr, self.errors)),
        ]

    @classmethod
    async def open(
        cls,
        conn: asyncssh.SSHClientConnection,
        size: tuple[int, int] = (120, 40),
        command: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Terminal:
        process = await conn.create_process(
            command, term_type="xterm-256color", term_size=size, encoding=None, env=env or {}
        )
        return cls(process)

    async def _pump(self, stream: asyncssh.SSHReader[bytes], into: bytearray) -> None:
        while chunk := await stream.read(65536):
            into += chunk
            self._changed.set()
        self._changed.set()

    def mark(self) -> int:
        return len(self.output)

    async def until(self, pattern: bytes, since: int = 0, seconds: float = WAIT) -> None:
        """Until the screen text after `since` matches `pattern` (a regex)."""
        regex = re.compile(pattern)

        async def seen() -> None:
            while not regex.search(screen_text(self.output[since:])):
                assert not self.process.stdout.at_eof(), bytes(self.errors)
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(seen(), seconds)

    def press(self, keys: bytes) -> None:
        self.process.stdin.write(keys)

    async def closed(self, seconds: float = WAIT) -> int | None:
        await asyncio.wait_for(self.process.wait_closed(), seconds)
        await asyncio.gather(*self._tasks)
        return self.process.exit_status


def session_children(state: ServeState) -> list[tuple[int, Path | None]]:
    """(pid, store folder) of each running console."""
    return [
        (s.child.pid, s.child.store_dir)
        for s in state.sessions
        if s.child is not None and s.child.pid is not None
    ]
