"""One session's console: a `shiftdesk` process on Textual's web driver protocol.

The child runs in its own process group (so ending a session ends everything it started) and, for
a demo, keeps its store in a folder the server made and deletes once the child is gone: a child
killed outright (SIGKILL) leaves nothing behind either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tui.serve import protocol

log = logging.getLogger("shiftdesk.serve")

STOP_GRACE = 2.0  # seconds a console gets to quit on SIGTERM before SIGKILL
STDERR_KEPT = 4096  # bytes of the child's stderr kept for the one-line reason of a failed start
# what a viewer's ssh may set for its own session (LANG/LC_* decide ☎ vs P; TERM comes from the PTY)
CLIENT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "COLORTERM")
# never inherited from the server's own environment: each session decides these
SESSION_ENV = ("NO_COLOR", "SHIFTDESK_ASCII", "SHIFTDESK_TECHNICIAN", "COLORTERM", "TERM")


class SessionOptionError(ValueError):
    """A viewer's `ssh -t host -- OPTIONS` that we don't know; str() is the one-line reason."""


@dataclass(frozen=True)
class DisplayOptions:
    ascii_flags: bool = False
    no_color: bool = False


def display_options(command: str | None, env: Mapping[str, str]) -> DisplayOptions:
    """From the SSH environment (`ssh -o SetEnv=NO_COLOR=1`) and the command (`ssh -t host --
    --ascii --no-color`): the command wins where both speak."""
    ascii_flags = bool(env.get("SHIFTDESK_ASCII"))
    no_color = "NO_COLOR" in env
    try:
        words = shlex.split(command or "")
    except ValueError as exc:
        raise SessionOptionError(f"cannot read the options: {exc}") from None
    for word in words:
        if word == "--ascii":
            ascii_flags = True
        elif word in ("--no-color", "--no-colour"):
            no_color = True
        elif word == "--color":
            no_color = False
        else:
            shown = word.encode("ascii", "backslashreplace").decode()[:40]
            raise SessionOptionError(
                f"unknown option {shown!r}: this server runs the shiftdesk console "
                "(options: --ascii, --no-color)"
            )
    return DisplayOptions(ascii_flags, no_color)


@dataclass(frozen=True)
class ConsolePlan:
    """How the server starts each session's console (the real `shiftdesk` command)."""

    demo: bool
    db: str | None = None
    config_path: Path | None = None
    speed: float = 1.0
    at: str | None = None
    shared_dir: Path | None = None  # one world for every viewer
    clock_offset: float | None = None  # the shared world's clock
    python: str = field(default=sys.executable)

    def argv(self, email: str, store_dir: Path | None, world_at: float | None = None) -> list[str]:
        """[python, -m, tui, ...the `shiftdesk` arguments] (the fork server takes argv[3:]);
        `world_at`: the store in `store_dir` holds a world populated ahead, at that instant."""
        argv = [self.python, "-m", "tui"]
        if self.config_path is not None:
            argv += ["--config", str(self.config_path)]
        if not self.demo:
            if self.db is not None:
                argv += ["--db", self.db]
            return [*argv, "--as", email]
        argv += ["demo", "--as", email, "--speed", str(self.speed)]
        if self.shared_dir is not None:
            argv += ["--store-dir", str(self.shared_dir), "--no-arrivals"]
        elif store_dir is not None:
            argv += ["--store-dir", str(store_dir)]
            if world_at is not None:
                argv += ["--world-at", repr(world_at)]
        if self.clock_offset is not None:
            argv += ["--clock-offset", repr(self.clock_offset)]
        elif self.at is not None:
            argv += ["--at", self.at]
        return argv


def child_environment(
    term: str | None,
    width: int,
    height: int,
    options: DisplayOptions,
    client_env: Mapping[str, str],
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in SESSION_ENV}
    env.update({k: v for k, v in client_env.items() if k in CLIENT_ENV})
    env["TEXTUAL_DRIVER"] = protocol.DRIVER
    env["TERM"] = term or "xterm-256color"  # Rich picks the colour system from it
    env["COLUMNS"] = str(width)
    env["ROWS"] = str(height)
    if options.ascii_flags:
        env["SHIFTDESK_ASCII"] = "1"
    if options.no_color:
        env["NO_COLOR"] = "1"
    return env


