"""The demo world `shiftdesk serve` populates ahead for its viewers: a console that takes it is
the console that would have populated its own, and it never takes one that is too old."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import click
from sqlalchemy import select
from sqlmodel import col

from models.demo.demo import TEMPLATE_VIEWER, WORLD_MAX_AGE, adopt_world, has_world, populate
from models.desk.actions import Actor
from models.store.db import Store, open_store
from models.store.tables import Technician, Ticket
from tui.cli.core import Settings
from tui.cli.run import DEMO_DB, build_context
from tui.serve.child import ConsolePlan
from tui.serve.ssh import ServeState

VIEWER = Actor("ana-3@viewer.demo")
NOW = 1_764_849_600.0  # Thu 4 Dec 2025 12:00 UTC


def _dump(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def _store(path: Path) -> Store:
    return open_store(f"sqlite:///{path}", create=True)


def _technicians(store: Store) -> dict[str, int | None]:
    with store.session() as session:
        rows = session.execute(select(Technician.email, Technician.id)).all()
    return {email: tech_id for email, tech_id in rows}


def test_an_adopted_world_is_the_world_populated_for_its_viewer(tmp_path: Path) -> None:
    ahead, on_the_spot = _store(tmp_path / "ahead.db"), _store(tmp_path / "spot.db")
    try:
        populate(ahead, now=NOW, me=TEMPLATE_VIEWER)
        assert adopt_world(ahead, VIEWER)
        populate(on_the_spot, now=NOW, me=VIEWER)
    finally:
        ahead.dispose()
        on_the_spot.dispose()
    assert _dump(tmp_path / "ahead.db") == _dump(tmp_path / "spot.db")


def test_a_world_without_the_stand_in_is_not_adopted(tmp_path: Path) -> None:
    """A shared world (populated for nobody): viewers join it, nobody takes it over."""
    store = _store(tmp_path / "shared.db")
    try:
        populate(store, now=NOW)
        before = _technicians(store)
        assert not adopt_world(store, VIEWER)
        assert _technicians(store) == before
    finally:
        store.dispose()


def _context(tmp_path: Path, store_dir: Path, world_at: float) -> Store:
    config = tmp_path / "shiftdesk.toml"
    config.write_text("", encoding="utf-8")
    with click.Context(click.Command("demo")) as ctx:
        ctx.obj = Settings(config_path=config, technician=VIEWER.email)
        return build_context(ctx.obj, demo=True, store_dir=store_dir, world_at=world_at).store


def _newest_received(store: Store) -> float:
    with store.session() as session:
        newest = select(col(Ticket.received_at)).order_by(col(Ticket.received_at).desc())
        return float(session.execute(newest.limit(1)).scalar_one())


def test_a_console_takes_a_fresh_world_and_repopulates_a_stale_one(tmp_path: Path) -> None:
    made = tmp_path / "world.db"
    for age, taken in ((60.0, True), (WORLD_MAX_AGE + 60, False), (-3600.0, False)):
        world_at = time.time() - age
        store = _store(made)
        populate(store, now=world_at, me=TEMPLATE_VIEWER)
        store.dispose()
        folder = tmp_path / f"session-{age:g}"
        folder.mkdir()
        (folder / DEMO_DB).write_bytes(made.read_bytes())
        made.unlink()
        store = _context(tmp_path, folder, world_at)
        try:
            technicians = _technicians(store)
            assert TEMPLATE_VIEWER.email not in technicians and VIEWER.email in technicians
            # a world populated on the spot: its newest ticket came in 6 minutes ago
            newest = _newest_received(store)
            assert (abs(newest - (world_at - 360)) < 1) is taken, age
            if not taken:
                assert abs(newest - (time.time() - 360)) < 60
        finally:
            store.dispose()


async def test_the_server_hands_out_a_fresh_world_else_the_empty_template(
    tmp_path: Path,
) -> None:
    config = tmp_path / "shiftdesk.toml"
    config.write_text("", encoding="utf-8")
    state = ServeState(
        plan=ConsolePlan(demo=True, config_path=config), keys=None, work_dir=tmp_path / "serve"
    )
    state.work_dir.mkdir()
    await state.prepare(fork_server=False)
    try:
        assert state.world is not None and state.world_at is not None
        assert abs(state.world_at - time.time()) < 30

        fresh = tmp_path / "fresh"
        fresh.mkdir()
        assert state.session_store(fresh) == state.world_at
        store = Store(f"sqlite:///{fresh / DEMO_DB}", create=False)
        try:
            assert TEMPLATE_VIEWER.email in _technicians(store)
        finally:
            store.dispose()

        state.world_made -= 2 * state.world_refresh  # its refreshes failed meanwhile
        late = tmp_path / "late"
        late.mkdir()
        assert state.session_store(late) is None
        store = Store(f"sqlite:///{late / DEMO_DB}", create=False)
        try:
            assert not has_world(store)  # the console populates it
        finally:
            store.dispose()

        before = state.world_at
        await state.refresh_world()
        assert state.world_at > before and state.session_store(tmp_path) == state.world_at
    finally:
        await state.close_all("test over")
