"""The detail pane: the ticket, its customer and entitlement, the thread, history, and the editor.

Everything customer-supplied is rendered as `rich.text.Text` after `models.policy.sanitize`, never
as markup. Loading runs in a thread worker; the pane shows the last loaded state meanwhile.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Label, Static, TextArea

from models.desk.actions import ActionError, Conflict
from models.desk.canned import has_signature, only_signature, signature_block
from models.desk.detail import TicketDetail
from models.desk.queue import QueueRow
from models.policy.entitlement import Notice
from models.policy.sanitize import safe_line, safe_text
from tui.registry import Owner, bindings
from tui.screens.prompts import PROMPT
from tui.widgets.countdown import countdown

if TYPE_CHECKING:
    from tui.app import ShiftdeskApp

DRAFT_SAVE_DELAY = 0.8  # seconds of quiet typing before the draft is written to the store


class DetailLoaded(Message):
    def __init__(
        self,
        detail: TicketDetail | None,
        notices: list[Notice],
        draft: str | None,
        error: str | None = None,
        *,
        signature: str | None = None,
    ) -> None:
        super().__init__()
        self.detail = detail
        self.notices = notices
        self.draft = draft
        self.error = error
        self.signature = signature  # the technician's, put under a new reply


def when(ts: float | None, zone: ZoneInfo) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts, zone).strftime("%a %d %b %H:%M")


class ReplyEditor(TextArea):
    """The reply / note editor: ctrl+s sends, ctrl+t inserts a canned reply, esc leaves (the
    draft is kept). ctrl+t is free in TextArea's own keys (ctrl+a/e/k/u/w/x/c/v/z/y/d are not)."""

    BINDINGS = bindings(Owner.EDITOR)  # tui.registry

    class Send(Message):
        pass

    class Leave(Message):
        pass

    class Template(Message):
        """Open the canned reply picker."""

    def action_send(self) -> None:
        self.post_message(self.Send())

    def action_template(self) -> None:
        self.post_message(self.Template())

    def action_leave(self) -> None:
        self.post_message(self.Leave())


