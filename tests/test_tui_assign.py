"""Assign and "viewing now" with two app instances on one SQLite store (each with its own Store,
as two processes would have), talking through the change feed and the presence table."""

from __future__ import annotations

from typing import Any

from models.desk import actions
from models.desk.actions import Actor
from models.desk.detail import ticket_detail
from models.store.db import Store
from tests.tui_support import ME, loaded, make_app, put_cursor, settle, until
from tui.screens.assign_picker import AssignPicker
from tui.screens.prompts import Confirm
from tui.widgets.detail import DetailPane
from tui.widgets.queue_view import QueueView

SAM = Actor("sam@shiftdesk.example", "Sam Okoye")  # a demo technician: known to the store


def _unassigned(view: QueueView) -> int:
    for i in range(view.visible_count):
        row = view.row_at(i)
        if row and row.assignee is None and row.status != "closed":
            return row.number
    raise AssertionError("no unassigned open ticket in the demo data")


def _noticed(app: Any, *parts: str) -> bool:
    return any(all(p in str(n.message) for p in parts) for n in app._notifications)


async def test_a_colleague_opening_a_ticket_shows_viewing_now_and_closing_removes_it(
    sqlite_url: str,
) -> None:
    store, alex_store, sam_store = Store(sqlite_url), Store(sqlite_url), Store(sqlite_url)
    alex = make_app(alex_store, live=True, actor=ME)
    sam = make_app(sam_store, live=True, actor=SAM, demo_data=False)
    async with (
        alex.run_test(size=(120, 40)) as alex_pilot,
        sam.run_test(size=(120, 40)) as sam_pilot,
    ):
        alex_view, sam_view = await loaded(alex_pilot), await loaded(sam_pilot)
        number = _unassigned(alex_view)
        row = alex_view.row(number)
        assert row is not None and "◉" not in alex_view.flags(row)
        put_cursor(sam_view, number)
        await sam_pilot.press("enter")  # Sam opens it in his pane
        await until(alex_pilot, lambda: alex_view.flags(row).startswith("◉sam"), seconds=5)
        assert "◉" not in sam_view.flags(row)  # nobody is shown their own presence
        # Alex opens it too: his pane says Sam is on it (and Sam's says Alex is)
        put_cursor(alex_view, number)
        await alex_pilot.press("enter")
        pane = alex.screen.query_one(DetailPane)
        await until(alex_pilot, lambda: pane.detail is not None and pane.detail.number == number)
        await until(alex_pilot, lambda: "Sam Okoye is viewing this now" in pane._head_plain)
        sam_pane = sam.screen.query_one(DetailPane)
        await until(
            sam_pilot, lambda: "Alex Rivera is viewing this now" in sam_pane._head_plain, seconds=5
        )
        await sam_pilot.press("escape")  # Sam closes his pane: the marker goes
        await until(alex_pilot, lambda: "◉" not in alex_view.flags(row), seconds=5)
        await until(alex_pilot, lambda: "viewing this now" not in pane._head_plain)
    # leaving the console removed Alex's presence too: nobody is shown viewing anything
    from models.desk.presence import live_viewers

    assert live_viewers(store, 0.0) == {}
    for s in (store, alex_store, sam_store):
        s.dispose()


