"""`shiftdesk` (the TUI) and `shiftdesk demo`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.cli import Settings, common_options, console_options, fail, loaded_config, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from models.config import Config
    from tui.context import AppContext


def build_context(
    s: Settings, *, demo: bool = False, speed: float = 1.0, at: str | None = None
) -> AppContext:
    from models.actions import Actor, set_program
    from models.db import StoreError, StoreUsageError, open_store
    from tui.context import AppContext, default_technician

    set_program("shiftdesk demo" if demo else "shiftdesk tui")
    config = loaded_config()
    email = s.technician or config.technician or default_technician()
    url = s.db
    clock = _shifted_clock(config, at) if demo and at is not None else time.time
    if demo:
        folder = Path(tempfile.mkdtemp(prefix="shiftdesk-demo-"))
        url = f"sqlite:///{folder / 'demo.db'}"
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
        from models.demo import populate

        populate(store, now=clock(), me=actor)
    return AppContext(
        store=store, config=config, actor=actor, clock=clock, demo=demo, demo_speed=speed
    )


def _shifted_clock(config: Config, at: str) -> Callable[[], float]:
    """A clock that starts at `at` (see models.demo.demo_instant) and runs at the real pace."""
    from models.calendar import BusinessCalendar
    from models.demo import demo_instant

    now = time.time()
    try:
        offset = demo_instant(at, BusinessCalendar.from_config(config.calendar), now) - now
    except ValueError as exc:
        fail(f"--at {exc}", 2)
        raise
    return lambda: time.time() + offset


def run_tui(
    s: Settings,
    demo: bool,
    speed: float = 1.0,
    at: str | None = None,
    *,
    view: str | None = None,
    mute: bool = False,
) -> None:
    ctx = build_context(s, demo=demo, speed=speed, at=at)
    ctx.view, ctx.mute = view, mute
    from tui.app import ShiftdeskApp

    ShiftdeskApp(ctx).run()
    ctx.store.dispose()


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
    help="Pretend the demo starts at WHEN: `open` (now if the company is open, else 90 minutes "
    "into its next opening: clocks that run at night and at weekends) or a local date-time in "
    "the company's zone, e.g. 2026-12-01T10:30. The clock then runs at the real pace.",
)
@common_options
@console_options
def demo_command(speed: float, at: str | None, view: str | None, mute: bool) -> None:
    """Open the console on a throwaway store full of realistic tickets, with new ones arriving."""
    run_tui(settings(), demo=True, speed=speed, at=at, view=view, mute=mute)
