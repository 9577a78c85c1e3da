"""Building the real app for Pilot and snapshot tests: a temp store, a frozen clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input

from models.demo.demo import populate
from models.desk.actions import Actor
from models.policy.config import Config
from models.store.db import Store
from tui.app import ShiftdeskApp
from tui.context import AppContext
from tui.screens.prompts import PROMPT
from tui.widgets.queue_view import QueueView

M = TypeVar("M")

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


async def finished(pilot: Pilot[Any]) -> None:
    """Every worker running now has finished, but a live app's change feed (it never does) and
    prompt workers (they wait for a person: see `settle`)."""
    finite = [w for w in pilot.app.workers if w.group not in ("feed", PROMPT)]
    if finite:  # (an empty list would mean every worker, the feed's too)
        await pilot.app.workers.wait_for_complete(finite)


async def ready(pilot: Pilot[Any]) -> QueueView:
    """The queue once the first loads have finished."""
    await finished(pilot)
    await pilot.pause()
    return pilot.app.screen.query_one(QueueView)


async def loaded(pilot: Pilot[Any]) -> QueueView:
    """The queue view once its rows are in (no wait for other workers, unlike `ready`)."""
    view = pilot.app.screen.query_one(QueueView)
    await until(pilot, lambda: view.loaded, seconds=10)
    return view


def put_cursor(view: QueueView, number: int) -> None:
    """The cursor on ticket `number` (it must be shown)."""
    view.cursor = next(
        i for i in range(view.visible_count) if (row := view.row_at(i)) and row.number == number
    )


async def settle(pilot: Pilot[Any]) -> None:
    """Let the workers a key started finish, and the messages they post be handled (three
    rounds: a handler may start another worker). A worker awaiting a prompt (push_screen_wait)
    waits for a person once its prompt is up: it is only waited for until it finishes or puts its
    prompt up. Timers are not waited for: wait on what they do with `until`."""
    app = pilot.app

    def prompts_settled() -> bool:
        return isinstance(app.screen, ModalScreen) or all(
            worker.group != PROMPT or worker.is_finished for worker in app.workers
        )

    for _ in range(3):
        await finished(pilot)
        await until(pilot, prompts_settled)
        await pilot.pause()  # every message already queued is handled


async def until(pilot: Pilot[Any], condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll `condition` until it holds. `seconds` only bounds a failure: on a loaded 2-core CI
    machine a worker, a feed poll or a timer can take seconds, so keep it generous."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < seconds, "timed out waiting"
        await pilot.pause(0.02)


async def open_modal(pilot: Pilot[Any], number: int, key: str, modal_type: type[M]) -> M:
    """Highlight ticket `number` in the all-tickets view, press `key`, wait for the modal."""
    app = pilot.app
    view = app.screen.query_one(QueueView)
    await until(pilot, lambda: view.loaded)
    await pilot.press("l")
    view.cursor = next(
        i for i in range(view.visible_count) if (row := view.row_at(i)) and row.number == number
    )
    await pilot.press(key)
    await until(
        pilot,
        lambda: isinstance(app.screen, modal_type) and getattr(app.screen, "mode", "") != "loading",
    )
    modal = app.screen
    assert isinstance(modal, modal_type)
    await pilot.pause()
    return modal


async def type_into(pilot: Pilot[Any], widget_id: str, text: str, *, keys: bool = False) -> None:
    """Put `text` in a field: key by key with `keys`, else as one edit (a paste; each key press
    costs Pilot ~0.1 s). Either way the input posts Changed, which drives the validation."""
    field = pilot.app.screen.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = ""
    if keys:
        await pilot.press(*text)
    else:
        field.insert_text_at_cursor(text)
    await pilot.pause()