async def test_giving_a_ticket_tells_the_new_assignee(sqlite_url: str) -> None:
    store, alex_store, sam_store = Store(sqlite_url), Store(sqlite_url), Store(sqlite_url)
    alex = make_app(alex_store, live=True, actor=ME)
    sam = make_app(sam_store, live=True, actor=SAM, demo_data=False)
    async with (
        alex.run_test(size=(120, 40)) as alex_pilot,
        sam.run_test(size=(120, 40)) as sam_pilot,
    ):
        alex_view = await loaded(alex_pilot)
        await loaded(sam_pilot)
        number = _unassigned(alex_view)
        put_cursor(alex_view, number)
        await alex_pilot.press("h")
        await until(alex_pilot, lambda: isinstance(alex.screen, AssignPicker))
        picker = alex.screen
        assert isinstance(picker, AssignPicker)
        assert "" not in picker.shown  # unassigned: no "(nobody)" entry
        await alex_pilot.press("o", "k", "o")  # "Okoye": only Sam matches
        await until(alex_pilot, lambda: picker.shown == ["sam@shiftdesk.example"])
        await alex_pilot.press("enter")
        await until(alex_pilot, lambda: ticket_detail(store, number).assignee == SAM.email)
        last = ticket_detail(store, number).audit[-1]
        assert last.sentence() == "alex@shiftdesk.example assigned it to sam@shiftdesk.example."
        # Sam learns it through the change feed
        await until(
            sam_pilot,
            lambda: _noticed(sam, f"#{number}", "assigned to you by alex@shiftdesk.example"),
            seconds=5,
        )
        assert not _noticed(alex, "assigned to you")  # Alex did it: no notice to himself

        # Alex changes his mind: Sam's now, so taking it back asks first; Sam is told
        await alex_pilot.press("U")
        await until(alex_pilot, lambda: isinstance(alex.screen, Confirm))
        assert "assigned to sam@shiftdesk.example. Unassign it?" in alex.screen.question  # type: ignore[attr-defined]
        await alex_pilot.press("n")
        await until(alex_pilot, lambda: not isinstance(alex.screen, Confirm))
        await settle(alex_pilot)  # a "no" runs nothing: the prompt worker ends, nothing written
        assert ticket_detail(store, number).assignee == SAM.email
        await alex_pilot.press("U")
        await until(alex_pilot, lambda: isinstance(alex.screen, Confirm))
        await alex_pilot.press("y")
        await until(alex_pilot, lambda: ticket_detail(store, number).assignee is None)
        await until(
            sam_pilot,
            lambda: _noticed(sam, f"#{number}", "was unassigned by alex@shiftdesk.example"),
            seconds=5,
        )
    for s in (store, alex_store, sam_store):
        s.dispose()


async def test_the_picker_invents_nobody_and_offers_nobody(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    app = make_app(store, live=True, actor=ME)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        number = _unassigned(view)
        actions.take(store, number, SAM)
        await until(
            pilot, lambda: (row := view.row(number)) is not None and row.assignee == SAM.email
        )
        put_cursor(view, number)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, AssignPicker))
        picker = app.screen
        assert isinstance(picker, AssignPicker)
        assert picker.shown[0] == ""  # "(nobody)" comes first on an assigned ticket
        await pilot.press(*"zed@x")  # no such technician: enter does nothing, the hint says why
        await until(pilot, lambda: picker.shown == [])
        await pilot.press("enter")
        await until(
            pilot, lambda: "No technician matches" in str(picker.query_one("#hint").render())
        )
        assert app.screen is picker
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AssignPicker))
        assert ticket_detail(store, number).assignee == SAM.email
    store.dispose()


async def test_palette_help_and_the_ascii_marker(sqlite_store: Store) -> None:
    from tests.tui_support import ready
    from tui.registry import help_groups

    app = make_app(sqlite_store, ascii_flags=True)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Give the ticket to a colleague" in titles
        row = view.row_at(0)
        assert row is not None
        # offered only for a ticket someone holds (tui.registry's availability check)
        assert ("Unassign the ticket" in titles) == (row.assignee is not None)
        keys = {key for _, group in help_groups() for key, _ in group}
        assert {"h", "U"} <= keys
        view.set_viewers({row.number: ["Sam Okoye", "Kim Lindqvist"]})
        assert view.flags(row).startswith("*sam+")  # ASCII: no ◉; "+": more than one
        await pilot.pause()
        assert "*sam+" in app.export_screenshot()  # the row was repainted, not a stale cache
        view.set_viewers({})
        await pilot.pause()
        assert "*sam" not in app.export_screenshot()
