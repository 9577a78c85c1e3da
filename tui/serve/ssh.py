"""The SSH server: one console process per session, bridged to the channel.

Authentication maps a public key to a technician (keys.AuthorizedKeys). With `demo`, anyone gets
in (any key, or keyboard-interactive with no questions) and acts as a viewer; a key from the file
still names its technician. Sessions without a PTY are refused with one line; sessions over the
cap too. A session ends its console (process group, store) when the client goes, when it idles
past the timeout, when the console quits, or when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from tui.serve.child import (
    ConsoleChild,
    ConsolePlan,
    ConsoleProcess,
    SessionOptionError,
    child_environment,
    display_options,
)
from tui.serve.keys import AuthorizedKeys
from tui.serve.world import DEMO_DB
from tui.serve.zygote import Zygote

log = logging.getLogger("shiftdesk.serve")

# what the viewer's terminal gets back when a session ends: the console's web driver switched on
# the alternate screen, mouse reporting and bracketed paste, and never switches them off itself
TERMINAL_RESET = (
    b"\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[0m\x1b[?25h\x1b[?1049l"
)
WRITE_PAUSE_TIMEOUT = 60.0  # a viewer whose terminal takes no data for this long is dropped
WORLD_REFRESH = 5 * 60.0  # seconds between two demo worlds populated ahead
WORK_PREFIX = "shiftdesk-serve-"  # the server's temp folder: session stores, the shared world
_VIEWER_NAME = re.compile(r"[^a-z0-9._-]")


@dataclass
class ServeState:
    plan: ConsolePlan
    keys: AuthorizedKeys | None
    max_sessions: int = 10
    idle_timeout: float = 30 * 60.0  # seconds; 0 = never
    sessions: set[ConsoleSession] = field(default_factory=set)
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=WORK_PREFIX)))
    viewer_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    background: set[asyncio.Task[None]] = field(default_factory=set)
    zygote: Zygote | None = None  # forks consoles with the imports done
    template: Path | None = None  # a migrated, empty demo store
    # a demo world populated ahead (models.demo.demo.TEMPLATE_VIEWER), copied for each viewer while
    # fresh: populating costs a console more CPU before its first frame than anything else
    world: Path | None = None
    world_at: float | None = None  # the instant it was populated for, on the demo's clock
    world_made: float = 0.0  # when (time.monotonic)
    world_refresh: float = WORLD_REFRESH
    _refresher: asyncio.Task[None] | None = None

    async def prepare(self, *, fork_server: bool = True) -> None:
        """The fork server and the demo template: what makes a session's first frame fast."""
        (self.work_dir / "server.pid").write_text(str(os.getpid()))
        if self.demo and self.plan.shared_dir is None:
            template = self.work_dir / "template.db"
            await asyncio.to_thread(_make_template, template)
            self.template = template
            await self.refresh_world()
            self._refresher = asyncio.get_running_loop().create_task(self._keep_world_fresh())
        if fork_server:
            zygote = Zygote(self.plan.python, self.plan.config_path)
            try:
                await zygote.start()
            except OSError as exc:
                log.warning("no fork server (%s): each console starts afresh", exc)
                await zygote.close()
            else:
                self.zygote = zygote

    async def refresh_world(self) -> None:
        """Populate a new world ahead (in a thread) and put it in place of the old one."""
        if self.template is None:
            return
        fresh = self.work_dir / "world.new.db"
        try:
            world_at = await asyncio.to_thread(_make_world, self.template, fresh, self.plan)
        except Exception as exc:  # the sessions populate their own stores meanwhile
            log.warning("cannot prepare a demo world: %s", exc)
            return
        # swapped on the event loop, where sessions copy it: a copy never mixes two worlds
        world = self.work_dir / "world.db"
        os.replace(fresh, world)
        self.world, self.world_at, self.world_made = world, world_at, time.monotonic()

    async def _keep_world_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.world_refresh)
            await self.refresh_world()

    def session_store(self, folder: Path) -> float | None:
        """A demo viewer's store in `folder`: a copy of the world populated ahead while it is
        fresh (its instant returned), else of the empty template (the console populates it)."""
        target = folder / DEMO_DB
        # a refresh that failed (or is late) leaves an older world: not past 1.5 refreshes,
        # well within the age a console accepts (models.demo.demo.WORLD_MAX_AGE)
        fresh = time.monotonic() - self.world_made <= 1.5 * self.world_refresh
        if self.world is not None and fresh:
            shutil.copyfile(self.world, target)
            return self.world_at
        if self.template is not None:  # skips the migrations: ~0.2 s of CPU each
            shutil.copyfile(self.template, target)
        return None

    async def spawn_console(self, args: list[str], env: Mapping[str, str]) -> ConsoleProcess:
        if self.zygote is None:
            raise OSError("no fork server")
        return await self.zygote.spawn(args, env)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """A task run for its effect, kept referenced until done; a failure is logged (a
        session's bug ends that session, never with "Task exception was never retrieved")."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("a session task failed", exc_info=exc)

    @property
    def demo(self) -> bool:
        return self.plan.demo

    def viewer_email(self, username: str) -> str:
        """An anonymous demo viewer's identity: their ssh user name (cleaned) and a number, so an
        audience sharing a world can tell who took what."""
        name = _VIEWER_NAME.sub("", username.lower())[:24].strip(".-") or "viewer"
        return f"{name}-{next(self.viewer_numbers)}@viewer.demo"

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(*(s.end(reason, 0) for s in list(self.sessions)))
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self.zygote is not None:
            await self.zygote.close()
            self.zygote = None


def clear_stale_work_dirs(parent: Path | None = None) -> list[Path]:
    """Work folders of servers that died without cleaning up (SIGKILL, a crash): their session
    stores would otherwise stay in the temp dir for good. A live server's folder is left alone."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{WORK_PREFIX}*"):
        try:
            pid = int((folder / "server.pid").read_text())
        except (OSError, ValueError):
            continue  # not ours, or just being made
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except PermissionError:
            pass  # another user's live server
    return removed


