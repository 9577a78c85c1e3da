"""`shiftdesk` (the TUI) and `shiftdesk demo`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.cli import Settings, common_options, fail, loaded_config, settings

if TYPE_CHECKING:
    from tui.context import AppContext


def build_context(s: Settings, *, demo: bool = False, speed: float = 1.0) -> AppContext:
    from models.actions import Actor, set_program
    from models.db import StoreError, open_store
    from tui.context import AppContext, default_technician

    set_program("shiftdesk demo" if demo else "shiftdesk tui")
    config = loaded_config()
    email = s.technician or config.technician or default_technician()
    url = s.db
    if demo:
        folder = Path(tempfile.mkdtemp(prefix="shiftdesk-demo-"))
        url = f"sqlite:///{folder / 'demo.db'}"
    try:
        store = open_store(url)
    except StoreError as exc:
        fail(str(exc), 75)
        raise
    actor = Actor(email)
    if demo:
        from models.demo import populate

        populate(store, now=time.time(), me=actor)
    return AppContext(store=store, config=config, actor=actor, demo=demo, demo_speed=speed)


def run_tui(s: Settings, demo: bool, speed: float = 1.0) -> None:
    ctx = build_context(s, demo=demo, speed=speed)
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
@common_options
def demo_command(speed: float) -> None:
    """Open the console on a throwaway store full of realistic tickets, with new ones arriving."""
    run_tui(settings(), demo=True, speed=speed)
