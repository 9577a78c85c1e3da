"""The phone modal (`p`) driven through the real queue screen: grant, decline, log a call."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static, TabbedContent, TextArea

from models.desk import actions
from models.desk.detail import ticket_detail
from models.store.db import Store
from tests.tui_support import FROZEN_NOW, ME, make_app, open_modal, type_into, until
from tui.screens.phone_modal import PhoneModal
from tui.screens.queue import QueueScreen
from tui.widgets.forms import FieldRow

ASKED = 19  # demo (seed 7): open, the customer asked for a call, zone America/Los_Angeles
NO_RESPONSE_YET = 7  # open, no first response yet


async def switch_tab(pilot: Pilot[None], tab: str) -> None:
    await pilot.click(f"#--content-tab-{tab}")
    await pilot.pause()
    assert pilot.app.screen.query_one("#tabs", TabbedContent).active == tab


def row_message(modal: PhoneModal, name: str) -> str:
    return modal.query_one(f"#row-{name}", FieldRow).message


async def test_grant_a_call_in_the_customers_zone(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=ASKED)
        summary = str(modal.query_one("#summary", Static).content)
        assert "The customer asked for a call." in summary and "No phone decisions yet" in summary
        assert modal.query_one("#zone", Input).value == "America/Los_Angeles"
        await type_into(pilot, "phone_number", "+1 (555) 123-4567", keys=True)
        assert row_message(modal, "phone_number") == ""
        await type_into(pilot, "call_time", "2026-03-05 09:00")
        # 09:00 in Los Angeles is 10:00 in Phoenix (company time), shown as you type
        assert "Thu 2026-03-05 10:00 America/Phoenix" in row_message(modal, "call_time")
        await type_into(pilot, "grant_note", "walk through the upgrade")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    detail = ticket_detail(sqlite_store, ASKED)
    assert detail.phone_escalated
    decision = detail.phone_decisions[-1]
    expected = dt.datetime(2026, 3, 5, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")).timestamp()
    assert (decision.decision, decision.phone_number, decision.scheduled_at) == (
        "granted",
        "+1 (555) 123-4567",
        expected,
    )
    assert decision.customer_timezone == "America/Los_Angeles" and decision.technician == ME.email


async def test_decline_queues_the_standard_reply(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=ASKED)
        await switch_tab(pilot, "decline")
        assert "support continues by email" in str(modal.query_one("#send_reply", Checkbox).label)
        assert "we will keep working on it with you by email" in str(
            modal.query_one("#reply-preview", Static).content
        )
        await pilot.press("ctrl+s")  # no reason yet
        await until(pilot, lambda: "say why" in row_message(modal, "reason"))
        await type_into(pilot, "reason", "standard support is by email")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    detail = ticket_detail(sqlite_store, ASKED)
    decision = detail.phone_decisions[-1]
    assert (decision.decision, decision.note) == ("declined", "standard support is by email")
    assert not detail.phone_requested and not detail.phone_escalated
    [queued] = [o for o in detail.outbox if o.status == "queued"]
    assert queued.to_address == detail.requester_email
    # the standard notice is not an answer: the customer still waits, the clock still runs
    assert detail.first_response_at is None and detail.status == "open"
    assert detail.waiting_since is not None


async def test_decline_reply_answers_when_the_technician_says_so(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=ASKED)
        await switch_tab(pilot, "decline")
        hint = modal.query_one("#answers-hint", Static)
        assert "keeps waiting" in str(hint.content)
        modal.query_one("#reply_answers", Checkbox).value = True
        await pilot.pause()
        assert "becomes the first response" in str(hint.content)  # the consequence, shown
        await type_into(pilot, "reason", "standard support is by email")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert any("leaves the waiting queue" in str(n.message) for n in app._notifications)
    detail = ticket_detail(sqlite_store, ASKED)
    assert detail.first_response_at is not None and detail.status == "answered"
    assert "we will keep working on it with you by email" in detail.messages[-1].body


async def test_log_call_counting_as_first_response(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=NO_RESPONSE_YET)
        await switch_tab(pilot, "call")
        await type_into(pilot, "duration", "abc", keys=True)  # the input takes digits only
        assert modal.query_one("#duration", Input).value == ""
        await type_into(pilot, "duration", "12", keys=True)
        modal.query_one("#call-notes", TextArea).text = "Went through the import settings."
        modal.query_one("#counts_first", Checkbox).value = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    detail = ticket_detail(sqlite_store, NO_RESPONSE_YET)
    call = detail.calls[-1]
    assert (call.duration_seconds, call.counts_as_first_response) == (720, True)
    assert detail.first_response_at == FROZEN_NOW and detail.status == "answered"


async def test_bad_number_zone_and_time_are_refused_inline(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        before = ticket_detail(sqlite_store, ASKED)
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=ASKED)
        await type_into(pilot, "phone_number", "call me maybe")
        assert "is not a phone number" in row_message(modal, "phone_number")
        await type_into(pilot, "phone_number", "12")
        assert "a phone number has 5 to 15" in row_message(modal, "phone_number")
        await type_into(pilot, "zone", "Mars/Olympus_Mons")
        assert "is not an IANA time zone" in row_message(modal, "zone")
        await type_into(pilot, "zone", "Europe/Berlin")
        assert row_message(modal, "zone") == ""
        await type_into(pilot, "call_time", "2026-13-01 09:00")
        assert "YYYY-MM-DD HH:MM" in row_message(modal, "call_time")
        await type_into(pilot, "call_time", "2026-03-01 09:00")
        assert "in the past" in row_message(modal, "call_time")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "nothing was saved" in modal.status_text)
        assert app.screen is modal
        await switch_tab(pilot, "call")
        await type_into(pilot, "duration", "0")
        modal.query_one("#counts_first", Checkbox).value = True
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "nobody answered" in row_message(modal, "duration"))
        assert "call notes" in row_message(modal, "call_notes")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    after = ticket_detail(sqlite_store, ASKED)
    assert after.phone_decisions == before.phone_decisions and after.calls == before.calls
    assert after.version == before.version


async def test_closed_ticket_takes_no_phone_decision(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    actions.close(sqlite_store, ASKED, ME, at=FROZEN_NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=ASKED)
        assert modal.mode == "closed"
        assert "is closed" in str(modal.query_one("#closed-note", Static).content)
        await pilot.press("ctrl+s", "escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))


async def test_call_notes_with_a_credential_are_saved_only_after_a_warning(
    sqlite_store: Store,
) -> None:
    from tui.screens.prompts import Confirm

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_modal(pilot, key="p", modal_type=PhoneModal, number=NO_RESPONSE_YET)
        await switch_tab(pilot, "call")
        await type_into(pilot, "duration", "5", keys=True)
        modal.query_one("#call-notes", TextArea).text = "Logged in as admin / Hunter2!"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")  # keep it out of the store
        await until(pilot, lambda: app.screen is modal and "not saved" in status_of(modal))
        assert ticket_detail(sqlite_store, NO_RESPONSE_YET).calls == []
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    [call] = ticket_detail(sqlite_store, NO_RESPONSE_YET).calls
    assert call.notes == "Logged in as admin / Hunter2!"


def status_of(modal: PhoneModal) -> str:
    return str(modal.query_one("#status", Static).render())