def _make_template(path: Path) -> None:
    from models.store.db import open_store

    # migrated; WAL folded back into the file
    open_store(f"sqlite:///{path}", create=True).dispose()


def _make_world(template: Path, path: Path, plan: ConsolePlan) -> float:
    """A demo world for TEMPLATE_VIEWER in `path`, populated at the demo clock's now; returns
    that instant (a console started with `--at` checks it still fits its own clock)."""
    from models.clock.calendar import BusinessCalendar
    from models.demo.demo import TEMPLATE_VIEWER, demo_instant, populate
    from models.policy.config import load_config
    from models.store.db import open_store

    now = time.time()
    if plan.at is not None:
        calendar = BusinessCalendar.from_config(load_config(plan.config_path).calendar)
        now = demo_instant(plan.at, calendar, now)
    shutil.copyfile(template, path)
    store = open_store(f"sqlite:///{path}")
    try:
        populate(store, now=now, me=TEMPLATE_VIEWER, history_days=30)
    finally:
        store.dispose()  # the WAL folded back into the file: a copy of the file is the world
    return now


class ShiftdeskSSHServer(asyncssh.SSHServer):
    def __init__(self, state: ServeState) -> None:
        self.state = state
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        # an anonymous demo asks nothing; with a key file, a key may name a technician even in a
        # demo (and anyone else still gets in: any key, or keyboard-interactive with no question)
        return not (self.state.demo and self.state.keys is None)

    def session_requested(self) -> ConsoleSession:
        return ConsoleSession(self.state)

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        email = self.state.keys.technician(key) if self.state.keys is not None else None
        if email is not None and self.conn is not None:
            self.conn.set_extra_info(shiftdesk_technician=email)
        return email is not None or self.state.demo

    def kbdint_auth_supported(self) -> bool:
        return self.state.demo  # a viewer with no key at all: in, no questions

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        return self.state.demo


