"""A fork server for the consoles: one process imports the console once (Textual, SQLAlchemy,
the app: ~1 s of CPU here) and forks a ready console per session in a few milliseconds. Ten
viewers connecting at once on two cores would otherwise wait ~7 s each for those imports.

The server sends a request over a Unix socket: the console's argv and environment as JSON, and
its stdin/stdout/stderr pipe ends as SCM_RIGHTS file descriptors. The zygote forks; the child
starts a new session (its own process group), takes the pipes as fds 0/1/2 and the environment,
and runs the `shiftdesk` command line. The zygote answers with the pid, and later with the exit
status when it reaps the child. If the server goes away the zygote sees EOF and exits; its
children see EOF on stdin and end (tui.serve.driver).

    python -m tui.serve.zygote FD [CONFIG]
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import gc
import json
import os
import selectors
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.serve import protocol

MAX_REQUEST = 1 << 20  # bytes: argv + environment
FDS = 3  # stdin, stdout, stderr


# --- the zygote process -------------------------------------------------------------------------


def _warm(config_path: str | None) -> None:
    """Import (and set up) what a console needs before its first frame, once for every child."""
    import sqlalchemy.orm

    import models.demo.demo
    import tui.app
    import tui.cli.core
    import tui.cli.run
    import tui.screens.help
    import tui.screens.queue
    import tui.serve.driver  # noqa: F401

    sqlalchemy.orm.configure_mappers()
    # a calendar's holidays: the package's country list alone costs each console ~0.2 s
    import holidays

    import models.clock.zones

    holidays.list_supported_countries()
    models.clock.zones._zone_table()
    from models.policy.config import load_config
    from tui.context import prepare_calendar

    with contextlib.suppress(OSError, ValueError):  # (ConfigError) the console says what's wrong
        prepare_calendar(load_config(Path(config_path) if config_path else None).calendar)
    del models


def _child(argv: list[str], env: dict[str, str], fds: list[int], inherited: list[int]) -> None:
    """In the forked child: become the console. Never returns."""
    code = 1
    try:
        gc.enable()  # the zygote's own objects stay frozen: never scanned, never copied
        signal.set_wakeup_fd(-1)
        for fd in inherited:  # the zygote's socket, wake-up pipe, selector
            os.close(fd)
        os.setsid()  # its own process group: the server ends the whole group
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["shiftdesk", *argv]
        from tui.cli.core import main

        main(args=argv, prog_name="shiftdesk")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            sock.sendall(json.dumps({"exit": pid, "status": code}).encode() + b"\n")


def serve_forks(sock: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the pipe
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                os.read(wake_r, 512)
                _reap(sock)
                continue
            fds = array.array("i")
            message, ancdata, _flags, _addr = sock.recvmsg(
                MAX_REQUEST, socket.CMSG_LEN(FDS * fds.itemsize)
            )
            if not message:
                return  # the server is gone
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                inherited = [sock.fileno(), wake_r, wake_w, selector.fileno()]
                _child(request["argv"], request["env"], list(fds), inherited)
            for fd in fds:
                os.close(fd)
            sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            _reap(sock)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    os.environ["TEXTUAL_DRIVER"] = protocol.DRIVER  # Textual reads it when imported
    # the gc module's advice for a fork server: no collection while warming (it leaves freed
    # holes in the shared pages), then every object so far moved out of the collector's sight,
    # so a console's collections neither walk the ~0.5 M objects it inherits (CPU) nor write to
    # their pages (copy-on-write: memory no longer shared)
    gc.disable()
    _warm(sys.argv[2] if len(sys.argv) > 2 else None)
    gc.freeze()
    sock.sendall(b'{"ready": true}\n')
    serve_forks(sock)


# --- the server's side ----------------------------------------------------------------------------


class ForkedProcess:
    """What ConsoleChild needs of asyncio.subprocess.Process, for a child of the zygote."""

    def __init__(
        self,
        pid: int,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        exited: asyncio.Future[int],
    ) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


class Zygote:
    """The server's handle on the fork server."""

    def __init__(self, python: str = sys.executable, config_path: Path | None = None) -> None:
        self.python = python
        self.config_path = config_path  # the consoles' config: their calendar is built ahead
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pids: asyncio.Queue[int] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, "TEXTUAL_DRIVER": protocol.DRIVER}
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "tui.serve.zygote",
            str(theirs.fileno()),
            *([str(self.config_path)] if self.config_path is not None else []),
            pass_fds=[theirs.fileno()],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        loop = asyncio.get_running_loop()
        first = await loop.sock_recv(ours, 4096)
        if not first.startswith(b'{"ready"'):
            raise OSError("the console fork server did not start")
        self._task = loop.create_task(self._read_replies())

    async def _read_replies(self) -> None:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        while message := await loop.sock_recv(self._sock, 4096):
            reply: dict[str, Any] = json.loads(message)
            if "pid" in reply:
                self._pids.put_nowait(int(reply["pid"]))
            elif "exit" in reply:
                future = self._exits.setdefault(int(reply["exit"]), loop.create_future())
                if not future.done():
                    future.set_result(int(reply["status"]))
        self._orphan()

    def _orphan(self) -> None:
        """No more news from the zygote: every wait ends (the server kills the groups itself)."""
        for future in list(self._exits.values()):
            if not future.done():
                future.set_result(-1)
        self._pids.put_nowait(-1)

    async def spawn(self, argv: list[str], env: Mapping[str, str]) -> ForkedProcess:
        """A console process, forked; argv is the `shiftdesk` command line after the program."""
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        request = json.dumps({"argv": argv, "env": dict(env)}).encode()
        try:
            async with self._lock:  # one request in flight: replies come in order
                fds = array.array("i", [stdin_r, stdout_w, stderr_w])
                self._sock.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                pid = await self._pids.get()
        finally:
            for fd in (stdin_r, stdout_w, stderr_w):
                os.close(fd)
        if pid < 0:
            for fd in (stdin_w, stdout_r, stderr_r):
                os.close(fd)
            raise OSError("the console fork server is gone")
        exited = self._exits.setdefault(pid, loop.create_future())
        exited.add_done_callback(lambda _: self._exits.pop(pid, None))
        stdout = await _reader(stdout_r)
        stderr = await _reader(stderr_r)
        stdin = await _writer(stdin_w)
        return ForkedProcess(pid, stdin, stdout, stderr, exited)

    async def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._orphan()
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            await self._process.wait()


async def _reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader


async def _writer(fd: int) -> asyncio.StreamWriter:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(fd, "wb", buffering=0)
    )
    return asyncio.StreamWriter(transport, proto, None, loop)


if __name__ == "__main__":
    main()
