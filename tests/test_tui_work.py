"""Working a ticket through the real screen: reply, note, drafts, take, close, reclassify."""

from __future__ import annotations

from sqlalchemy import text
from textual.widgets import Label, Static

from models.desk.detail import ticket_detail
from models.desk.work import load_draft
from models.store.db import Store
from tests.tui_support import ME, make_app, open_modal, ready, settle, until
from tui.app import ShiftdeskApp
from tui.widgets.detail import DetailPane, ReplyEditor
from tui.widgets.queue_view import QueueView


def first_unassigned_standard(view: QueueView) -> int:
    for i in range(view.visible_count):
        row = view.row_at(i)
        if row and row.kind == "standard" and row.assignee is None and not row.first_response_at:
            view.cursor = i
            return row.number
    raise AssertionError("no unassigned standard ticket in the demo data")


async def test_reply_sends_and_records_first_response(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("r")
        await settle(pilot)
        editor = app.screen.query_one(ReplyEditor)
        assert editor.has_focus
        editor.insert("Please send the service log from C:\\Logs.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        detail = ticket_detail(sqlite_store, number)
        assert detail.status == "answered" and detail.first_response_at is not None
        assert detail.messages[-1].direction == "out"
        assert "C:\\Logs" in detail.messages[-1].body
        assert detail.outbox and detail.outbox[-1].subject.startswith(f"Re: [#{number}]")
        assert editor.text == ""


async def test_empty_reply_is_refused_and_nothing_is_written(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).first_response_at is None
        assert any("Nothing to send" in str(n.message) for n in app._notifications)


async def test_note_is_internal(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("n")
        await settle(pilot)
        app.screen.query_one(ReplyEditor).insert("Customer is on the legacy build.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        detail = ticket_detail(sqlite_store, number)
        assert detail.messages[-1].direction == "note"
        assert detail.first_response_at is None and not detail.outbox


async def test_draft_survives_an_app_restart(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one(ReplyEditor).insert("Half-written answer")
        # the draft is saved after 0.8 s of quiet
        await until(pilot, lambda: load_draft(sqlite_store, number, ME) == "Half-written answer")
    # a second session on the same store (the demo data is already there)
    again = make_app(sqlite_store, demo_data=False)
    async with again.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        position = next(i for i in range(view.visible_count) if view.row_at(i).number == number)  # type: ignore[union-attr]
        view.cursor = position
        await pilot.press("r")
        await settle(pilot)
        assert again.screen.query_one(ReplyEditor).text == "Half-written answer"


async def test_take_close_reopen(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("t")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).assignee == "alex@shiftdesk.example"
        view.cursor = next(i for i in range(view.visible_count) if view.row_at(i).number == number)  # type: ignore[union-attr]
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")  # confirm
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).status == "closed"
        await pilot.press("l")  # the "all" view shows closed tickets too
        await settle(pilot)
        view.cursor = next(i for i in range(view.visible_count) if view.row_at(i).number == number)  # type: ignore[union-attr]
        await pilot.press("enter")  # open the detail pane on it, then reopen by key
        await settle(pilot)
        assert app.screen.query_one(DetailPane).number == number
        await pilot.press("o")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).status == "open"


async def test_close_can_be_cancelled(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).status == "open"


async def test_reclassify_emergency(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("e")
        number = view.current.number  # type: ignore[union-attr]
        await pilot.press("R")
        await settle(pilot)
        await pilot.press(*"not an outage")
        await pilot.press("enter")
        await settle(pilot)
        detail = ticket_detail(sqlite_store, number)
        assert detail.kind == "standard" and detail.refund_requested


async def test_a_conflict_is_refused_with_who_did_it(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        # another technician takes it behind our back (the screen still has the old version)
        from models.desk import actions

        actions.take(sqlite_store, number, actions.Actor("sam@shiftdesk.example"))
        await pilot.press("t")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).assignee == "sam@shiftdesk.example"
        assert any("sam@shiftdesk.example took it" in str(n.message) for n in app._notifications)
        with sqlite_store.session() as s:
            takes = s.execute(
                text(
                    "SELECT count(*) FROM audit_events WHERE ticket_number = :n AND action = 'take'"
                ),
                {"n": number},
            ).scalar()
        assert takes == 1


async def test_accept_a_not_entitled_ticket(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("x")
        assert view.visible_count >= 1
        number = view.current.number  # type: ignore[union-attr]
        await pilot.press("Y")
        await settle(pilot)
        await pilot.press("enter")  # an empty reason is refused inside the modal
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).entitlement == "none"
        await pilot.press(*"known customer, renewal in progress", "enter")
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).entitlement == "accepted"


async def test_schedule_is_in_the_customers_zone_with_the_pane_closed(
    sqlite_store: Store,
) -> None:
    """The pane is closed (it used to fall back to the company zone then), the past is
    refused, and the appointment shows in the pane afterwards."""
    from models.desk import actions
    from models.store.tables import Customer, Ticket
    from tests.tui_support import type_into
    from tui.screens.prompts import ScheduleModal

    number = actions.create_ticket(
        sqlite_store,
        subject="Installation",
        requester_email="jo@x.example",
        received_at=1_772_640_000.0,
        kind="installation",
        entitlement="purchase",
    )
    with sqlite_store.transaction() as s:
        customer = Customer(
            name="Jo", email="jo@x.example", created_at=0.0, timezone="Asia/Kolkata"
        )
        s.add(customer)
        s.flush()
        ticket = s.get(Ticket, number)
        assert ticket is not None
        ticket.customer_id = customer.id
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, number, "s", ScheduleModal)
        await until(pilot, lambda: modal.loaded)
        assert "local time in Asia/Kolkata (customer)" in str(modal.query_one(Label).render())
        await type_into(pilot, "when", "2026-03-01 09:30")  # FROZEN_NOW is 2026-03-04
        assert "in the past" in str(modal.query_one("#error", Static).render())
        await type_into(pilot, "when", "2026-03-10 09:30")
        assert "company time" in str(modal.query_one("#hint", Static).render())
        await type_into(pilot, "note", "bring the license file")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ScheduleModal))
        [appointment] = ticket_detail(sqlite_store, number).appointments
        assert appointment.local_text() == "Tue 2026-03-10 09:30 Asia/Kolkata, 60 min"
        assert appointment.note == "bring the license file"
        await pilot.press("enter")  # open the pane: the session is listed
        pane = app.screen.query_one(DetailPane)
        await until(pilot, lambda: pane.detail is not None and pane.detail.number == number)
        await settle(pilot)
        body = "\n".join(part.plain for part in pane.body_renderable().renderables)
        assert "Sessions  Tue 2026-03-10 09:30 Asia/Kolkata, 60 min" in body
        assert "scheduled a session for Tue 2026-03-10 09:30 IST, 60 min." in body
        assert '{"' not in body  # history lines are sentences, not JSON


