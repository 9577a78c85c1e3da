"""The RSAA modal (`a`) driven through the real queue screen: record, refuse, revoke, close."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, Static

from models.desk import actions
from models.desk.detail import ticket_detail
from models.desk.rsaa import NO_CREDENTIALS, active_rsaa
from models.store.db import Store
from tests.tui_support import FROZEN_NOW, ME, make_app, open_modal, type_into, until
from tui.app import ShiftdeskApp
from tui.screens.queue import QueueScreen
from tui.screens.rsaa_modal import RsaaModal
from tui.widgets.forms import FieldRow
from tui.widgets.queue_view import QueueView

OPEN_PLAIN = 1  # demo (seed 7): open, not escalated to phone, no RSAA
ESCALATED = 4  # open, escalated to phone, no RSAA
WITH_RSAA = 5  # answered, with an active RSAA


def row_message(modal: RsaaModal, name: str) -> str:
    return modal.query_one(f"#row-{name}", FieldRow).message


def screen_text(app: ShiftdeskApp) -> str:
    """What the modal's Static widgets show, as plain text (tables rendered too)."""
    console = Console(width=200, record=True, file=io.StringIO())
    for static in app.screen.query(Static):
        console.print(static.content)
    return console.export_text()


async def fill_good_form(pilot: Pilot[None]) -> None:
    await type_into(pilot, "accepted_by_name", "Jo Customer")
    await type_into(pilot, "accepted_by_email", "jo@customer.example")
    await type_into(pilot, "server", "srv01.customer.example")
    await type_into(pilot, "temp_account", "shiftdesk-support")


