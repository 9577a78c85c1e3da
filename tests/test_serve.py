"""`shiftdesk serve --ssh`: a real SSH client (asyncssh) against the server, whose consoles are
real `shiftdesk` processes on Textual's web driver protocol."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import asyncssh
import pytest

from models.demo.demo import populate
from models.desk.detail import ticket_detail
from models.desk.queue import load_queue
from models.store.db import Store
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
from tui.serve.keys import AuthorizedKeys
from tui.serve.world import populate_shared_world

pytestmark = pytest.mark.slow


async def test_a_demo_session_from_connect_to_disconnect(tmp_path: Path) -> None:
    """See the queue, resize, press keys, disconnect: the console and its store are gone."""
    state = make_state(tmp_path, max_sessions=1)
    async with ssh_server(state, prepared=True) as port:
        assert state.zygote is not None and state.template is not None
        conn = await connect(port, key=asyncssh.generate_private_key("ssh-ed25519"))
        term = await Terminal.open(conn, size=(120, 40))
        await term.until(QUEUE_LOADED)
        await term.until(rb"emergencies \d")  # the wide header: 120 columns
        [(pid, store)] = session_children(state)
        assert store is not None and (store / "demo.db").exists()

        # one session at most: the next is told so in one line
        second = await Terminal.open(conn)
        assert await second.closed() == 75
        assert b"the server is full (1 sessions)" in second.errors

        mark = term.mark()
        term.process.change_terminal_size(80, 24)
        await term.until(rb"emerg \d", since=mark)  # the narrow header

        mark = term.mark()
        term.press(b"j\r")  # down one row, open the detail pane
        await term.until(rb"Customer", since=mark)

        conn.close()
        await conn.wait_closed()
        await eventually(lambda: not alive(pid) and not store.exists() and not state.sessions)
    left = sorted(p.name for p in (tmp_path / "serve").iterdir())
    assert left == ["server.pid", "template.db", "world.db"]


async def test_quitting_the_console_ends_the_session_and_restores_the_terminal(
    tmp_path: Path,
) -> None:
    state = make_state(tmp_path)
    async with ssh_server(state) as port:
        async with await connect(port) as conn:  # no key at all: keyboard-interactive
            term = await Terminal.open(conn)
            await term.until(QUEUE_LOADED)
            [(pid, store)] = session_children(state)
            term.press(b"q")
            assert await term.closed() == 0
            assert term.output.endswith(b"\x1b[?1049l")  # back from the alternate screen
        await eventually(lambda: not alive(pid) and store is not None and not store.exists())


async def test_a_killed_console_leaves_no_store_and_ends_the_session(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    async with ssh_server(state, prepared=True) as port, await connect(port) as conn:
        term = await Terminal.open(conn)
        await term.until(QUEUE_LOADED)
        [(pid, store)] = session_children(state)
        os.kill(pid, signal.SIGKILL)
        await term.closed()
        assert store is not None and not store.exists()


async def test_a_session_without_a_terminal_is_refused_in_one_line(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    async with ssh_server(state) as port, await connect(port) as conn:
        result = await conn.run("", term_type=None, encoding="utf-8")
        assert result.exit_status == 1
        assert result.stderr == (
            "shiftdesk: this is a terminal console: connect with a terminal (ssh -t)\r\n"
        )
        assert not state.sessions


async def test_unknown_session_options_are_refused_in_one_line(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    async with ssh_server(state) as port, await connect(port) as conn:
        term = await Terminal.open(conn, command="rm -rf /")
        assert await term.closed() == 2
        assert bytes(term.errors).startswith(b"shiftdesk: unknown option 'rm'")
        assert bytes(term.errors).count(b"\n") == 1


async def test_ascii_and_no_color_per_session(tmp_path: Path) -> None:
    """`ssh -t host -- --ascii` and NO_COLOR in the SSH environment reach that console only."""
    state = make_state(tmp_path)
    async with ssh_server(state) as port, await connect(port) as conn:
        plain = await Terminal.open(conn, command="--ascii", env={"NO_COLOR": "1"})
        await plain.until(QUEUE_LOADED)
        await plain.until(rb"\bP\b")  # the ASCII phone flag
        fancy = await Terminal.open(conn)
        await fancy.until(QUEUE_LOADED)
        await fancy.until("☎".encode())
        assert "☎".encode() not in plain.output
        # NO_COLOR: Textual's monochrome filter leaves greys (the 256-colour cube's diagonal)
        assert _colours(fancy.output) - GREYS
        assert _colours(plain.output) <= GREYS


GREYS = {0, 7, 8, 15, 16, 59, 102, 145, 188, 231, *range(232, 256)}


def _colours(output: bytes) -> set[int]:
    return {int(n) for n in re.findall(rb"\x1b\[[0-9;]*?[34]8;5;(\d+)", output)}


def _key_file(tmp_path: Path, key: asyncssh.SSHKey, email: str) -> AuthorizedKeys:
    path = tmp_path / "authorized_keys"
    line = key.export_public_key().decode().strip()
    path.write_text(f'technician="{email}" {line}\n', encoding="utf-8")
    return AuthorizedKeys.load(path)


async def test_a_wrong_key_is_refused(tmp_path: Path) -> None:
    known = asyncssh.generate_private_key("ssh-ed25519")
    keys = _key_file(tmp_path, known, "alex@company.example")
    state = make_state(tmp_path, demo=False, keys=keys, db=f"sqlite:///{tmp_path / 'x.db'}")
    async with ssh_server(state) as port:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(port, key=asyncssh.generate_private_key("ssh-ed25519"))
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(port)  # no key: no way in without --demo
    assert not state.sessions


async def test_a_technicians_key_acts_as_that_technician(tmp_path: Path) -> None:
    """Outside a demo the console opens the real store, and what the viewer does is audited as
    the technician the key names."""
    url = f"sqlite:///{tmp_path / 'team.db'}"
    store = Store(url)
    populate(store, now=time.time())
    key = asyncssh.generate_private_key("ssh-ed25519")
    keys = _key_file(tmp_path, key, "dana@company.example")
    state = make_state(tmp_path, demo=False, keys=keys, db=url)
    async with ssh_server(state) as port, await connect(port, key=key) as conn:
        term = await Terminal.open(conn)
        await term.until(QUEUE_LOADED)
        with store.session() as session:
            unassigned = [r.number for r in load_queue(session) if r.assignee is None]
        term.press(b"u")  # unassigned only: the cursor is on one nobody has
        term.press(b"t")

        def taken() -> bool:
            return any(
                e.action == "take" and e.actor == "dana@company.example"
                for n in unassigned
                for e in ticket_detail(store, n).audit
            )

        await eventually(taken)
    store.dispose()


async def test_an_idle_session_is_disconnected(tmp_path: Path) -> None:
    state = make_state(tmp_path, idle_timeout=2.0)
    async with ssh_server(state) as port, await connect(port) as conn:
        term = await Terminal.open(conn)
        await eventually(lambda: bool(session_children(state)))
        [(pid, store)] = session_children(state)
        assert await term.closed() == 0
        assert term.errors == b"shiftdesk: idle for 2s: disconnected\r\n"
        assert not state.sessions and not alive(pid)
        assert store is not None and not store.exists()


async def test_a_shared_demo_shows_each_viewer_the_others_actions(tmp_path: Path) -> None:
    shared = tmp_path / "serve" / "shared"
    shared.mkdir(parents=True)
    populate_shared_world(shared, time.time())
    state = make_state(tmp_path, shared_dir=shared)
    async with ssh_server(state) as port:
        alice_conn = await connect(port, username="zed")
        bob_conn = await connect(port, username="bob")
        alice = await Terminal.open(alice_conn)
        bob = await Terminal.open(bob_conn)
        await alice.until(QUEUE_LOADED)
        await bob.until(QUEUE_LOADED)
        mark = bob.mark()
        alice.press(b"u")  # unassigned only: the cursor is on one nobody has
        alice.press(b"t")
        # bob's console shows who took it; viewer numbers go by which session started first,
        # which the two connections race for, so any number will do
        await bob.until(rb"zed-[0-9]+", since=mark)
        for conn in (alice_conn, bob_conn):
            conn.close()
    assert (shared / "demo.db").exists()  # the world outlives its viewers (the server's to delete)