class ConsoleProcess(Protocol):
    """asyncio.subprocess.Process, or a child of the fork server (zygote.ForkedProcess)."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    @property
    def stdin(self) -> asyncio.StreamWriter | None: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    @property
    def stderr(self) -> asyncio.StreamReader | None: ...

    async def wait(self) -> int: ...


Spawner = Callable[[list[str], Mapping[str, str]], Awaitable[ConsoleProcess]]


class ConsoleChild:
    """Starts the console, pumps its screen to `write`, and ends it (process group and store)."""

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str],
        write: Callable[[bytes], Awaitable[None]],
        *,
        store_dir: Path | None = None,
        spawn: Spawner | None = None,
    ) -> None:
        self.argv = argv
        self.spawn = spawn  # the fork server; else (or if it fails) a fresh interpreter
        self.env = dict(env)
        self.write = write
        self.store_dir = store_dir  # ours: deleted when the child is gone
        self.process: ConsoleProcess | None = None
        self.started = False  # the ready line came
        self._stderr = bytearray()
        self._stopped = False  # no more input taken
        self._stopping: asyncio.Future[int] | None = None
        self._pending: list[bytes] = []  # keys and resizes that came before the process

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        await self._start()
        pending, self._pending = self._pending, []
        for packet in pending:
            self._send(packet)

    async def _start(self) -> None:
        if self.spawn is not None:
            try:
                self.process = await self.spawn(self.argv[3:], self.env)
                return
            except OSError as exc:
                log.warning("fork server: %s; starting the console afresh", exc)
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            start_new_session=True,  # its own process group: killpg ends all of it
        )

    async def run(self) -> int:
        """Pump screen data until the console ends; its exit status (after cleanup)."""
        process = self.process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(self._read_stderr(process.stderr))
        try:
            if await protocol.wait_ready(process.stdout):
                self.started = True
                async for kind, payload in protocol.packets(process.stdout):
                    if kind == protocol.DATA:
                        await self.write(payload)
                    # meta packets: "exit" is followed by the end of stdout; the rest (open_url,
                    # file deliveries) mean nothing to a terminal
        finally:
            status = await self.stop()
            await stderr_task
        return status

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(4096):
            self._stderr += chunk
            del self._stderr[:-STDERR_KEPT]

    def failure_line(self) -> str:
        """The child's last stderr line (its one-line reason), cleaned for a terminal."""
        lines = [ln for ln in self._stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        if not lines:
            return ""
        return "".join(c for c in lines[-1] if c.isprintable())[:300]

    def send_input(self, data: bytes) -> None:
        self._send(protocol.data_packet(data))

    def resize(self, width: int, height: int) -> None:
        self._send(protocol.resize_packet(width, height))

    def _send(self, packet: bytes) -> None:
        process = self.process
        if process is None and not self._stopped:
            self._pending.append(packet)
            return
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            process.stdin.write(packet)

    async def stop(self, grace: float = STOP_GRACE) -> int:
        """End the process group (SIGTERM, then SIGKILL), reap, delete the store. Every caller
        (the pump seeing EOF, the session ending) waits for the one same stop: none returns
        while the store still exists."""
        if self._stopping is None:
            self._stopped = True
            self._stopping = asyncio.ensure_future(self._stop(grace))
        return await asyncio.shield(self._stopping)

    async def _stop(self, grace: float) -> int:
        process = self.process
        status = -1
        if process is not None:
            if process.returncode is None:
                self._signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), grace)
                except TimeoutError:
                    self._signal(signal.SIGKILL)
                    with contextlib.suppress(TimeoutError):  # a fork server gone: no news
                        await asyncio.wait_for(process.wait(), grace)
            # what it started may outlive it in the group: the group goes too
            self._signal(signal.SIGKILL)
            status = process.returncode if process.returncode is not None else -1
            if process.stdin is not None:
                process.stdin.close()
        if self.store_dir is not None:
            await asyncio.to_thread(shutil.rmtree, self.store_dir, True)
        return status

    def _signal(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)
