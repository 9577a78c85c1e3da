"""`p`: phone support at the technician's discretion — grant a call, decline it, or log one.

Loads the ticket in a thread worker and shows whether the customer asked for a call and what
was decided before; three tabs hold the forms and `ctrl+s` submits the active one. Every store
call runs in a thread worker; errors are shown inline and nothing is saved on error.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, Input, Static, TabbedContent, TabPane, TextArea

from models.desk.actions import ActionError, Conflict
from models.desk.calls import (
    MAX_CALL_SECONDS,
    CallResult,
    PhoneResult,
    check_phone_number,
    check_timezone_name,
    decline_phone,
    decline_reply_text,
    grant_phone,
    log_call,
)
from models.desk.detail import TicketDetail, ticket_detail
from models.desk.work import LooksLikeSecret
from models.policy.sanitize import safe_line, safe_text
from models.store.tables import TicketStatus
from tui.context import AppContext
from tui.widgets.forms import (
    FieldRow,
    FormDialog,
    TicketDialog,
    format_wall_minute,
    one_line,
    parse_wall_minute,
    run_in_thread,
)

R = TypeVar("R")
HISTORY_LINES = 4  # the latest decisions and calls; the detail pane has the full history


# what declining with the standard reply does to the ticket, said before it is saved
_ANSWERS_HINT = {
    False: "The ticket keeps waiting in the queue and its first-response clock keeps running:"
    " the notice is not an answer.",
    True: "The reply becomes the first response (if none yet) and the ticket leaves the waiting"
    " queue.",
}


def _stamp(at: float, zone: str) -> str:
    return dt.datetime.fromtimestamp(at, zoneinfo.ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


class PhoneModal(TicketDialog):
    """Grant, decline or log a call on one ticket."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit", priority=True, id="phone.submit"),
        Binding("escape", "close", "Cancel", id="phone.cancel"),
    ]

    def __init__(self, ctx: AppContext, ticket_number: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.number = ticket_number
        self.detail: TicketDetail | None = None
        self.mode = "loading"  # loading | form | closed | missing
        self.busy = False
        # the save to run again, with the technician's go-ahead, after a credential warning
        self._retry_with_secret: Callable[[], None] | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with FormDialog(id="dialog"):
            yield Static(Text(f"Phone support — ticket #{self.number}"), classes="dialog-title")
            yield Static(Text("esc cancel"), classes="dialog-keys", id="keys")
            yield Static("", classes="dialog-status", id="status")
            yield Static(Text("loading…"), id="summary", classes="dialog-note")
            yield Static("", id="closed-note", classes="dialog-warning")
            with TabbedContent(id="tabs"):
                yield from self.panes()

    def panes(self) -> ComposeResult:
        with TabPane("Grant", id="grant"):
            yield FieldRow(
                "Phone number",
                Input(id="phone_number", compact=True, placeholder="e.g. +1 555 123 4567"),
                name="phone_number",
            )
            yield FieldRow(
                "Customer zone",
                Input(id="zone", compact=True, placeholder="IANA zone, e.g. Europe/Berlin"),
                name="zone",
            )
            yield FieldRow(
                "Call time",
                Input(
                    id="call_time", compact=True, placeholder="YYYY-MM-DD HH:MM, customer's zone"
                ),
                name="call_time",
            )
            yield FieldRow(
                "Note",
                Input(id="grant_note", compact=True, placeholder="optional"),
                name="grant_note",
            )
        with TabPane("Decline", id="decline"):
            yield FieldRow(
                "Reason",
                Input(
                    id="reason",
                    compact=True,
                    placeholder="why (internal, not sent to the customer)",
                ),
                name="reason",
            )
            yield Checkbox(
                "also send the standard reply that support continues by email",
                value=True,
                id="send_reply",
                compact=True,
            )
            yield Static(
                Text(safe_text(decline_reply_text(self.ctx.config)).rstrip()), id="reply-preview"
            )
            yield Checkbox(
                "the reply answers the customer (first response)",
                value=False,
                id="reply_answers",
                compact=True,
            )
            yield Static(Text(_ANSWERS_HINT[False]), id="answers-hint", classes="dialog-note")
        with TabPane("Log call", id="call"):
            yield FieldRow(
                "Duration (min)",
                Input(id="duration", compact=True, type="integer", placeholder="minutes, e.g. 15"),
                name="duration",
            )
            yield FieldRow(
                "Call notes",
                TextArea(id="call-notes", compact=True, soft_wrap=True),
                name="call_notes",
            )
            yield Checkbox(
                "counts as the first response", value=False, id="counts_first", compact=True
            )
            yield Static("", id="first-hint", classes="dialog-note")

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        store, number = self.ctx.store, self.number
        run_in_thread(
            self,
            lambda: ticket_detail(store, number),
            self._loaded,
            self._load_failed,
            group="phone-load",
        )

    def _loaded(self, detail: TicketDetail) -> None:
        first_load = self.detail is None
        self.detail = detail
        self.query_one("#summary", Static).update(self.summary(detail))
        if detail.status == TicketStatus.CLOSED:
            self.mode = "closed"
            self.remove_class("-ready")
            self.query_one("#closed-note", Static).update(
                Text(
                    f"#{self.number} is closed: reopen it before you grant, decline or log a call."
                )
            )
            self.set_keys("esc close")
            return
        self.mode = "form"
        self.add_class("-ready")
        self.query_one("#closed-note", Static).update("")
        if detail.first_response_at is not None:
            self.query_one("#first-hint", Static).update(
                Text(
                    f"#{self.number} already has its first response"
                    f" ({_stamp(detail.first_response_at, self.ctx.zone)}): a call won't replace it"
                )
            )
        if not first_load:
            return  # a reload after a conflict: keep what was typed, take the new version
        previous_number = next(
            (d.phone_number for d in reversed(detail.phone_decisions) if d.phone_number), ""
        )
        self.query_one("#phone_number", Input).value = previous_number or ""
        customer_zone = detail.customer.timezone if detail.customer else None
        self.query_one("#zone", Input).value = customer_zone or ""
        self.row("call_time").set_hint("blank: no time agreed yet")
        self.set_keys("ctrl+s submit this tab · shift+tab to the tabs, ←/→ switch · esc cancel")
        self.query_one("#phone_number", Input).focus()

    def _load_failed(self, exc: Exception) -> None:
        if self.detail is None:
            self.mode = "missing"
        self.set_status(one_line(exc))

    def summary(self, detail: TicketDetail) -> Text:
        """Did the customer ask, and what was decided before (customer text shown literally)."""
        zone = self.ctx.zone
        text = Text()
        if detail.customer is not None:
            text.append("Customer: ")
            text.append(safe_line(detail.customer.name))
            text.append(f" <{safe_line(detail.customer.email)}>")
            text.append(f" · zone {safe_line(detail.customer.timezone) or 'unknown'}\n")
        if detail.phone_requested:
            text.append("The customer asked for a call.", style="bold")
        else:
            text.append("The customer has not asked for a call.")
        if detail.phone_escalated:
            text.append(" Phone support was granted.")
        events: list[tuple[float, Text]] = []
        for decision in detail.phone_decisions:
            line = Text(
                f"{_stamp(decision.created_at, zone)} {decision.decision} by"
                f" {safe_line(decision.technician)}"
            )
            if decision.phone_number:
                line.append(f": {safe_line(decision.phone_number)}")
            if decision.scheduled_at is not None:
                call_zone = decision.customer_timezone or zone
                line.append(
                    f" at {format_wall_minute(decision.scheduled_at, call_zone)} {call_zone}"
                )
            if decision.note:
                line.append(f" — {safe_line(decision.note)}")
            events.append((decision.created_at, line))
        for call in detail.calls:
            line = Text(
                f"{_stamp(call.called_at, zone)} call by {safe_line(call.technician)},"
                f" {call.duration_seconds // 60} min"
            )
            if call.counts_as_first_response:
                line.append(" (first response)")
            events.append((call.called_at, line))
        events.sort(key=lambda event: event[0])
        if events:
            shown = events[-HISTORY_LINES:]
            more = len(events) - len(shown)
            text.append(
                f"\nEarlier ({zone}){f', {more} older in the detail pane' if more else ''}:"
            )
            for _at, line in shown:
                text.append("\n  • ")
                text.append_text(line)
        else:
            text.append("\nNo phone decisions yet.")
        return text

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{name}", FieldRow)

    def value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    # ------------------------------------------------------------------ validation

    def check_grant(self) -> tuple[dict[str, str], str | None, float | None, str | None]:
        """Errors by field, the phone number, the call time and the zone as the model wants them."""
        errors: dict[str, str] = {}
        number: str | None = None
        try:
            number = check_phone_number(self.value("phone_number"))
        except ActionError as exc:
            errors["phone_number"] = str(exc)
        zone_text = self.value("zone").strip()
        zone: str | None = None
        if zone_text:
            try:
                zone = check_timezone_name(zone_text)
            except ActionError as exc:
                errors["zone"] = str(exc)
        scheduled: float | None = None
        time_text = self.value("call_time").strip()
        if time_text:
            if zone is None and "zone" not in errors:
                errors["zone"] = "give the customer's time zone for the call (e.g. Europe/Berlin)"
            elif zone is not None:
                try:
                    scheduled = parse_wall_minute(time_text, zone)
                except ValueError as exc:
                    errors["call_time"] = str(exc)
                else:
                    if scheduled < self.ctx.clock() - 60:
                        errors["call_time"] = "the call time is in the past"
        return errors, number, scheduled, zone

    def show_grant(self, names: set[str], *, force: bool = False) -> dict[str, str]:
        errors, _number, scheduled, zone = self.check_grant()
        for name in ("phone_number", "zone", "call_time"):
            if name not in names and not force:
                continue
            row = self.row(name)
            if name in errors:
                row.set_error(errors[name])
            elif name == "call_time" and scheduled is not None and zone is not None:
                mine = self.ctx.zone
                row.set_hint(f"= {_stamp(scheduled, mine)} {mine} (company time)")
            elif name == "call_time":
                row.set_hint("blank: no time agreed yet")
            else:
                row.set_error(None)
        return errors

    def check_decline(self) -> dict[str, str]:
        if not " ".join(self.value("reason").split()):
            return {"reason": "say why the call is declined"}
        return {}

    def check_call(self) -> tuple[dict[str, str], int | None]:
        errors: dict[str, str] = {}
        minutes: int | None = None
        text = self.value("duration").strip()
        if not text:
            errors["duration"] = "how long was the call, in minutes?"
        else:
            try:
                minutes = int(text)
            except ValueError:
                errors["duration"] = f"{text!r} is not a whole number of minutes"
            else:
                limit = MAX_CALL_SECONDS // 60
                if not 0 <= minutes <= limit:
                    errors["duration"] = f"a call lasts 0 to {limit} minutes"
                elif minutes == 0 and self.query_one("#counts_first", Checkbox).value:
                    errors["duration"] = "a call nobody answered can't be the first response"
        if not self.query_one("#call-notes", TextArea).text.strip():
            errors["call_notes"] = "write what was said (call notes)"
        return errors, minutes

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, _event: TabbedContent.TabActivated) -> None:
        self.set_status(None)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if self.mode != "form":
            return
        name = event.input.id or ""
        if name in ("phone_number", "zone", "call_time") and event.value.strip():
            self.show_grant({name, "call_time"} if name == "zone" else {name})
        elif name == "call_time":
            self.show_grant({"call_time"})
        elif name == "reason" and event.value.strip():
            self.row("reason").set_error(None)
        elif name == "duration" and event.value.strip():
            errors, _ = self.check_call()
            self.row("duration").set_error(errors.get("duration"))

    @on(TextArea.Changed, "#call-notes")
    def _notes_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.text.strip():
            self.row("call_notes").set_error(None)

    @on(Checkbox.Changed, "#send_reply")
    def _reply_toggled(self, event: Checkbox.Changed) -> None:
        self.set_class(not event.value, "-no-reply")

    @on(Checkbox.Changed, "#reply_answers")
    def _answers_toggled(self, event: Checkbox.Changed) -> None:
        self.query_one("#answers-hint", Static).update(Text(_ANSWERS_HINT[event.value]))

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.row(name).set_error(message)
        count = len(errors)
        self.set_status(f"{count} field{'s' if count != 1 else ''} to fix — nothing was saved")
        first = next(iter(errors))
        target = "call-notes" if first == "call_notes" else first
        self.query_one(f"#{target}").focus()

    # ------------------------------------------------------------------ submit

    def action_submit(self) -> None:
        if self.busy or self.detail is None or self.mode != "form":
            return
        tab = self.active_tab
        if tab == "grant":
            self._grant()
        elif tab == "decline":
            self._decline()
        elif tab == "call":
            self._log_call()

    def _grant(self, allow_secret: bool = False) -> None:
        assert self.detail is not None
        errors = self.show_grant(set(), force=True)
        if errors:
            self.show_errors(errors)
            return
        _errors, number, scheduled, zone = self.check_grant()
        assert number is not None
        ctx, version, ticket = self.ctx, self.detail.version, self.number
        note = self.value("grant_note")

        def job() -> PhoneResult:
            return grant_phone(
                ctx.store,
                ticket,
                ctx.actor,
                phone_number=number,
                scheduled_at=scheduled,
                customer_timezone=zone,
                note=note,
                expected_version=version,
                at=ctx.clock(),
                allow_secret=allow_secret,
            )

        when = f" at {format_wall_minute(scheduled, zone)} {zone}" if scheduled and zone else ""
        granted = f"Phone granted on #{ticket}: call {number}{when}"
        self._retry_with_secret = lambda: self._grant(allow_secret=True)
        self._run(job, lambda _result: granted, "saving the grant…")

    def _decline(self, allow_secret: bool = False) -> None:
        assert self.detail is not None
        errors = self.check_decline()
        if errors:
            self.show_errors(errors)
            return
        ctx, version, ticket = self.ctx, self.detail.version, self.number
        reason = self.value("reason")
        send = self.query_one("#send_reply", Checkbox).value
        answers = send and self.query_one("#reply_answers", Checkbox).value

        def job() -> PhoneResult:
            return decline_phone(
                ctx.store,
                ticket,
                ctx.actor,
                reason=reason,
                send_reply=send,
                reply_answers=answers,
                expected_version=version,
                at=ctx.clock(),
                config=ctx.config,
                allow_secret=allow_secret,
            )

        outcome = f"Phone declined on #{ticket}"
        if send:
            outcome += f"; reply to {safe_line(self.detail.requester_email)} queued"
            outcome += (
                " (the first response: the ticket leaves the waiting queue)"
                if answers
                else " (the ticket keeps waiting for an answer)"
            )
        self._retry_with_secret = lambda: self._decline(allow_secret=True)
        self._run(job, lambda _result: outcome, "saving the decline…")

    def _log_call(self, allow_secret: bool = False) -> None:
        assert self.detail is not None
        errors, minutes = self.check_call()
        if errors:
            self.show_errors(errors)
            return
        assert minutes is not None
        ctx, version, ticket = self.ctx, self.detail.version, self.number
        notes = self.query_one("#call-notes", TextArea).text
        counts = self.query_one("#counts_first", Checkbox).value

        def job() -> CallResult:
            return log_call(
                ctx.store,
                ticket,
                ctx.actor,
                duration_seconds=minutes * 60,
                notes=notes,
                counts_as_first_response=counts,
                expected_version=version,
                at=ctx.clock(),
                config=ctx.config,
                allow_secret=allow_secret,
            )

        def outcome(result: CallResult) -> str:
            text = f"Call logged on #{ticket}: {minutes} min"
            if result.first_response:
                return text + ", counted as the first response"
            if counts:
                return text + " (the ticket already had its first response)"
            return text

        self._retry_with_secret = lambda: self._log_call(allow_secret=True)
        self._run(job, outcome, "saving the call…")

    def _run(self, job: Callable[[], R], outcome: Callable[[R], str], working: str) -> None:
        def done(result: R) -> None:
            self.busy = False
            self.dismiss(outcome(result))

        self.busy = True
        self.set_status(working, ok=True)
        run_in_thread(self, job, done, self._failed, group="phone-save")

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        if isinstance(exc, LooksLikeSecret):
            self._confirm_secret(exc)
            return
        if isinstance(exc, Conflict):
            self.set_status(f"{one_line(exc)} — reloaded: check, then ctrl+s again")
            self.load()
            return
        self.set_status(f"not saved: {one_line(exc)}")

    def _confirm_secret(self, exc: LooksLikeSecret) -> None:
        """Like a reply or a note: a text that seems to carry a credential is saved only when the
        technician says so (the history then records that it was saved despite the warning)."""
        from tui.screens.prompts import Confirm

        retry = self._retry_with_secret

        def answered(yes: bool | None) -> None:
            if yes and retry is not None:
                retry()
            else:
                self.set_status(f"not saved: the {exc.what} seems to contain {exc.found}")

        self.app.push_screen(
            Confirm(
                f"The {exc.what} seems to contain {exc.found}. shiftdesk never stores "
                "credentials: share them with the customer another way. Save it anyway?",
                yes="Save anyway",
                default=False,
            ),
            answered,
        )

    # ------------------------------------------------------------------ keys

    def action_close(self) -> None:
        self.dismiss(None)