class DetailPane(Vertical):
    """The ticket, top to bottom; while writing, the latest customer message stays on screen
    between the thread and the editor (quoted, scrolling on its own), and the editor takes a
    bounded share of the height, so neither pushes the other off an 80x24 screen."""

    DEFAULT_CSS = """
    DetailPane { border-left: solid $panel-lighten-2; }
    DetailPane #detail-scroll { height: 1fr; min-height: 2; padding: 0 1; }
    DetailPane #reply-context { height: auto; max-height: 40%; display: none; padding: 0 1;
        border-top: solid $panel-lighten-2; }
    DetailPane.-editing.-has-context #reply-context { display: block; }
    DetailPane #editor-box { height: 45%; min-height: 10; max-height: 18; display: none;
        border-top: solid $accent; }
    DetailPane.-editing #editor-box { display: block; }
    DetailPane #editor-title { width: 1fr; padding: 0 1; color: $accent; text-style: bold; }
    DetailPane ReplyEditor { height: 1fr; }
    """

    class EditorClosed(Message):
        """The editor was left or its text sent: the focus is on the thread now."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.number: int | None = None
        self.detail: TicketDetail | None = None
        self.notices: list[Notice] = []
        self.mode = "reply"  # reply | note
        self._draft_timer: Timer | None = None
        self._loading_editor = False
        self._pending_edit: str | None = None  # `r`/`n` pressed before the ticket loaded
        self._head_plain = ""
        # the ticket as the technician saw it when starting to write: a reply is checked
        # against this version, not the one the pane has refreshed to since
        self._base_version: int | None = None
        self._base_answered = False  # already answered then: the reply is a follow-up
        self._changed_while_writing: str | None = None
        self._editor_title = ""
        self._draft_withheld: str | None = None  # what kept the last draft from being saved
        self.viewers: dict[int, list[str]] = {}  # ticket -> colleagues viewing it now
        self._signature: str | None = None  # the technician's, as of the last load
        self._signature_offered: int | None = None  # the ticket whose reply got it (or a draft)
        self._deadline_at: float | None = None  # the running SLA deadline shown in the head

    @property
    def sd(self) -> ShiftdeskApp:
        from tui.app import ShiftdeskApp

        assert isinstance(self.app, ShiftdeskApp)
        return self.app

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield Static("", id="detail-head")
            yield Static("", id="detail-body")
        with VerticalScroll(id="reply-context", can_focus=False):
            yield Static("", id="reply-quote")
        with Vertical(id="editor-box"):
            yield Label("", id="editor-title")
            yield ReplyEditor(id="editor", soft_wrap=True, show_line_numbers=False)

    @property
    def editor(self) -> ReplyEditor:
        return self.query_one(ReplyEditor)

    # ------------------------------------------------------------------ loading

    def show_ticket(self, number: int | None) -> None:
        if number != self.number:
            self.stop_editing(keep_visible=False)
            self._pending_edit = None
        self.number = number
        if number is None:
            self.detail = None
            self._head_plain = ""
            self.query_one("#detail-head", Static).update("")
            self.query_one("#detail-body", Static).update("")
            self.render_reply_context()
            return
        self.load(number)

    def reload(self) -> None:
        if self.number is not None:
            self.load(self.number)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load(self, number: int) -> None:
        from models.desk.canned import get_signature
        from models.desk.detail import ticket_detail
        from models.desk.notices import policy_notices
        from models.desk.work import load_draft

        ctx = self.sd.ctx
        try:
            detail = ticket_detail(ctx.store, number)
            today = dt.datetime.fromtimestamp(ctx.clock(), ZoneInfo(ctx.zone)).date()
            found = policy_notices(ctx.store, detail, today)
            draft = load_draft(ctx.store, number, ctx.actor)
            signature = get_signature(ctx.store, ctx.actor)
        except Exception as exc:
            self.post_message(DetailLoaded(None, [], None, error=str(exc)))
            return
        self.post_message(DetailLoaded(detail, found, draft, signature=signature))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        message.stop()
        if message.error:
            self.notify(message.error, title="Could not load the ticket", severity="error")
            return
        detail = message.detail
        if detail is None or detail.number != self.number:
            return
        self.detail = detail
        self.notices = message.notices
        self._signature = message.signature
        self.render_detail()
        self._check_base(detail)
        if (
            message.draft
            and self.mode == "reply"
            and only_signature(self.editor.text, self._signature)
        ):
            self._set_editor_text(message.draft)
            self._signature_offered = detail.number  # a draft is as the technician left it
        if self._pending_edit is not None:
            mode, self._pending_edit = self._pending_edit, None
            self.start_editing(mode)
        self._offer_signature()

    # ------------------------------------------------------------------ rendering

    def tick(self, now: float) -> None:
        if self.detail is not None and self.display:
            self.render_head(now)

    def render_detail(self) -> None:
        self._head_plain = ""  # a fresh load always repaints
        self.render_head(self.sd.ctx.clock())
        self.query_one("#detail-body", Static).update(self.body_renderable())
        self.render_reply_context()

    def set_viewers(self, viewers: dict[int, list[str]]) -> None:
        before = self.viewers.get(self.number) if self.number is not None else None
        self.viewers = viewers
        if self.number is not None and viewers.get(self.number) != before:
            self.render_head(self.sd.ctx.clock())

    def viewing_line(self) -> str:
        """ "Ana Lee is viewing this now" (colleagues only; models.desk.presence)."""
        names = self.viewers.get(self.number) if self.number is not None else None
        if not names:
            return ""
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"{who} {'is' if len(names) == 1 else 'are'} viewing this now"

    def render_head(self, now: float) -> None:
        detail = self.detail
        if detail is None:
            return
        ctx = self.sd.ctx
        zone = ZoneInfo(ctx.zone)
        head = Text()
        head.append(f"#{detail.number} ", style="bold")
        head.append(safe_line(detail.subject), style="bold")
        head.append("\n")
        kind_style = "bold red" if detail.kind == "emergency" else ""
        head.append(
            detail.kind.upper() if detail.kind == "emergency" else detail.kind, style=kind_style
        )
        head.append(f" · {detail.status}")
        head.append(f" · received {when(detail.received_at, zone)}")
        head.append(
            f" · {('assigned to ' + detail.assignee) if detail.assignee else 'unassigned'}\n"
        )
        row = QueueRow(
            detail.number,
            detail.kind,
            detail.status,
            detail.received_at,
            detail.waiting_since,
            detail.first_response_at,
            "",
            "",
            False,
            False,
            detail.assignee,
            detail.entitlement,
            detail.version,
        )
        cell = countdown(ctx.policy, row, now, ctx.zone)
        self._deadline_at = cell.deadline  # what a canned reply's {deadline} promises
        styles = {
            "ok": "green",
            "warning": "yellow",
            "critical": "bold red",
            "breached": "bold white on red",
            "paused": "dim",
            "none": "dim",
        }
        head.append("SLA ", style="bold")
        head.append(cell.text, style=styles.get(cell.state, ""))
        if cell.deadline is not None:
            head.append(f" (due {when(cell.deadline, zone)})", style="dim")
        if detail.first_response_at is not None:
            met = {True: "met", False: "missed", None: "—"}[detail.first_response_met]
            head.append(f" · first response {when(detail.first_response_at, zone)} ({met})")
        elif detail.kind == "emergency" and detail.status != "closed":
            if detail.acknowledged_at is not None:
                head.append(
                    f" · acknowledged {when(detail.acknowledged_at, zone)} by "
                    f"{safe_line(detail.acknowledged_by or '?')}"
                )
            else:
                head.append(" · not acknowledged: A", style="bold red")
        viewing = self.viewing_line()
        if viewing:
            head.append("\n")
            glyph = "*" if ctx.ascii_flags else "◉"
            head.append(f"{glyph} {safe_line(viewing)}", style="bold cyan")
        if head.plain != self._head_plain:  # the SLA line changes at most once a second
            self._head_plain = head.plain
            self.query_one("#detail-head", Static).update(head)

    def render_reply_context(self) -> None:
        """The latest customer message, quoted, for the editor to be written against."""
        detail = self.detail if self.number is not None else None
        latest = None
        if detail is not None:
            latest = next((m for m in reversed(detail.messages) if m.direction == "in"), None)
        self.set_class(latest is not None, "-has-context")
        quote = Text()
        if latest is not None:
            zone = ZoneInfo(self.sd.ctx.zone)
            quote.append("latest from the customer", style="bold")
            quote.append(
                f" · {when(latest.created_at, zone)} · {safe_line(latest.author)}", style="dim"
            )
            for line in (safe_text(latest.body).rstrip() or "(empty)").splitlines():
                quote.append("\n> ", style="dim")
                quote.append(line)
        self.query_one("#reply-quote", Static).update(quote)

    def body_renderable(self) -> Group:
        detail = self.detail
        assert detail is not None
        ctx = self.sd.ctx
        zone = ZoneInfo(ctx.zone)
        now = ctx.clock()
        parts: list[Any] = []

        who = Text()
        who.append("\nCustomer  ", style="bold")
        if detail.customer:
            c = detail.customer
            who.append(safe_line(c.name))
            who.append(f" <{safe_line(c.email)}>")
            if c.organization:
                who.append(f" · {safe_line(c.organization)}")
            if c.timezone:
                try:
                    local = dt.datetime.fromtimestamp(now, ZoneInfo(c.timezone)).strftime("%H:%M")
                    who.append(f" · {c.timezone} (now {local})", style="dim")
                except Exception:  # a bad zone in imported data: show it, don't fail
                    who.append(f" · {safe_line(c.timezone)}", style="dim")
        else:
            who.append(f"unknown sender <{safe_line(detail.requester_email)}>", style="yellow")
        parts.append(who)

        ent = Text()
        ent.append("Support   ", style="bold")
        ent.append(detail.entitlement)
        if detail.entitlement_note:
            ent.append(f" — {safe_line(detail.entitlement_note)}")
        if detail.license:
            lic = detail.license
            ent.append(
                f"\nLicense   {safe_line(lic.key)} · {safe_line(lic.product)} "
                f"{safe_line(lic.version_in_use)} (latest {safe_line(lic.latest_version)})"
            )
        for notice in self.notices:
            style = "yellow" if notice.level == "warning" else "cyan"
            ent.append(
                f"\n  {'!' if notice.level == 'warning' else '•'} {notice.text}", style=style
            )
        if detail.refund_requested:
            ent.append("\n  ! reclassified to standard: refund requested", style="yellow")
        parts.append(ent)

        extra = Text()
        if detail.phone_requested or detail.phone_escalated or detail.phone_decisions:
            extra.append("\nPhone     ", style="bold")
            extra.append("customer asked for a call" if detail.phone_requested else "not requested")
            for d in detail.phone_decisions:
                extra.append(f"\n  {d.decision} by {d.technician} {when(d.created_at, zone)}")
                if d.phone_number:
                    extra.append(f" · {safe_line(d.phone_number)}")
                if d.scheduled_at:
                    extra.append(
                        f" · call {when(d.scheduled_at, ZoneInfo(d.customer_timezone or ctx.zone))}"
                        f" {d.customer_timezone or ''}"
                    )
                if d.note:
                    extra.append(f" · {safe_line(d.note)}", style="dim")
            for call in detail.calls:
                extra.append(
                    f"\n  call by {call.technician} {when(call.called_at, zone)}, "
                    f"{call.duration_seconds // 60} min · {safe_line(call.notes)}"
                )
        if detail.appointments:
            extra.append("\nSessions  ", style="bold")
            for index, appointment in enumerate(detail.appointments):
                upcoming = appointment.starts_at + appointment.duration_minutes * 60 >= now
                extra.append(
                    ("" if index == 0 else "\n          ") + safe_line(appointment.local_text()),
                    style="" if upcoming else "dim",
                )
                extra.append(
                    f" · by {safe_line(appointment.technician)}"
                    + (f" · {safe_line(appointment.note)}" if appointment.note else ""),
                    style="dim",
                )
        active = detail.active_rsaa
        if active is not None:
            from models.desk.rsaa import span_text

            extra.append("\nRSAA      ", style="bold")
            extra.append(
                f"{'K' if ctx.ascii_flags else '⚿'} active for "
                f"{span_text(now - active.accepted_at)}",
                style="bold magenta",
            )
            extra.append(
                f" · {safe_line(active.server)} via {safe_line(active.tool_name or active.method)}"
                f" from {active.source_ip} · accepted by {safe_line(active.accepted_by_name)}"
            )
        elif detail.rsaas:
            last = detail.rsaas[-1]
            extra.append("\nRSAA      ", style="bold")
            extra.append(
                f"revoked {when(last.revoked_at, zone)} ({last.revoke_reason})", style="dim"
            )
        if extra.plain:
            parts.append(extra)

        parts.append(Text("\n── Thread " + "─" * 30, style="dim"))
        outbox = {o.message_id: o for o in detail.outbox if o.message_id is not None}
        for m in detail.messages:
            head = Text()
            label = {"in": "customer", "out": "reply", "note": "internal note"}.get(
                m.direction, m.direction
            )
            style = {"in": "bold", "out": "bold green", "note": "bold yellow"}.get(
                m.direction, "bold"
            )
            head.append(f"\n{label}", style=style)
            head.append(f" · {safe_line(m.author)} · {when(m.created_at, zone)}", style="dim")
            entry = outbox.get(m.id)
            if entry is not None:
                state = (
                    entry.status
                    if entry.status != "queued"
                    else (
                        f"queued ({entry.attempts} attempts: {entry.last_error})"
                        if entry.last_error
                        else "queued"
                    )
                )
                head.append(f" · mail {safe_line(state)}", style="dim")
            parts.append(head)
            parts.append(Text(safe_text(m.body).rstrip() or "(empty)"))
            if m.attachments:
                parts.append(
                    Text(
                        "attachments: " + ", ".join(safe_line(a) for a in m.attachments),
                        style="dim",
                    )
                )

        parts.append(Text("\n── History " + "─" * 29, style="dim"))
        for event in detail.audit[-30:]:
            line = Text(f"{when(event.created_at, zone)}  ", style="dim")
            line.append(safe_line(event.sentence(ctx.zone)))
            line.append(f"  [{safe_line(event.process)}]", style="dim")
            parts.append(line)
        return Group(*parts)

    # ------------------------------------------------------------------ editor

    def start_editing(self, mode: str) -> None:
        """Open the editor at once, even while the ticket is still loading: what the technician
        types next is text, never a queue key (a fast "r" then "the…" must not take a ticket)."""
        loaded = self.detail is not None and self.detail.number == self.number
        if self.mode != mode:
            self._set_editor_text("")
            self._signature_offered = None
        self.mode = mode
        if not loaded:
            title = (
                f"{'Reply' if mode == 'reply' else 'Internal note'} on #{self.number} (loading…)"
            )
            self._pending_edit = mode  # the title, and a stored draft, once the ticket has loaded
        elif mode == "reply":
            assert self.detail is not None
            title = f"Reply to {safe_line(self.detail.requester_email)}"
            if self.detail.status == "answered":
                title += " (a follow-up: already answered)"
        else:
            title = "Internal note"
        if loaded:
            assert self.detail is not None
            self._set_base(self.detail)
        self._editor_title = f"{title} · ctrl+s sends · ctrl+t canned · esc leaves (draft kept)"
        self._show_editor_title()
        self.add_class("-editing")
        # focus now, not via call_later (Widget.focus): keys already queued behind the "r"
        # must reach the editor, not the queue
        self.screen.set_focus(self.editor)
        if loaded and mode == "reply" and only_signature(self.editor.text, self._signature):
            self.reload()  # picks up a stored draft (and a changed signature)
        self._offer_signature()

    def _offer_signature(self) -> None:
        """Put the technician's signature under a new reply, once per ticket, so they see and
        may edit what the customer gets: below an empty editor (the cursor stays on top), or
        under text typed before the ticket loaded. A stored draft is left as it was."""
        signature = self._signature
        if (
            not signature
            or self.mode != "reply"
            or not self.has_class("-editing")
            or self.detail is None
            or self.detail.number != self.number
            or self._signature_offered == self.number
        ):
            return
        self._signature_offered = self.number
        text = self.editor.text
        if has_signature(text, signature):
            return
        if not text.strip():
            self._set_editor_text(signature_block(signature))
            self.editor.move_cursor((0, 0))
        else:
            self.editor.insert(
                signature_block(signature), self.editor.document.end, maintain_selection_offset=True
            )

    def _set_base(self, detail: TicketDetail) -> None:
        self._base_version = detail.version
        self._base_answered = detail.status == "answered"
        self._changed_while_writing = None

    def _check_base(self, detail: TicketDetail) -> None:
        """A reload while the technician writes: say so at once if the ticket moved on."""
        if (
            not self.has_class("-editing")
            or self._base_version is None
            or detail.version == self._base_version
        ):
            return
        last = detail.audit[-1] if detail.audit else None
        what = last.sentence(self.sd.ctx.zone).rstrip(".") if last else "it changed"
        if what == self._changed_while_writing:
            return
        self._changed_while_writing = what
        self._show_editor_title()
        self.notify(
            f"#{detail.number} changed while you were writing: {safe_line(what)}. "
            "ctrl+s asks before sending.",
            title="The ticket moved on",
            severity="warning",
            timeout=10,
            markup=False,
        )

    def _show_editor_title(self) -> None:
        title = Text(self._editor_title)
        if self._changed_while_writing:
            title = Text("⚠ changed since you started: ", style="bold yellow")
            title.append(safe_line(self._changed_while_writing), style="yellow")
            title.append(" · ctrl+s asks first · esc leaves")
        self.query_one("#editor-title", Label).update(title)

    def stop_editing(self, keep_visible: bool = True) -> None:
        if not keep_visible:
            self.remove_class("-editing")
            self._set_editor_text("")
            self._signature_offered = None

    def _set_editor_text(self, text: str) -> None:
        self._loading_editor = True
        self.editor.load_text(text)
        self._loading_editor = False

    @on(TextArea.Changed, "#editor")
    def draft_changed(self, _event: TextArea.Changed) -> None:
        if self._loading_editor or self.mode != "reply" or self.number is None:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_SAVE_DELAY, self.save_draft_now)

    def save_draft_now(self) -> None:
        if self.number is not None and self.mode == "reply":
            from models.policy.credentials import find_credential

            text = self.editor.text
            if only_signature(text, self._signature):
                text = ""  # nothing written yet: no draft (the signature comes back by itself)
            found = find_credential(text)
            if found is not None:  # never stored, not even as a draft: say so once
                if self._draft_withheld != found:
                    self._draft_withheld = found
                    self.notify(
                        f"The draft seems to contain {found}: it is not saved while it does "
                        "(shiftdesk never stores credentials).",
                        title="Draft not saved",
                        severity="warning",
                        timeout=8,
                        markup=False,
                    )
                return
            self._draft_withheld = None
            self.save_draft(self.number, text)

    @work(thread=True, group="draft", exit_on_error=False)
    def save_draft(self, number: int, text: str) -> None:
        from models.desk.work import save_draft

        ctx = self.sd.ctx
        try:
            save_draft(ctx.store, number, ctx.actor, text, at=ctx.clock())
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"draft not saved: {exc}", severity="warning")

    @on(ReplyEditor.Template)
    def pick_canned(self, event: ReplyEditor.Template) -> None:
        """ctrl+t: the canned reply picker; the chosen reply, filled in for this ticket, goes in
        at the cursor."""
        event.stop()
        from models.desk.canned import reply_deadline, variables_for
        from tui.screens.canned_picker import CannedPicker

        detail = self.detail
        if detail is None or detail.number != self.number:
            self.notify(f"#{self.number} is still loading: try again in a moment", timeout=3)
            return
        ctx = self.sd.ctx
        customer = detail.customer
        variables = variables_for(
            ticket=detail.number,
            customer_name=customer.name if customer else None,
            requester_email=detail.requester_email,
            customer_zone=customer.timezone if customer else None,
            company_zone=ctx.zone,
            technician=ctx.actor.name or ctx.actor.email,
            deadline_at=reply_deadline(self._deadline_at, ctx.clock(), ctx.policy),
        )

        def chosen(text: str | None) -> None:
            if text:
                self.editor.insert(text, maintain_selection_offset=False)
            self.screen.set_focus(self.editor)

        self.app.push_screen(CannedPicker(variables), chosen)

    @on(ReplyEditor.Leave)
    def leave_editor(self, event: ReplyEditor.Leave) -> None:
        event.stop()
        self.save_draft_now()
        self._close_editor()

    def _close_editor(self) -> None:
        """Hide the editor; the focus goes to the thread, and the screen, told, may move it on
        to the queue when the queue shows (a hidden editor must not keep the keys)."""
        self.remove_class("-editing")
        self.query_one("#detail-scroll").focus()
        self.post_message(self.EditorClosed())

    @on(ReplyEditor.Send)
    def send(self, event: ReplyEditor.Send) -> None:
        event.stop()
        text = self.editor.text
        if only_signature(text, self._signature if self.mode == "reply" else None):
            self.notify("Nothing to send: the editor is empty", severity="warning")
            return
        if self.detail is None or self.detail.number != self.number:
            self.notify(f"#{self.number} is still loading: send again in a moment", timeout=3)
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        if self._base_version is None:
            self._set_base(self.detail)
        self._confirm_and_submit(self.detail, self.mode, text)

    def _confirm_and_submit(self, detail: TicketDetail, mode: str, text: str) -> None:
        """Ask before saving a text that seems to carry a credential, then before sending on a
        ticket that moved on since the technician started writing; then submit."""
        from models.policy.credentials import find_credential

        found = find_credential(text)
        moved = self._base_version is not None and detail.version != self._base_version
        if found is None and not moved:
            self.submit(
                detail.number,
                self._base_version or detail.version,
                mode,
                text,
                follow_up=self._base_answered,
            )
            return
        self._ask_then_submit(detail, mode, text, found, moved)

    @work(group=PROMPT, exit_on_error=False)
    async def _ask_then_submit(
        self, detail: TicketDetail, mode: str, text: str, found: str | None, moved: bool
    ) -> None:
        from tui.screens.prompts import Confirm

        what = "reply" if mode == "reply" else "note"
        anyway = "Send anyway" if mode == "reply" else "Save anyway"
        if found is not None and not await self.app.push_screen_wait(
            Confirm(
                f"This {what} seems to contain {found}. shiftdesk never stores credentials: "
                "share them with the customer another way.\n"
                + ("Send it anyway?" if mode == "reply" else "Save it anyway?"),
                yes=anyway,
                no="Edit",
                default=False,
            )
        ):
            self.notify(f"Not saved: the {what} is still in the editor", timeout=4)
            return
        if not moved:
            version, follow = self._base_version or detail.version, self._base_answered
        else:
            change = self._changed_while_writing or "it changed"
            follow = mode == "reply" and detail.status == "answered"
            if not await self.app.push_screen_wait(
                Confirm(
                    f"#{detail.number} changed since you started writing: {change}.\n"
                    + (
                        "It is answered now: send yours as a follow-up?"
                        if follow
                        else f"Send your {what} anyway?"
                    ),
                    yes=anyway,
                    default=False,
                )
            ):
                self.notify(f"Not sent: the {what} is still in the editor", timeout=4)
                return
            version = detail.version  # the version the technician has now been shown
        self.submit(
            detail.number, version, mode, text, follow_up=follow, allow_secret=found is not None
        )

    @work(thread=True, group="send", exit_on_error=False)
    def submit(
        self,
        number: int,
        version: int,
        mode: str,
        text: str,
        *,
        follow_up: bool = False,
        allow_secret: bool = False,
    ) -> None:
        from models.desk import work

        ctx = self.sd.ctx
        try:
            if mode == "reply":
                result = work.reply(
                    ctx.store,
                    number,
                    ctx.actor,
                    text,
                    expected_version=version,
                    config=ctx.config,
                    at=ctx.clock(),
                    follow_up=follow_up,
                    allow_secret=allow_secret,
                )
                outcome = f"Reply to #{number} queued for {result.to_address}"
                if result.first_response:
                    outcome += " · first response " + (
                        "in time" if result.first_response_met else "late"
                    )
            else:
                work.note(
                    ctx.store,
                    number,
                    ctx.actor,
                    text,
                    expected_version=version,
                    at=ctx.clock(),
                    allow_secret=allow_secret,
                )
                outcome = f"Note added to #{number}"
        except Conflict as exc:
            self.app.call_from_thread(
                self.notify,
                str(exc),
                title="Not sent: someone got there first",
                severity="warning",
                timeout=10,
            )
            self.app.call_from_thread(self.reload)
            return
        except ActionError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Not sent", severity="error")
            return
        except Exception as exc:  # the store went away: keep the text, say why
            self.app.call_from_thread(
                self.notify, f"{exc}", title="Not sent (text kept)", severity="error"
            )
            return
        self.app.call_from_thread(self._sent, outcome)

    def _sent(self, outcome: str) -> None:
        self._base_version, self._changed_while_writing = None, None
        self._set_editor_text("")
        self._signature_offered = None
        self._close_editor()
        self.notify(outcome, timeout=5)
        self.reload()
        self.sd.kick_outbox()
