"""`a`: the Remote Server Access Agreement of one ticket — record one, or show and revoke it.

The ticket is loaded in a thread worker; record and revoke run in thread workers too, so the
event loop never waits on the store. Every value that came from a customer is shown literally
(`rich.text.Text` over `safe_text` / `safe_line`). There is no password field, ever.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet, Static, TextArea

from models.desk.actions import Conflict, NotFound
from models.desk.detail import RsaaInfo, TicketDetail, ticket_detail
from models.desk.rsaa import (
    METHOD_LABELS,
    METHODS_NEEDING_TOOL,
    NO_CREDENTIALS,
    REVOKE_REASON_LABELS,
    RevokeReason,
    RsaaForm,
    RsaaInvalid,
    RsaaMethod,
    RsaaRevoked,
    record_rsaa,
    revoke_rsaa,
    rsaa_age_text,
    validate,
    validate_field,
)
from models.policy.sanitize import safe_line, safe_text
from models.store.tables import Rsaa, TicketStatus
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

# the form's inputs, in the order they appear (the RadioSet "method" sits between server and tool)
TEXT_FIELDS = (
    "accepted_by_name",
    "accepted_by_email",
    "accepted_at",
    "server",
    "tool_name",
    "source_ip",
    "temp_account",
)
FIELD_ORDER = (*TEXT_FIELDS[:4], "method", *TEXT_FIELDS[4:], "notes")
METHOD_CHOICES = (
    (RsaaMethod.RDP, "RDP / Remote Desktop"),
    (RsaaMethod.TOOL, "Other remote-management tool (name it)"),
    (RsaaMethod.SCREEN_SHARE, "Screen-sharing session (name it; needs a phone escalation)"),
)
REVOKE_CHOICES = (RevokeReason.CUSTOMER_ASKED, RevokeReason.WORK_FINISHED)


class RsaaModal(TicketDialog):
    """Record an RSAA on a ticket, or show the active one and revoke it."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Record / revoke", priority=True, id="rsaa.submit"),
        Binding("escape", "close", "Cancel", id="rsaa.cancel"),
    ]

    def __init__(self, ctx: AppContext, ticket_number: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.number = ticket_number
        self.detail: TicketDetail | None = None
        self.mode = "loading"  # loading | form | active | closed | revoked | missing
        self.busy = False
        self.outcome: str | None = None
        self._touched: set[str] = set()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with FormDialog(id="dialog"):
            yield Static(
                Text(f"Remote server access agreement (RSAA) — ticket #{self.number}"),
                classes="dialog-title",
            )
            yield Static(Text("esc cancel"), classes="dialog-keys", id="keys")
            yield Static("", classes="dialog-status", id="status")
            yield Vertical(Static(Text("loading…"), classes="dialog-note"), id="rsaa-body")

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        store, number = self.ctx.store, self.number
        run_in_thread(
            self,
            lambda: ticket_detail(store, number),
            self._loaded,
            self._load_failed,
            group="rsaa-load",
        )

    async def _loaded(self, detail: TicketDetail) -> None:
        previous = self.detail
        self.detail = detail
        active = detail.active_rsaa
        view = "active" if active else "closed" if detail.status == TicketStatus.CLOSED else "form"
        if (
            previous is not None
            and view == self.mode
            and (view != "active" or previous.active_rsaa == active)
        ):
            return  # a reload after a conflict: keep what was typed, take the new version
        if active is not None:
            await self._show_active(detail, active)
        elif detail.status == TicketStatus.CLOSED:
            await self._show_closed(detail)
        else:
            await self._show_form(detail)

    def _load_failed(self, exc: Exception) -> None:
        self.mode = "missing" if isinstance(exc, NotFound) else self.mode
        self.set_status(one_line(exc))

    async def _replace_body(self, *widgets: Widget) -> None:
        body = self.query_one("#rsaa-body", Vertical)
        await body.remove_children()
        await body.mount_all(widgets)

    # ------------------------------------------------------------------ the record form

    async def _show_form(self, detail: TicketDetail) -> None:
        self.mode = "form"
        zone = self.ctx.zone
        customer = detail.customer
        intro = Text()
        intro.append("Record the customer's consent to reach one server for this ticket only. ")
        intro.append("It ends when revoked or when the ticket is closed.")
        if customer is not None:
            intro.append("\nCustomer: ")
            intro.append(safe_line(customer.name))
            intro.append(f" <{safe_line(customer.email)}>")
        notes = TextArea(id="notes", compact=True, soft_wrap=True, show_line_numbers=False)
        await self._replace_body(
            Static(intro, id="intro", classes="dialog-note"),
            Static(Text(NO_CREDENTIALS + " — no password field, ever."), id="no-credentials"),
            FieldRow(
                "Accepted by",
                Input(
                    id="accepted_by_name",
                    compact=True,
                    placeholder="name of the person who accepted",
                ),
                name="accepted_by_name",
            ),
            FieldRow(
                "Email",
                Input(id="accepted_by_email", compact=True, placeholder="e.g. jo@customer.example"),
                name="accepted_by_email",
            ),
            FieldRow(
                "Accepted at",
                Input(
                    format_wall_minute(self.ctx.clock(), zone),
                    id="accepted_at",
                    compact=True,
                    placeholder="YYYY-MM-DD HH:MM",
                ),
                name="accepted_at",
            ),
            FieldRow(
                "Server",
                Input(
                    id="server", compact=True, placeholder="host name or IP, e.g. srv01.example.com"
                ),
                name="server",
            ),
            FieldRow(
                "Method",
                RadioSet(
                    *(
                        RadioButton(label, value=method == RsaaMethod.RDP, id=f"method-{method}")
                        for method, label in METHOD_CHOICES
                    ),
                    id="method",
                    compact=True,
                ),
                name="method",
            ),
            FieldRow(
                "Tool name",
                Input(id="tool_name", compact=True, placeholder="e.g. AnyDesk, TeamViewer, Zoom"),
                name="tool_name",
            ),
            FieldRow(
                "Source IP",
                Input(
                    self.ctx.config.company.source_ip,
                    id="source_ip",
                    compact=True,
                    tooltip="the company address the customer's firewall allows",
                ),
                name="source_ip",
            ),
            FieldRow(
                "Temp. account",
                Input(
                    id="temp_account", compact=True, placeholder="optional: the account name only"
                ),
                name="temp_account",
            ),
            FieldRow("Notes", notes, name="notes"),
        )
        self.row("accepted_at").set_hint(f"in {zone} (company time)")
        self._method_changed()
        self.set_keys("ctrl+s record · esc cancel · tab next field")
        self.query_one("#accepted_by_name", Input).focus()

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{name}", FieldRow)

    @property
    def method(self) -> str:
        pressed = self.query_one("#method", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return RsaaMethod.RDP
        return pressed.id.removeprefix("method-")

    def _accepted_at(self) -> tuple[float | None, str | None]:
        text = self.query_one("#accepted_at", Input).value
        if not text.strip():
            return None, None  # blank: the time of recording
        try:
            return parse_wall_minute(text, self.ctx.zone), None
        except ValueError as exc:
            return None, str(exc)

    def read_form(self) -> tuple[RsaaForm, dict[str, str]]:
        """The form as typed, and the errors only the screen can find (an unparsable time)."""
        accepted_at, time_error = self._accepted_at()

        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value

        form = RsaaForm(
            ticket=self.number,
            accepted_by_name=value("accepted_by_name"),
            accepted_by_email=value("accepted_by_email"),
            server=value("server"),
            method=self.method,
            accepted_at=accepted_at,
            tool_name=value("tool_name") if self.method in METHODS_NEEDING_TOOL else None,
            source_ip=value("source_ip"),
            temp_account=value("temp_account"),
            notes=self.query_one("#notes", TextArea).text,
        )
        return form, ({"accepted_at": time_error} if time_error else {})

    def check_field(self, name: str) -> str | None:
        """The error for one field as it stands now (validation as you type)."""
        if name == "accepted_at":
            at, error = self._accepted_at()
            if error is None and at is not None:
                error = validate_field("accepted_at", at)
                if error is None and self.detail is not None and at < self.detail.received_at:
                    error = f"accepted before #{self.number} was received"
            return error
        if name == "notes":
            return validate_field("notes", self.query_one("#notes", TextArea).text)
        if name == "method":
            return None
        return validate_field(name, self.query_one(f"#{name}", Input).value)

    def show_field(self, name: str) -> None:
        error = self.check_field(name)
        row = self.row(name)
        if error:
            row.set_error(error)
        elif name == "accepted_at":
            row.set_hint(f"in {self.ctx.zone} (company time)")
        else:
            row.set_error(None)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if self.mode == "form" and name in TEXT_FIELDS:
            # a field shows errors once typed in; blank required fields wait for ctrl+s
            if event.value.strip():
                self._touched.add(name)
            if name in self._touched:
                self.show_field(name)
        elif self.mode == "active" and name == "revoke-note":
            self.row("note").set_error(validate_field("notes", event.value))

    @on(TextArea.Changed, "#notes")
    def _notes_changed(self, _event: TextArea.Changed) -> None:
        if self.mode == "form":
            self.show_field("notes")

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(RadioSet.Changed, "#method")
    def _method_changed(self, _event: RadioSet.Changed | None = None) -> None:
        method = self.method
        self.set_class(method == RsaaMethod.RDP, "-rdp")
        row = self.row("method")
        if (
            method == RsaaMethod.SCREEN_SHARE
            and self.detail is not None
            and not self.detail.phone_escalated
        ):
            row.set_hint(
                f"#{self.number} is not escalated to phone: a screen-sharing session needs a"
                " granted call first (p)",
                kind="warning",
            )
        elif method == RsaaMethod.SCREEN_SHARE:
            row.set_hint("escalated to phone: a screen-sharing session is allowed")
        else:
            row.set_error(None)
        if "tool_name" in self._touched:
            self.show_field("tool_name")

    def show_errors(self, errors: dict[str, str]) -> None:
        """Mark every field: the errors given, and clear the rest."""
        for name in FIELD_ORDER:
            if name == "method":
                continue
            if name in errors:
                self.row(name).set_error(errors[name])
            else:
                self.show_field(name)
        self._touched.update(TEXT_FIELDS)
        unknown = [f"{k}: {v}" for k, v in errors.items() if k not in FIELD_ORDER]
        count = len(errors)
        summary = f"{count} field{'s' if count != 1 else ''} to fix — nothing was saved"
        self.set_status("; ".join([summary, *unknown]))
        first = next((name for name in FIELD_ORDER if name in errors), None)
        if first is not None:
            self.query_one(f"#{first}").focus()

    def _record(self) -> None:
        assert self.detail is not None
        form, errors = self.read_form()
        errors = {**validate(form, now=self.ctx.clock()), **errors}
        if errors:
            self.show_errors(errors)
            return
        ctx, version = self.ctx, self.detail.version
        self.busy = True
        self.set_status("recording…", ok=True)
        run_in_thread(
            self,
            lambda: record_rsaa(
                ctx.store,
                form,
                ctx.actor,
                config=ctx.config,
                expected_version=version,
                at=ctx.clock(),
            ),
            self._recorded,
            self._record_failed,
            group="rsaa-save",
        )

    def _recorded(self, rsaa: Rsaa) -> None:
        self.busy = False
        method = METHOD_LABELS.get(rsaa.method, rsaa.method)
        tool = f" ({safe_line(rsaa.tool_name)})" if rsaa.tool_name else ""
        self.dismiss(
            f"RSAA recorded on #{self.number}: {safe_line(rsaa.server)} by {method}{tool},"
            f" accepted by {safe_line(rsaa.accepted_by_email)}"
        )

    def _record_failed(self, exc: Exception) -> None:
        self.busy = False
        if isinstance(exc, RsaaInvalid):
            self.show_errors(exc.errors)
            return
        if isinstance(exc, Conflict):
            self.set_status(f"{one_line(exc)} — reloaded: check, then ctrl+s again")
            self.load()
            return
        self.set_status(f"not recorded: {one_line(exc)}")

    # ------------------------------------------------------------------ the active agreement

    def agreement_table(self, rsaa: RsaaInfo) -> Table:
        zone = self.ctx.zone
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        method = METHOD_LABELS.get(rsaa.method, rsaa.method)
        if rsaa.tool_name:
            method = f"{method}: {safe_line(rsaa.tool_name)}"
        rows = [
            (
                "Accepted by",
                f"{safe_line(rsaa.accepted_by_name)} <{safe_line(rsaa.accepted_by_email)}>",
            ),
            (
                "Accepted at",
                f"{format_wall_minute(rsaa.accepted_at, zone)} ({zone}) —"
                f" {rsaa_age_text(rsaa, self.ctx.clock())}",
            ),
            ("Server", safe_line(rsaa.server)),
            ("Method", method),
            ("Source IP", safe_line(rsaa.source_ip)),
            ("Temp. account", safe_line(rsaa.temp_account) or "none"),
            (
                "Recorded by",
                f"{safe_line(rsaa.recorded_by)} at {format_wall_minute(rsaa.recorded_at, zone)}",
            ),
        ]
        for label, value in rows:
            table.add_row(Text(label), Text(value))
        if rsaa.notes:
            table.add_row(Text("Notes"), Text(safe_text(rsaa.notes)))
        return table

    async def _show_active(self, detail: TicketDetail, rsaa: RsaaInfo) -> None:
        self.mode = "active"
        await self._replace_body(
            Static(Text(f"Active agreement #{rsaa.id}", style="bold"), classes="dialog-note"),
            Static(self.agreement_table(rsaa), id="agreement"),
            Static(
                Text("Revoke it when the customer asks or the work is done:"), classes="dialog-note"
            ),
            FieldRow(
                "Reason",
                RadioSet(
                    *(
                        RadioButton(
                            REVOKE_REASON_LABELS[reason], value=i == 0, id=f"reason-{reason}"
                        )
                        for i, reason in enumerate(REVOKE_CHOICES)
                    ),
                    id="reason",
                    compact=True,
                ),
                name="reason",
            ),
            FieldRow(
                "Note", Input(id="revoke-note", compact=True, placeholder="optional"), name="note"
            ),
            Static(Text(NO_CREDENTIALS), id="no-credentials"),
        )
        self.set_keys("ctrl+s revoke · esc close without revoking")
        self.query_one("#reason", RadioSet).focus()

    @property
    def revoke_reason(self) -> str:
        pressed = self.query_one("#reason", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return RevokeReason.CUSTOMER_ASKED
        return pressed.id.removeprefix("reason-")

    def _revoke(self) -> None:
        assert self.detail is not None
        rsaa = self.detail.active_rsaa
        assert rsaa is not None
        note = self.query_one("#revoke-note", Input).value
        error = validate_field("notes", note)
        if error:
            self.row("note").set_error(error)
            self.set_status("fix the note — nothing was revoked")
            return
        ctx, version, reason = self.ctx, self.detail.version, self.revoke_reason
        self.busy = True
        self.set_status("revoking…", ok=True)
        run_in_thread(
            self,
            lambda: revoke_rsaa(
                ctx.store,
                rsaa.id,
                ctx.actor,
                reason,
                note=note.strip() or None,
                expected_version=version,
                at=ctx.clock(),
            ),
            self._revoked,
            self._revoke_failed,
            group="rsaa-save",
        )

    async def _revoked(self, result: RsaaRevoked) -> None:
        self.busy = False
        self.mode = "revoked"
        reason = REVOKE_REASON_LABELS.get(result.rsaa.revoke_reason or "", "")
        self.outcome = (
            f"RSAA #{result.rsaa.id} on #{self.number} revoked ({reason.lower()}):"
            f" {safe_line(result.reminder)}"
        )
        self.set_status(None)
        await self._replace_body(
            Static(
                Text(f"Agreement #{result.rsaa.id} revoked ({reason.lower()})."),
                classes="dialog-note",
            ),
            Static(
                Text("Now, on the customer's side: " + safe_line(result.reminder)), id="reminder"
            ),
        )
        self.set_keys("enter or esc close")

    def _revoke_failed(self, exc: Exception) -> None:
        self.busy = False
        if isinstance(exc, RsaaInvalid) and "note" in exc.errors:
            self.row("note").set_error(exc.errors["note"])
        if isinstance(exc, Conflict):
            self.set_status(f"{one_line(exc)} — reloaded: check, then ctrl+s again")
            self.load()
            return
        self.set_status(f"not revoked: {one_line(exc)}")

    # ------------------------------------------------------------------ closed ticket

    async def _show_closed(self, detail: TicketDetail) -> None:
        self.mode = "closed"
        text = Text(f"#{self.number} is closed: no RSAA can be recorded on a closed ticket.")
        if detail.rsaas:
            last = detail.rsaas[-1]
            reason = REVOKE_REASON_LABELS.get(last.revoke_reason or "", "revoked")
            text.append(
                f"\nIts last agreement (#{last.id}, {safe_line(last.server)}) was revoked:"
                f" {reason.lower()}, {rsaa_age_text(last, self.ctx.clock())}."
            )
        text.append("\nReopen the ticket first (o, from the all-tickets view) to record one.")
        await self._replace_body(Static(text, classes="dialog-warning"))
        self.set_keys("esc close")

    # ------------------------------------------------------------------ keys

    def action_submit(self) -> None:
        if self.busy or self.detail is None:
            return
        if self.mode == "form":
            self._record()
        elif self.mode == "active":
            self._revoke()
        elif self.mode == "revoked":
            self.dismiss(self.outcome)

    def action_close(self) -> None:
        if self.mode == "revoked":
            self.dismiss(self.outcome)
        else:
            self.dismiss(None)

    def key_enter(self) -> None:
        if self.mode == "revoked":
            self.dismiss(self.outcome)
