"""Working a ticket through the real screen: reply, note, drafts, take, close, reclassify."""

from __future__ import annotations

from sqlalchemy import text

from models.db import Store
from models.detail import ticket_detail
from tests.tui_support import make_app, ready, settle
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
        await pilot.pause(1.2)  # the draft is saved after 0.8 s of quiet
        await settle(pilot)
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
        from models import actions

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


async def test_schedule_an_installation(sqlite_store: Store) -> None:
    from models import actions

    number = actions.create_ticket(
        sqlite_store,
        subject="Installation",
        requester_email="ana@x.example",
        received_at=1_772_640_000.0,
        kind="installation",
        entitlement="purchase",
    )
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        view.cursor = next(i for i in range(view.visible_count) if view.row_at(i).number == number)  # type: ignore[union-attr]
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*"2026-03-10 09:30; bring the license file", "enter")
        await settle(pilot)
        with sqlite_store.session() as s:
            rows = s.execute(
                text(
                    "SELECT starts_at, customer_timezone, note FROM appointments "
                    "WHERE ticket_number = :n"
                ),
                {"n": number},
            ).all()
        assert len(rows) == 1 and rows[0][2] == "bring the license file"


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
    import models.detail

    loads: list[int] = []
    real = models.detail.ticket_detail

    def counted(store: Store, number: int):  # type: ignore[no-untyped-def]
        loads.append(number)
        return real(store, number)

    monkeypatch.setattr(models.detail, "ticket_detail", counted)
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("enter")
        await settle(pilot)
        loads.clear()
        await pilot.press(*"j" * 10)  # as fast as a held key repeats
        await settle(pilot)
        pane = app.screen.query_one(DetailPane)
        assert view.cursor == min(10, view.visible_count - 1) and view.current is not None
        assert pane.detail is not None and pane.detail.number == view.current.number
        assert len(loads) <= 2, loads


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
