"""Two technicians, two app instances on one SQLite store (each with its own Store, as two
processes would have), talking through the change feed: a reply is checked against the ticket
as its writer saw it; taking a colleague's ticket asks first and tells the colleague."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col

from models.desk.actions import Actor
from models.desk.detail import ticket_detail
from models.store.db import Store
from models.store.tables import Message
from tests.tui_support import ME, loaded, make_app, put_cursor, settle, until
from tui.screens.prompts import Confirm
from tui.widgets.detail import DetailPane, ReplyEditor
from tui.widgets.queue_view import QueueView

ANA = Actor("ana@shiftdesk.example", "Ana")


def _outbound(store: Store, number: int) -> int:
    with store.session() as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(Message)
                .where(col(Message.ticket_number) == number, col(Message.direction) == "out")
            ).scalar_one()
        )


def _unanswered(view: QueueView) -> int:
    for i in range(view.visible_count):
        row = view.row_at(i)
        if row and row.kind == "standard" and row.assignee is None and not row.first_response_at:
            return row.number
    raise AssertionError("no unassigned standard ticket in the demo data")


async def test_a_reply_is_checked_against_the_version_its_writer_saw(sqlite_url: str) -> None:
    """Bob's pane refreshes to Ana's take while he types: he is told, and asked before sending."""
    store, bob_store, ana_store = Store(sqlite_url), Store(sqlite_url), Store(sqlite_url)
    bob = make_app(bob_store, live=True, actor=ME)
    ana = make_app(ana_store, live=True, actor=ANA, demo_data=False)
    async with bob.run_test(size=(120, 40)) as bob_pilot, ana.run_test(size=(120, 40)) as ana_pilot:
        bob_view, ana_view = await loaded(bob_pilot), await loaded(ana_pilot)
        number = _unanswered(bob_view)
        put_cursor(bob_view, number)
        await bob_pilot.press("enter")
        pane = bob.screen.query_one(DetailPane)
        await until(bob_pilot, lambda: pane.detail is not None and pane.detail.number == number)
        seen = pane.detail.version  # type: ignore[union-attr]
        await bob_pilot.press("r")
        editor = bob.screen.query_one(ReplyEditor)
        await until(bob_pilot, lambda: editor.has_focus)
        editor.insert("Please try 9.4.3.")

        await until(
            ana_pilot, lambda: any(r and r.number == number for r in [ana_view.row(number)])
        )
        await ana_pilot.press("l")
        put_cursor(ana_view, number)
        await ana_pilot.press("t")
        await until(ana_pilot, lambda: ticket_detail(store, number).assignee == ANA.email)
        # Bob's open pane follows the change feed to the new version while he writes ...
        await until(bob_pilot, lambda: pane.detail.version > seen)  # type: ignore[union-attr]
        # ... and he is told at once, in the editor's title (in the same handler) and a
        # notification (posted to the app: in its list once the app has handled the message)
        assert "changed since you started" in str(pane.query_one("#editor-title").render())
        await until(
            bob_pilot,
            lambda: any(
                "ana@shiftdesk.example took it" in str(n.message) for n in bob._notifications
            ),
        )
        await bob_pilot.press("ctrl+s")
        await until(bob_pilot, lambda: isinstance(bob.screen, Confirm))
        assert "ana@shiftdesk.example took it" in bob.screen.question  # type: ignore[attr-defined]
        assert _outbound(store, number) == 0  # not sent behind his back
        await bob_pilot.press("y")  # he has read it: send anyway
        await until(bob_pilot, lambda: _outbound(store, number) == 1)
        assert ticket_detail(store, number).first_response_at is not None
    for s in (store, bob_store, ana_store):
        s.dispose()


async def test_taking_a_colleagues_ticket_asks_and_tells_them(sqlite_url: str) -> None:
    store, alex_store, ana_store = Store(sqlite_url), Store(sqlite_url), Store(sqlite_url)
    alex = make_app(alex_store, live=True, actor=ME)
    ana = make_app(ana_store, live=True, actor=ANA, demo_data=False)
    async with (
        alex.run_test(size=(120, 40)) as alex_pilot,
        ana.run_test(size=(120, 40)) as ana_pilot,
    ):
        alex_view, ana_view = await loaded(alex_pilot), await loaded(ana_pilot)
        number = _unanswered(alex_view)
        put_cursor(alex_view, number)
        await alex_pilot.press("t")
        await until(alex_pilot, lambda: ticket_detail(store, number).assignee == ME.email)

        await ana_pilot.press("l")
        await until(
            ana_pilot,
            lambda: (row := ana_view.row(number)) is not None and row.assignee == ME.email,
        )
        put_cursor(ana_view, number)
        await ana_pilot.press("t")
        await until(ana_pilot, lambda: isinstance(ana.screen, Confirm))
        assert "assigned to alex@shiftdesk.example" in ana.screen.question  # type: ignore[attr-defined]
        await ana_pilot.press("n")  # not by accident: nothing changes
        await until(ana_pilot, lambda: not isinstance(ana.screen, Confirm))
        await settle(ana_pilot)  # had it started a take, the take would be done
        assert ticket_detail(store, number).assignee == ME.email
        await ana_pilot.press("t")
        await until(ana_pilot, lambda: isinstance(ana.screen, Confirm))
        await ana_pilot.press("y")
        await until(ana_pilot, lambda: ticket_detail(store, number).assignee == ANA.email)
        # Alex learns it through the change feed
        await until(
            alex_pilot,
            lambda: any(
                f"#{number}" in str(n.message)
                and "taken over by ana@shiftdesk.example" in str(n.message)
                for n in alex._notifications
            ),
        )
        last = ticket_detail(store, number).audit[-1]
        assert last.sentence() == "ana@shiftdesk.example took it over from alex@shiftdesk.example."
    for s in (store, alex_store, ana_store):
        s.dispose()