async def test_record_with_good_input(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        assert modal.mode == "form"
        assert NO_CREDENTIALS in screen_text(app)
        assert app.screen.query_one("#source_ip", Input).value == "203.0.113.10"
        await fill_good_form(pilot)
        assert all(row_message(modal, name) == "" for name in ("accepted_by_email", "server"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    rsaa = active_rsaa(sqlite_store, OPEN_PLAIN)
    assert rsaa is not None
    assert (rsaa.server, rsaa.method, rsaa.accepted_by_email) == (
        "srv01.customer.example",
        "rdp",
        "jo@customer.example",
    )
    assert rsaa.source_ip == "203.0.113.10" and rsaa.temp_account == "shiftdesk-support"
    assert rsaa.accepted_at == FROZEN_NOW  # "now" in the company zone, to the minute
    detail = ticket_detail(sqlite_store, OPEN_PLAIN)
    assert detail.audit[-1].action == "rsaa_record" and detail.audit[-1].actor == ME.email


async def test_bad_input_shows_inline_errors_and_saves_nothing(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        await type_into(pilot, "accepted_by_email", "jo@", keys=True)
        assert "is not an email address" in row_message(modal, "accepted_by_email")
        await type_into(pilot, "server", "https://srv01/")
        assert "not a URL" in row_message(modal, "server")
        await type_into(pilot, "server", "srv01:3389", keys=True)
        assert "leave the port out" in row_message(modal, "server")
        await type_into(pilot, "source_ip", "999.1.1.1")
        assert "not an IPv4 or IPv6 address" in row_message(modal, "source_ip")
        await type_into(pilot, "accepted_at", "yesterday")
        assert "YYYY-MM-DD HH:MM" in row_message(modal, "accepted_at")
        await type_into(pilot, "temp_account", "admin password=Hunter2")
        assert "no password" in row_message(modal, "temp_account")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "nothing was saved" in modal.status_text)
        assert app.screen is modal
        assert "enter the name" in row_message(modal, "accepted_by_name")
        assert app.screen.focused is not None and app.screen.focused.id == "accepted_by_name"
        # fixing one field clears its line as you type
        await type_into(pilot, "accepted_by_email", "jo@customer.example")
        assert row_message(modal, "accepted_by_email") == ""
    assert active_rsaa(sqlite_store, OPEN_PLAIN) is None
    assert all(a.action != "rsaa_record" for a in ticket_detail(sqlite_store, OPEN_PLAIN).audit)


async def test_screen_share_refused_without_phone_escalation(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        await fill_good_form(pilot)
        modal.query_one("#method-screen_share", RadioButton).value = True
        await pilot.pause()
        assert "not escalated to phone" in row_message(modal, "method")
        await pilot.press("ctrl+s")  # no tool named yet: refused inline first
        await until(pilot, lambda: "name the meeting tool" in row_message(modal, "tool_name"))
        await type_into(pilot, "tool_name", "Zoom")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "not recorded" in modal.status_text)
        assert "escalated to phone first" in modal.status_text
        assert app.screen is modal
    assert active_rsaa(sqlite_store, OPEN_PLAIN) is None


async def test_screen_share_allowed_after_phone_escalation(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=ESCALATED)
        await fill_good_form(pilot)
        modal.query_one("#method-screen_share", RadioButton).value = True
        await pilot.pause()
        assert "not escalated" not in row_message(modal, "method")
        await type_into(pilot, "tool_name", "Zoom")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    rsaa = active_rsaa(sqlite_store, ESCALATED)
    assert rsaa is not None and (rsaa.method, rsaa.tool_name) == ("screen_share", "Zoom")


async def test_revoke_shows_the_reminder(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        before = active_rsaa(sqlite_store, WITH_RSAA)
        assert before is not None
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=WITH_RSAA)
        assert modal.mode == "active"
        shown = screen_text(app)
        assert before.server in shown and before.accepted_by_email in shown
        assert "active for" in shown
        await pilot.press("down", "enter")  # the reason: work finished
        await pilot.press("ctrl+s")
        await until(pilot, lambda: modal.mode == "revoked")
        reminder = str(modal.query_one("#reminder", Static).content)
        assert (
            "Remove the" in reminder and "firewall rule" in reminder and before.server in reminder
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    assert active_rsaa(sqlite_store, WITH_RSAA) is None
    revoked = ticket_detail(sqlite_store, WITH_RSAA).rsaas[-1]
    assert (revoked.revoke_reason, revoked.revoked_by, revoked.revoked_at) == (
        "work_finished",
        ME.email,
        FROZEN_NOW,
    )


async def test_close_revokes_and_the_queue_flag_follows(sqlite_store: Store) -> None:
    # live: the change feed brings each change back to the queue, as it does in production
    app = make_app(sqlite_store, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.query_one(QueueView)

        def flag() -> bool:
            rows = [view.row_at(i) for i in range(view.visible_count)]
            [row] = [r for r in rows if r is not None and r.number == OPEN_PLAIN]
            return row.rsaa_active

        await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        assert not flag()
        await fill_good_form(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await until(pilot, flag)

        await asyncio.to_thread(actions.close, sqlite_store, OPEN_PLAIN, ME, at=FROZEN_NOW)
        await until(pilot, lambda: not flag())
        revoked = ticket_detail(sqlite_store, OPEN_PLAIN).rsaas[-1]
        assert revoked.revoke_reason == "ticket_closed"

        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        assert modal.mode == "closed"
        assert "no RSAA can be recorded on a closed ticket" in screen_text(app)
        await pilot.press("ctrl+s", "escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    assert active_rsaa(sqlite_store, OPEN_PLAIN) is None


async def test_customer_text_is_shown_literally(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        await type_into(pilot, "accepted_by_name", "[bold red]Jo[/]")
        await type_into(pilot, "accepted_by_email", "jo@customer.example")
        await type_into(pilot, "server", "srv01.customer.example")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        modal = await open_modal(pilot, key="a", modal_type=RsaaModal, number=OPEN_PLAIN)
        assert modal.mode == "active"
        assert "[bold red]Jo[/]" in screen_text(app)
        await pilot.press("escape")
