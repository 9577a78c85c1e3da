"""Canned replies and the signature in the real console: ctrl+t in the reply editor, the
picker, the signature under a new reply, and what is sent. Waits on conditions, never sleeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from textual.pilot import Pilot
from textual.widgets import Static

from models.desk.canned import (
    deadline_text,
    reply_deadline,
    set_signature,
    signature_block,
    variables_for,
)
from models.desk.detail import ticket_detail
from models.desk.work import load_draft
from models.policy.config import Config
from models.store.db import Store
from models.store.tables import CannedReply, Customer, Ticket
from tests.tui_support import FROZEN_NOW, ME, make_app, ready, settle, until
from tui.app import ShiftdeskApp
from tui.context import AppContext
from tui.screens.canned_picker import CannedPicker, rank
from tui.widgets.detail import DetailPane, ReplyEditor
from tui.widgets.queue_view import QueueView

SIGNATURE = "Alex Rivera\nSupport, Example Software"
HOSTILE_NAME = "Zoë {ticket} [b]O'Brien[/b]"


def _first_unanswered_standard(view: QueueView) -> int:
    for i in range(view.visible_count):
        row = view.row_at(i)
        if row and row.kind == "standard" and row.assignee is None and not row.first_response_at:
            view.cursor = i
            return row.number
    raise AssertionError("no unassigned standard ticket in the demo data")


def _rename_customer(store: Store, number: int, name: str) -> None:
    with store.transaction() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None and ticket.customer_id is not None
        session.execute(update(Customer).where(Customer.id == ticket.customer_id).values(name=name))


def _picker(app: ShiftdeskApp) -> CannedPicker | None:
    return app.screen if isinstance(app.screen, CannedPicker) else None


async def _open_reply(pilot: Pilot[None], app: ShiftdeskApp) -> tuple[int, ReplyEditor]:
    view = await ready(pilot)
    number = _first_unanswered_standard(view)
    return number, app.screen.query_one(ReplyEditor)


async def test_a_canned_reply_is_filled_in_signed_and_sent(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    set_signature(sqlite_store, ME, SIGNATURE)
    async with app.run_test(size=(120, 40)) as pilot:
        number, editor = await _open_reply(pilot, app)
        _rename_customer(sqlite_store, number, HOSTILE_NAME)
        await pilot.press("r")
        # the signature waits under an empty reply, the cursor above it
        await until(pilot, lambda: editor.text == signature_block(SIGNATURE))
        assert editor.cursor_location == (0, 0) and editor.has_focus

        await pilot.press("ctrl+t")
        await until(pilot, lambda: (p := _picker(app)) is not None and bool(p.shown))
        picker = _picker(app)
        assert picker is not None
        await pilot.press(*"rsaa")
        await until(pilot, lambda: picker.shown[0].name == "RSAA request (remote access)")
        preview = str(picker.query_one("#canned-preview", Static).content)
        assert preview.startswith(f"Hello {HOSTILE_NAME},") and f"for #{number}." in preview
        await pilot.press("enter")
        await until(pilot, lambda: "Remote Server Access Agreement" in editor.text)
        assert editor.has_focus

        await pilot.press("ctrl+s")
        await settle(pilot)
        await until(pilot, lambda: ticket_detail(sqlite_store, number).status == "answered")

    detail = ticket_detail(sqlite_store, number)
    body = detail.messages[-1].body
    assert detail.messages[-1].direction == "out"
    ctx = AppContext(store=sqlite_store, config=Config(), actor=ME)
    customer = detail.customer
    assert customer is not None
    variables = variables_for(
        ticket=number,
        customer_name=customer.name,
        requester_email=detail.requester_email,
        customer_zone=customer.timezone,
        company_zone=ctx.zone,
        technician="Alex Rivera",
        deadline_at=reply_deadline(
            ctx.policy.deadline("standard", detail.received_at), FROZEN_NOW, ctx.policy
        ),
    )
    # the customer's name literally (its braces and markup untouched), every variable filled
    assert body.startswith(f"Hello {HOSTILE_NAME},\n\nTo look at this on your server")
    assert f"Agreement for #{number}." in body
    assert "{customer}" not in body and "{deadline}" not in body
    deadline = deadline_text(variables.deadline_at, variables.zone)
    # the reply, then one blank line, the separator and the signature
    assert body.endswith(f"back to you by {deadline}." + signature_block(SIGNATURE))
    assert "\n\n\n-- " not in body  # one blank line above the signature, not two
    assert body.count("-- \n") == 1


async def test_esc_cancels_and_the_text_stays(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        _, editor = await _open_reply(pilot, app)
        await pilot.press("r")
        await settle(pilot)
        editor.insert("Thanks for the log.")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: (p := _picker(app)) is not None and bool(p.shown))
        await pilot.press("escape")
        await until(pilot, lambda: _picker(app) is None)
        assert editor.text == "Thanks for the log." and editor.has_focus


async def test_with_no_canned_replies_the_picker_says_how_to_add_one(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    with sqlite_store.transaction() as session:
        session.execute(delete(CannedReply))
    async with app.run_test(size=(120, 40)) as pilot:
        _, editor = await _open_reply(pilot, app)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: (p := _picker(app)) is not None and p.replies == [])
        picker = _picker(app)
        assert picker is not None
        preview = str(picker.query_one("#canned-preview", Static).content)
        assert "shiftdesk canned add NAME --body-file FILE" in preview
        await pilot.press("enter")  # nothing to insert
        await pilot.press("escape")
        await until(pilot, lambda: _picker(app) is None)
        assert editor.text == ""


async def test_a_signature_alone_is_nothing_to_send_and_no_draft(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    set_signature(sqlite_store, ME, SIGNATURE)
    async with app.run_test(size=(120, 40)) as pilot:
        number, editor = await _open_reply(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: editor.text == signature_block(SIGNATURE))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("Nothing to send" in str(n.message) for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        assert load_draft(sqlite_store, number, ME) is None
        assert ticket_detail(sqlite_store, number).first_response_at is None


async def test_text_typed_before_the_ticket_loads_gets_the_signature_below(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    set_signature(sqlite_store, ME, SIGNATURE)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("r", *"hi")
        pane = app.screen.query_one(DetailPane)
        await until(pilot, lambda: pane.editor.text == "hi" + signature_block(SIGNATURE))
        assert pane.editor.cursor_location == (0, 2)


def test_rank_matches_names_first_then_every_word_of_the_text() -> None:
    from models.desk.canned import CannedInfo

    replies = [
        CannedInfo(1, "Phone call declined", "We keep working by email.", None, 0.0, 1),
        CannedInfo(2, "RSAA request", "A remote access agreement for the server.", None, 0.0, 1),
        CannedInfo(3, "Forum", "Ask the community; email works too.", None, 0.0, 1),
    ]
    assert [r.id for r in rank(replies, "")] == [1, 2, 3]
    assert rank(replies, "rsa")[0].id == 2
    assert [r.id for r in rank(replies, "email")] == [1, 3]  # in the text only
    assert [r.id for r in rank(replies, "remote server")] == [2]
    assert rank(replies, "zzz") == []


def test_the_picker_80x24(sqlite_store: Store, snap_compare: Any) -> None:
    app = make_app(sqlite_store)
    set_signature(sqlite_store, ME, SIGNATURE)

    async def open_picker(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: bool(app.screen.query(QueueView)), seconds=5)
        view = app.screen.query_one(QueueView)
        await until(pilot, lambda: view.loaded, seconds=5)
        _first_unanswered_standard(view)
        await pilot.press("r")
        editor = app.screen.query_one(ReplyEditor)
        await until(pilot, lambda: editor.text == signature_block(SIGNATURE), seconds=5)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: (p := _picker(app)) is not None and bool(p.shown), seconds=5)
        await pilot.press(*"phone")
        await until(
            pilot,
            lambda: (p := _picker(app)) is not None and p.shown[0].name == "Phone call declined",
        )
        await settle(pilot)  # the preview of the highlighted reply painted

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_picker)
