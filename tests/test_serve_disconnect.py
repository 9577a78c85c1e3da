"""A client that goes while its console is drawing: the session ends quietly (no "Task exception
was never retrieved ... BrokenPipeError: Channel not open for sending")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.serve_support import (
    QUEUE_LOADED,
    Terminal,
    alive,
    connect,
    eventually,
    make_state,
    session_children,
    ssh_server,
)

pytestmark = pytest.mark.slow


async def test_a_client_gone_while_the_console_draws_ends_the_session_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = make_state(tmp_path)
    started: list[asyncio.Task[None]] = []
    spawn = state.spawn

    def recorded(coro: Coroutine[Any, Any, None]) -> None:
        spawn(coro)
        started.extend(task for task in state.background if task not in started)

    state.spawn = recorded  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="shiftdesk.serve")
    async with ssh_server(state, prepared=True) as port:
        conn = await connect(port)
        term = await Terminal.open(conn)
        await term.until(QUEUE_LOADED)
        [session] = state.sessions
        [(pid, store)] = session_children(state)
        assert session.chan is not None and store is not None

        def gone(data: bytes, datatype: int | None = None) -> None:
            raise BrokenPipeError("Channel not open for sending")  # as asyncssh says it

        session.chan.write = gone  # type: ignore[method-assign]
        # the console's countdowns redraw every second: the next frame meets the closed channel
        await eventually(lambda: not state.sessions and not alive(pid) and not store.exists())
        conn.close()
    finished = [task for task in started if task.done() and not task.cancelled()]
    assert finished and len(finished) == len(started)
    assert [task.exception() for task in finished] == [None] * len(finished)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
