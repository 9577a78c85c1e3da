"""Small typed modals: confirm (bool), ask for a reason (str), schedule a session."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.context import AppContext
from tui.widgets.forms import one_line, run_in_thread

# the worker group of code awaiting one of these with push_screen_wait: such a worker waits for
# a person, not for work (tests/tui_support.settle leaves it alone while its prompt is up)
PROMPT = "prompt"


class Confirm(ModalScreen[bool]):
    """Yes / no. `y` or enter on the default button confirms; `n` / esc cancels."""

    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(
        self, question: str, yes: str = "Yes", no: str = "Cancel", *, default: bool = True
    ) -> None:
        """`default=False` focuses the cancel button (enter keeps things as they are): for
        questions whose "yes" overrides a safety check."""
        super().__init__()
        self.question, self.yes, self.no, self.default = question, yes, no, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question))
            with Horizontal():
                yield Button(self.no, id="no")
                yield Button(self.yes, id="yes", variant="warning")

    def on_mount(self) -> None:
        for button in self.query("#yes" if self.default else "#no"):  # absent when closing
            button.focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AskReason(ModalScreen[str | None]):
    """A one-line reason (required unless `optional`). enter submits, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "reason", *, optional: bool = False) -> None:
        super().__init__()
        self.title_text, self.placeholder, self.optional = title, placeholder, optional

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Input(placeholder=self.placeholder, id="reason", max_length=500)
            yield Static("", id="error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("OK", id="ok", variant="primary")

    def on_mount(self) -> None:
        for box in self.query(Input):  # absent if the app is already shutting down
            box.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value and not self.optional:
            self.query_one("#error", Static).update("A reason is required.")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)


class ScheduleModal(ModalScreen[str | None]):
    """Schedule an installation / training session: a local time in the CUSTOMER's zone.

    The zone is loaded from the ticket's customer whether the detail pane is open or not (a
    customer without one gets a zone field). The time is checked as it is typed with the
    product's one local-time parser: a time in the past, or one a DST change skips or repeats,
    is refused with the reason, and a good one is shown in company time too. Dismisses with the
    outcome line, or None when cancelled.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: AppContext, number: int) -> None:
        super().__init__()
        self.ctx, self.number = ctx, number
        self.zone: str | None = None  # the customer's stored zone, once loaded
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Schedule #{self.number} — loading the customer…", style="bold"))
            yield Input(placeholder="customer's time zone, e.g. Europe/Berlin", id="zone")
            yield Input(placeholder="YYYY-MM-DD HH:MM (customer's local time)", id="when")
            yield Input(placeholder="note (optional)", id="note", max_length=500)
            yield Static("", id="hint")
            yield Static("", id="error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Schedule", id="ok", variant="primary")

    def on_mount(self) -> None:
        from models.desk.triage import customer_zone

        self.query_one("#when", Input).focus()
        run_in_thread(
            self,
            lambda: customer_zone(self.ctx.store, self.number),
            self._loaded,
            self._load_failed,
            group="schedule-load",
        )

    def _loaded(self, zone: str | None) -> None:
        self.zone, self.loaded = zone, True
        title = self.query_one(Label)
        if zone:
            title.update(Text(f"Schedule #{self.number} — local time in {zone} (customer)", "bold"))
        else:
            title.update(
                Text(f"Schedule #{self.number} — the customer has no time zone: give it", "bold")
            )
            self.add_class("-ask-zone")
            self.query_one("#zone", Input).focus()
        self._check()

    def _load_failed(self, exc: Exception) -> None:
        """Not schedulable (a standard ticket) or not loadable: say why; OK does nothing."""
        self.query_one(Label).update(Text(f"Schedule #{self.number}", "bold"))
        self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self.query_one("#error", Static).update(Text(one_line(exc)))

    def _zone_now(self) -> str | None:
        return self.zone or self.query_one("#zone", Input).value.strip() or None

    def _check(self) -> float | None:
        """The start as epoch seconds, or None with the reason shown."""
        from models.clock.timefmt import parse_local_time

        error = self.query_one("#error", Static)
        hint = self.query_one("#hint", Static)
        hint.update("")
        text = self.query_one("#when", Input).value.strip()
        zone = self._zone_now()
        if not self.loaded or not text:
            error.update("")
            return None
        if zone is None:
            error.update(Text("Give the customer's time zone first."))
            return None
        try:
            starts = parse_local_time(text, zone)
        except ValueError as exc:
            error.update(Text(str(exc)))
            return None
        if starts < self.ctx.clock() - 60:
            error.update(Text(f"{text} in {zone} is in the past: give a future time."))
            return None
        error.update("")
        company = dt.datetime.fromtimestamp(starts, ZoneInfo(self.ctx.zone))
        hint.update(Text(f"= {company:%a %Y-%m-%d %H:%M} {self.ctx.zone} (company time)"))
        return starts

    @on(Input.Changed)
    def _changed(self) -> None:
        self._check()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        from models.desk.triage import schedule_appointment

        if not self.loaded:  # still loading, or not schedulable (the reason is shown)
            return
        if self._check() is None:
            if not self.query_one("#when", Input).value.strip():
                self.query_one("#error", Static).update(Text("Give the session's local time."))
            return
        when = self.query_one("#when", Input).value.strip()
        note = self.query_one("#note", Input).value.strip() or None
        zone = self._zone_now()
        ctx = self.ctx

        def job() -> str:
            appointment = schedule_appointment(
                ctx.store,
                self.number,
                ctx.actor,
                when,
                None if self.zone else zone,
                60,
                note,
                at=ctx.clock(),
            )
            local = dt.datetime.fromtimestamp(
                appointment.starts_at, ZoneInfo(appointment.customer_timezone)
            )
            return (
                f"#{self.number} scheduled {local:%a %Y-%m-%d %H:%M} "
                f"{appointment.customer_timezone} (customer's time)"
            )

        run_in_thread(self, job, self.dismiss, self._failed, group="schedule-save")
