"""Building the real app for Pilot and snapshot tests: a temp store, a frozen clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from models.actions import Actor
from models.config import Config
from models.db import Store
from models.demo import populate
from tui.app import ShiftdeskApp
from tui.context import AppContext

# Wednesday 4 March 2026, 10:30 in Phoenix: business hours are open.
FROZEN_NOW = dt.datetime(2026, 3, 4, 10, 30, tzinfo=ZoneInfo("America/Phoenix")).timestamp()
ME = Actor("alex@shiftdesk.example", "Alex Rivera")


class FrozenClock:
    def __init__(self, now: float = FROZEN_NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_app(
    store: Store,
    *,
    now: float = FROZEN_NOW,
    live: bool = False,
    demo_data: bool = True,
    config: Config | None = None,
    ascii_flags: bool = False,
    actor: Actor = ME,
) -> ShiftdeskApp:
    if demo_data:
        populate(store, seed=7, now=now, me=actor)
    ctx = AppContext(
        store=store,
        config=config or Config(),
        actor=actor,
        clock=FrozenClock(now),
        live=live,
        ascii_flags=ascii_flags,
    )
    return ShiftdeskApp(ctx)