async def test_schedule_on_a_standard_ticket_says_why_not(sqlite_store: Store) -> None:
    from tui.screens.prompts import ScheduleModal

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        modal = await open_modal(pilot, number, "s", ScheduleModal)
        error = modal.query_one("#error", Static)
        await until(pilot, lambda: "only installation and training" in str(error.render()))
        await pilot.press("enter")
        await pilot.pause()
        assert "only installation and training" in str(error.render())  # still says why
        assert (
            isinstance(app.screen, ScheduleModal)
            and not ticket_detail(sqlite_store, number).appointments
        )


async def test_a_reply_with_a_credential_asks_first(sqlite_store: Store) -> None:
    from tui.screens.prompts import Confirm

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("n")
        editor = app.screen.query_one(ReplyEditor)
        await until(pilot, lambda: editor.has_focus)
        editor.insert("RDP works with admin / Hunter2! now.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert "seems to contain a user name and password" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("enter")  # the default answer keeps it in the editor
        await until(pilot, lambda: not isinstance(app.screen, Confirm))
        await settle(pilot)
        assert ticket_detail(sqlite_store, number).messages[-1].direction == "in"
        assert "Hunter2" in editor.text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(
            pilot, lambda: ticket_detail(sqlite_store, number).messages[-1].direction == "note"
        )
        sentence = ticket_detail(sqlite_store, number).audit[-1].sentence()
        assert sentence.endswith("(saved despite the credential warning).")


async def test_a_draft_with_a_credential_is_not_saved(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        number = first_unassigned_standard(view)
        await pilot.press("r")
        editor = app.screen.query_one(ReplyEditor)
        await until(pilot, lambda: editor.has_focus)
        editor.insert("Log in with root / toor123 and restart.")
        await until(pilot, lambda: any("Draft not saved" in n.title for n in app._notifications))
        await settle(pilot)
        assert load_draft(sqlite_store, number, ME) is None


async def test_closing_with_an_active_rsaa_shows_the_reminder(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("l")
        view.cursor = next(
            i for i in range(view.visible_count) if (row := view.row_at(i)) and row.rsaa_active
        )
        number = view.current.number  # type: ignore[union-attr]
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await until(pilot, lambda: ticket_detail(sqlite_store, number).status == "closed")
        await until(
            pilot,
            lambda: any(
                "Now, on the customer's side: Remove the" in str(n.message)
                for n in app._notifications
            ),
        )


async def test_mouse_click_selects_and_double_click_opens(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.click(QueueView, offset=(30, 3))
        await settle(pilot)
        assert view.cursor == 3
        await pilot.double_click(QueueView, offset=(30, 3))
        await settle(pilot)
        assert app.screen.has_class("-detail")
        assert app.screen.query_one(DetailPane).number == view.row_at(3).number  # type: ignore[union-attr]


async def test_holding_j_with_the_pane_open_loads_where_the_cursor_rests(
    sqlite_store: Store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """No load while the key is held, one when the cursor rests: driven by the screen's
    follow_delay, not by how fast the machine handles ten keys."""
    import models.desk.detail
    from tui.screens.queue import QueueScreen

    loads: list[int] = []
    real = models.desk.detail.ticket_detail

    def counted(store: Store, number: int):  # type: ignore[no-untyped-def]
        loads.append(number)
        return real(store, number)

    monkeypatch.setattr(models.desk.detail, "ticket_detail", counted)
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        pane = screen.query_one(DetailPane)
        first = view.current.number  # type: ignore[union-attr]
        await pilot.press("enter")
        await until(pilot, lambda: pane.detail is not None and pane.detail.number == first)
        await app.workers.wait_for_complete()
        loads.clear()
        screen.follow_delay = 3600.0  # the key is held: the cursor never rests between repeats
        await pilot.press(*"j" * 9)
        await app.workers.wait_for_complete()
        assert view.cursor == min(9, view.visible_count - 1)
        assert loads == [] and pane.number == first  # the pane stayed where it was
        screen.follow_delay = 0.001  # the last repeat: the cursor rests
        await pilot.press("j")
        rested = view.current.number  # type: ignore[union-attr]
        assert view.cursor == min(10, view.visible_count - 1) and rested != first
        await until(pilot, lambda: pane.detail is not None and pane.detail.number == rested)
        await app.workers.wait_for_complete()
        assert loads == [rested]  # one load for ten rows, of the row the cursor rests on


async def test_a_key_right_after_moving_acts_on_the_highlighted_ticket(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        rows = [view.row_at(i) for i in range(view.visible_count)]
        view.cursor = next(
            i
            for i, row in enumerate(rows[1:])
            if row and row.assignee is None and row.kind == "standard"
        )  # the row below it is free to take
        await pilot.press("enter")
        await settle(pilot)
        shown = app.screen.query_one(DetailPane).number
        assert shown is not None
        untouched = ticket_detail(sqlite_store, shown).version
        app.screen.follow_delay = 3600.0  # type: ignore[attr-defined]  # the pane lags behind
        await pilot.press("j", "t")  # before the pane has caught up with the cursor
        target = view.row_at(view.cursor)
        await settle(pilot)
        assert target is not None and target.number != shown
        assert ticket_detail(sqlite_store, target.number).assignee == "alex@shiftdesk.example"
        assert ticket_detail(sqlite_store, shown).version == untouched


def type_fast(app: ShiftdeskApp, keys: str) -> None:
    """Keys as a terminal delivers a burst: all read before any is handled (Pilot.press waits
    for each key to be handled, which hides what a fast typist or a paste does)."""
    from textual import events

    for ch in keys:
        app.post_message(events.Key("space" if ch == " " else ch, ch))


async def test_text_typed_right_after_r_goes_into_the_editor(sqlite_store: Store) -> None:
    """A fast "r" then "the fix": the text lands in the editor, and the "t" never takes the
    ticket (it used to reach the queue's bindings while the editor's focus was pending)."""
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("enter")  # the pane is open
        await settle(pilot)
        target = view.row_at(1)
        assert target is not None
        before = ticket_detail(sqlite_store, target.number)
        type_fast(app, "jrthe fix")
        await settle(pilot)
        pane = app.screen.query_one(DetailPane)
        assert pane.number == target.number and pane.has_class("-editing")
        assert app.focused is pane.editor and pane.editor.text == "the fix"
        after = ticket_detail(sqlite_store, target.number)
        assert (after.assignee, after.version) == (before.assignee, before.version)
