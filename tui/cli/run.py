"""`shiftdesk` (the TUI) and `shiftdesk demo`."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.cli.core import Settings, common_options, console_options, fail, loaded_config, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from models.policy.config import Config
    from tui.app import ShiftdeskApp
    from tui.context import AppContext

DEMO_DB = "demo.db"  # the demo store's file inside its folder


def build_context(
    s: Settings,
    *,
    demo: bool = False,
    speed: float = 1.0,
    at: str | None = None,
    store_dir: Path | None = None,
    clock_offset: float | None = None,
    arrivals: bool = True,
    world_at: float | None = None,
) -> AppContext:
    """The app's context. A demo's store is a SQLite file in `store_dir` (populated unless it
    already holds a world: a shared demo, or one `shiftdesk serve` populated ahead at `world_at`
    on the demo's clock), else in a new temp folder (the caller deletes it)."""
    from models.desk.actions import Actor, set_program
    from models.store.db import StoreError, StoreUsageError, open_store
    from tui.context import AppContext, default_technician

    set_program("shiftdesk demo" if demo else "shiftdesk tui")
    config = loaded_config()
    email = s.technician or config.technician or default_technician()
    url = s.db
    clock: Callable[[], float] = time.time
    if demo and clock_offset is not None:
        offset = clock_offset
        clock = lambda: time.time() + offset  # noqa: E731
    elif demo and at is not None:
        clock = _shifted_clock(config, at)
    if demo:
        folder = store_dir or Path(tempfile.mkdtemp(prefix="shiftdesk-demo-"))
        url = f"sqlite:///{folder / DEMO_DB}"
        if world_at is not None and not _world_fresh(world_at, clock()):
            # prepared for another moment (`--at` chose another instant since): start afresh
            for name in (DEMO_DB, f"{DEMO_DB}-wal", f"{DEMO_DB}-shm"):
                (folder / name).unlink(missing_ok=True)
    try:
        # an explicit --db must exist (a typo is not a new empty queue); the demo's is new
        store = open_store(url, create=demo)
    except StoreUsageError as exc:
        fail(str(exc), 2)
        raise
    except StoreError as exc:
        fail(str(exc), 75)
        raise
    actor = Actor(email)
    if demo:
        from models.demo.demo import adopt_world, give_demo_signature, has_world, populate
        from models.desk.actions import technician_for

        if not has_world(store):  # a new store, or the server's migrated empty template
            populate(store, now=clock(), me=actor, signature=True, history_days=30, config=config)
        elif adopt_world(store, actor):  # populated ahead by the server: now ours
            with store.transaction() as session:
                give_demo_signature(technician_for(session, actor))
        else:
            with store.transaction() as session:  # a viewer joining a shared world
                give_demo_signature(technician_for(session, actor))
    return AppContext(
        store=store,
        config=config,
        actor=actor,
        clock=clock,
        demo=demo,
        demo_speed=speed,
        demo_arrivals=arrivals,
    )


def _world_fresh(world_at: float, now: float) -> bool:
    from models.demo.demo import WORLD_MAX_AGE

    return 0.0 <= now - world_at <= WORLD_MAX_AGE


def _shifted_clock(config: Config, at: str) -> Callable[[], float]:
    """A clock that starts at `at` (see models.demo.demo.demo_instant) and runs at the real pace."""
    offset = demo_clock_offset(config, at)
    return lambda: time.time() + offset


def demo_clock_offset(config: Config, at: str) -> float:
    """Seconds from the real time to `--at WHEN`; exit 2 with the reason if WHEN is no time."""
    from models.clock.calendar import BusinessCalendar
    from models.demo.demo import demo_instant

    now = time.time()
    try:
        return demo_instant(at, BusinessCalendar.from_config(config.calendar), now) - now
    except ValueError as exc:
        fail(f"--at {exc}", 2)
        raise


def run_tui(
    s: Settings,
    demo: bool,
    speed: float = 1.0,
    at: str | None = None,
    *,
    view: str | None = None,
    mute: bool = False,
    store_dir: Path | None = None,
    clock_offset: float | None = None,
    arrivals: bool = True,
    world_at: float | None = None,
) -> None:
    # a throwaway store of our own is deleted however the console ends (quit, SIGHUP, SIGTERM)
    own_folder = None
    if demo and store_dir is None:
        own_folder = store_dir = Path(tempfile.mkdtemp(prefix="shiftdesk-demo-"))
    try:
        ctx = build_context(
            s,
            demo=demo,
            speed=speed,
            at=at,
            store_dir=store_dir,
            clock_offset=clock_offset,
            arrivals=arrivals,
            world_at=world_at,
        )
        ctx.view, ctx.mute = view, mute
        from tui.app import ShiftdeskApp

        try:
            run_until_signalled(ShiftdeskApp(ctx))
        finally:
            ctx.store.dispose()
    finally:
        if own_folder is not None:
            shutil.rmtree(own_folder, ignore_errors=True)


def run_until_signalled(app: ShiftdeskApp) -> None:
    """`app.run()`, but SIGHUP (terminal closed, ssh dropped) and SIGTERM end the app the way `q`
    does, so the caller's cleanup runs: by default both kill the process on the spot."""
    import asyncio

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(signum, app.exit)
        try:
            await app.run_async()
        finally:
            for signum in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    asyncio.run(main())


def apply_display_options(ascii_flags: bool, no_color: bool) -> None:
    """--ascii / --no-color: as SHIFTDESK_ASCII=1 / NO_COLOR=1 (read when the app starts)."""
    if ascii_flags:
        os.environ["SHIFTDESK_ASCII"] = "1"
    if no_color:
        os.environ["NO_COLOR"] = "1"


@click.command("demo")
@click.option(
    "--speed",
    type=click.FloatRange(min=0.1, max=100.0),
    default=1.0,
    show_default=True,
    help="How fast new demo tickets arrive (2 = twice as often).",
)
@click.option(
    "--at",
    "at",
    metavar="WHEN",
    help="Pretend the demo starts at WHEN: `open` (now if the company is open for two more "
    "hours, else 90 minutes into its next opening: clocks that run at night, at weekends and at "
    "closing time) or a local date-time in the company's zone, e.g. 2026-12-01T10:30. The clock "
    "then runs at the real pace.",
)
@click.option("--ascii", "ascii_flags", is_flag=True, help="ASCII flags (as SHIFTDESK_ASCII=1).")
@click.option("--no-color", is_flag=True, help="A monochrome screen (as NO_COLOR=1).")
# for `shiftdesk serve`: the store lives in a folder the server owns (and deletes) ...
@click.option(
    "--store-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    hidden=True,
)
# ... a shared world gets its arrivals from the server, and one clock for every viewer
@click.option("--no-arrivals", is_flag=True, hidden=True)
@click.option("--clock-offset", type=float, hidden=True)
# ... and a store it populated ahead says on which instant of the demo's clock
@click.option("--world-at", type=float, hidden=True)
@common_options
@console_options
def demo_command(
    speed: float,
    at: str | None,
    view: str | None,
    mute: bool,
    ascii_flags: bool,
    no_color: bool,
    store_dir: Path | None,
    no_arrivals: bool,
    clock_offset: float | None,
    world_at: float | None,
) -> None:
    """Open the console on a throwaway store full of realistic tickets, with new ones arriving.
    The store is deleted when the console ends."""
    apply_display_options(ascii_flags, no_color)
    run_tui(
        settings(),
        demo=True,
        speed=speed,
        at=at,
        view=view,
        mute=mute,
        store_dir=store_dir,
        clock_offset=clock_offset,
        arrivals=not no_arrivals,
        world_at=world_at,
    )