class ConsoleSession(asyncssh.SSHServerSession[bytes]):
    def __init__(self, state: ServeState) -> None:
        self.state = state
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.child: ConsoleChild | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.command: str | None = None
        self._pty = False
        self._ended = False
        self._idle: asyncio.TimerHandle | None = None
        self._last_input = 0.0
        self._writable = asyncio.Event()
        self._writable.set()

    # --- asyncssh callbacks -------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any
    ) -> bool:
        self._pty = True
        self.term = term_type
        if term_size[0] > 0 and term_size[1] > 0:
            self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command  # `ssh -t host -- --ascii`
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # no sftp, no anything else

    def session_started(self) -> None:
        self.state.spawn(self._run())

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self._last_input = asyncio.get_running_loop().time()
        if self.child is not None:
            self.child.send_input(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if width > 0 and height > 0:
            self.size = (width, height)
            if self.child is not None:
                self.child.resize(width, height)

    def eof_received(self) -> bool:
        return True  # keep the channel half-open: the console decides when it ends

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.chan = None  # nothing more can be written
        if not self._ended:
            self.state.spawn(self.end("", 0))

    # --- the session --------------------------------------------------------------------------

    async def _run(self) -> None:
        if not self._pty:
            await self.end(
                "this is a terminal console: connect with a terminal (ssh -t)", 1, reset=False
            )
            return
        if len(self.state.sessions) >= self.state.max_sessions:
            await self.end(
                f"the server is full ({self.state.max_sessions} sessions): try again later",
                75,
                reset=False,
            )
            return
        assert self.chan is not None
        try:
            options = display_options(self.command, self.chan.get_environment())
        except SessionOptionError as exc:
            await self.end(str(exc), 2, reset=False)
            return
        self.state.sessions.add(self)
        conn = self.chan.get_connection()
        username = conn.get_extra_info("username") or ""
        email = conn.get_extra_info("shiftdesk_technician") or self.state.viewer_email(username)
        store_dir = None
        world_at = None
        if self.state.demo and self.state.plan.shared_dir is None:
            store_dir = Path(tempfile.mkdtemp(prefix="session-", dir=self.state.work_dir))
            world_at = self.state.session_store(store_dir)
        env = child_environment(
            self.term, self.size[0], self.size[1], options, self.chan.get_environment()
        )
        self.child = ConsoleChild(
            self.state.plan.argv(email, store_dir, world_at),
            env,
            self._write,
            store_dir=store_dir,
            spawn=self.state.spawn_console if self.state.zygote is not None else None,
        )
        log.info("session for %s (%s)", email, conn.get_extra_info("peername"))
        try:
            await self.child.start()
        except OSError as exc:
            await self.child.stop()
            await self.end(f"cannot start the console: {exc}", 75)
            return
        self._last_input = asyncio.get_running_loop().time()
        self._arm_idle()
        status = await self.child.run()
        reason = "" if self.child.started else self.child.failure_line() or "the console failed"
        await self.end(reason, status if status >= 0 else 1)

    async def _write(self, data: bytes) -> None:
        if not self._writable.is_set():
            try:
                await asyncio.wait_for(self._writable.wait(), WRITE_PAUSE_TIMEOUT)
            except TimeoutError:
                await self.end("", 0)
                return
        if self.chan is None:
            return
        try:
            self.chan.write(data)
        except (OSError, asyncssh.Error):
            # the client went while the console was drawing ("Channel not open for sending"):
            # the session ends as on a disconnect; the console's last frames go nowhere
            self.chan = None
            if not self._ended:
                self.state.spawn(self.end("", 0))

    def _arm_idle(self) -> None:
        timeout = self.state.idle_timeout
        if timeout <= 0 or self._ended:
            return
        loop = asyncio.get_running_loop()
        left = self._last_input + timeout - loop.time()
        if left <= 0:
            minutes = timeout / 60
            label = f"{minutes:g}m" if timeout >= 60 else f"{timeout:g}s"
            self.state.spawn(self.end(f"idle for {label}: disconnected", 0))
            return
        self._idle = loop.call_later(left, self._arm_idle)

    async def end(self, reason: str, status: int, *, reset: bool = True) -> None:
        """End the console (if any), tell the viewer why in one line, close; idempotent."""
        if self._ended:
            return
        self._ended = True
        if self._idle is not None:
            self._idle.cancel()
        try:
            if self.child is not None:
                await self.child.stop()
        finally:
            self.state.sessions.discard(self)
            chan = self.chan
            if chan is not None:
                with contextlib.suppress(OSError, asyncssh.Error):
                    if reset:
                        chan.write(TERMINAL_RESET)
                    if reason:
                        chan.write_stderr(f"shiftdesk: {reason}\r\n".encode())
                    chan.exit(status)


async def start_ssh_server(
    state: ServeState, host: str, port: int, host_key: asyncssh.SSHKey
) -> asyncssh.SSHAcceptor:
    factory: Callable[[], asyncssh.SSHServer] = lambda: ShiftdeskSSHServer(state)  # noqa: E731
    return await asyncssh.create_server(
        factory,
        host or None,
        port,
        server_host_keys=[host_key],
        encoding=None,  # bytes both ways: the console speaks escape sequences
        line_editor=False,  # every key goes to the console as typed
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        login_timeout=60,
        keepalive_interval=30,  # a dead client's session ends within ~90 s, not hours
        keepalive_count_max=3,
    )
