"""The main screen: header, the live FIFO queue, the detail pane, the footer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from models.actions import ActionError, Conflict
from models.changes import ChangeFeed
from models.db import StoreError
from models.oncall import is_alerting
from models.queue import QueueRow, load_queue, load_rows
from models.sanitize import safe_line
from tui.messages import QueueLoaded, TicketsChanged
from tui.widgets.detail import DetailPane
from tui.widgets.header import HeaderBar
from tui.widgets.queue_view import (
    COUNTDOWN_WIDTH,
    FLAGS_WIDTH,
    KIND_WIDTH,
    NUMBER_WIDTH,
    SCROLLBAR_WIDTH,
    QueueData,
    QueueFilter,
    QueueView,
    build_queue_data,
    column_widths,
    pad,
    start_filter,
)

if TYPE_CHECKING:
    from tui.app import ShiftdeskApp

HEAD_ROWS = 300  # the first frame shows these; the rest load right after
SEARCH_LIMIT = 1000  # a search shows at most this many tickets, the newest
SEARCH_DELAY = 0.25  # seconds typing rests before the search runs
FOLLOW_DELAY = 0.06  # seconds the cursor rests before the open pane loads its ticket


class ColumnHeader(Static):
    DEFAULT_CSS = "ColumnHeader { height: 1; color: $text-muted; text-style: bold; }"

    def render(self) -> Text:
        customer, subject = column_widths(self.size.width - SCROLLBAR_WIDTH)
        return Text(
            " "
            + pad("due", COUNTDOWN_WIDTH - 1)
            + pad("ticket", NUMBER_WIDTH)
            + pad("kind", KIND_WIDTH)
            + pad("customer", customer)
            + pad("subject", subject)
            + "flags".rjust(FLAGS_WIDTH),
            no_wrap=True,
        )


class QueueScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "filter_text", "Filter", id="queue.filter"),
        Binding("colon", "go_to", "Go to #", show=False, id="queue.goto"),
        Binding("e", "toggle_filter('emergencies')", "Emergencies", id="queue.emergencies"),
        Binding("m", "toggle_filter('mine')", "Mine", id="queue.mine"),
        Binding("u", "toggle_filter('unassigned')", "Unassigned", id="queue.unassigned"),
        Binding("b", "toggle_filter('breached')", "Breached", id="queue.breached"),
        Binding("w", "view('waiting')", "Waiting", show=False, id="queue.view_waiting"),
        Binding("l", "view('all')", "All", show=False, id="queue.view_all"),
        Binding(
            "x", "view('not_entitled')", "Not entitled", show=False, id="queue.view_not_entitled"
        ),
        Binding("0", "clear_filters", "Clear filters", show=False, id="queue.clear"),
        Binding("t", "take", "Take", id="ticket.take"),
        Binding("r", "reply", "Reply", id="ticket.reply"),
        Binding("n", "note", "Note", show=False, id="ticket.note"),
        Binding("p", "phone", "Phone", show=False, id="ticket.phone"),
        Binding("a", "rsaa", "RSAA", show=False, id="ticket.rsaa"),
        Binding("c", "close_ticket", "Close", show=False, id="ticket.close"),
        Binding("o", "reopen", "Reopen", show=False, id="ticket.reopen"),
        Binding("R", "reclassify", "Reclassify", show=False, id="ticket.reclassify"),
        Binding("Y", "accept", "Accept", show=False, id="ticket.accept"),
        Binding("s", "schedule", "Schedule", show=False, id="ticket.schedule"),
        Binding("A", "acknowledge", "Ack", id="ticket.acknowledge"),
        Binding("escape", "back", "Back", id="queue.back"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    DEFAULT_CSS = """
    QueueScreen #queue-column { width: 1fr; }
    QueueScreen DetailPane { width: 55%; display: none; }
    QueueScreen.-detail DetailPane { display: block; }
    QueueScreen.-narrow.-detail #queue-column { display: none; }
    QueueScreen.-narrow.-detail DetailPane { width: 1fr; }
    QueueScreen #filter { display: none; height: 3; }
    QueueScreen.-filtering #filter { display: block; }
    QueueScreen #status { height: 1; color: $text-muted; padding: 0 1; }
    """

    # seconds the cursor rests before the open pane follows it; tests set it per screen (huge: a
    # held key that never rests; tiny: at once) rather than depend on how fast keys are handled
    follow_delay: float = FOLLOW_DELAY

    def __init__(self) -> None:
        super().__init__()
        self.feed: ChangeFeed | None = None
        self._head_painted = threading.Event()
        self._status_extra = ""
        self._follow: Timer | None = None  # the open pane's pending follow of the cursor
        self._search_timer: Timer | None = None  # the pending search while typing

    @property
    def sd(self) -> ShiftdeskApp:
        from tui.app import ShiftdeskApp

        assert isinstance(self.app, ShiftdeskApp)
        return self.app

    def compose(self) -> ComposeResult:
        ctx = self.sd.ctx
        yield HeaderBar(ctx.policy.calendar, ctx.zone, id="header")
        with Horizontal(id="main"):
            with Vertical(id="queue-column"):
                yield ColumnHeader(id="columns")
                yield QueueView(
                    ctx.policy,
                    ctx.zone,
                    me=ctx.actor.email,
                    now=ctx.clock(),
                    ascii_flags=ctx.ascii_flags,
                    id="queue",
                )
            yield DetailPane(id="detail")
        yield Input(
            placeholder="search: words, email, license key, #number — esc clears", id="filter"
        )
        yield Static("", id="status")
        yield Footer()

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    def on_mount(self) -> None:
        self.queue.focus()
        start = start_filter(self.sd.ctx.view or self.sd.ctx.config.oncall.view)
        if start != self.queue.filter:
            self.queue.set_filter(start)
        self.load_queue()
        self.refresh_header()

    # ------------------------------------------------------------------ loading and live data

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_queue(self) -> None:
        """The oldest rows first (the first frame), then everything; the O(N) work of each load
        happens here, with a policy of this thread's own, not on the event loop."""
        from models.work import sla_policy

        ctx = self.sd.ctx
        # the feed's baseline comes before the rows are read: a change committed while they load
        # is delivered by the feed, never lost between the load and the feed's start (and once
        # the queue is loaded, every later change is sure to arrive)
        feed = ChangeFeed(ctx.store) if ctx.live else None
        self.feed = feed
        with ctx.store.session() as session:
            head = load_queue(session, limit=HEAD_ROWS)
        # the first frame: a few hundred rows, cheap enough to prepare on the event loop
        self.post_message(QueueLoaded(head, complete=False))
        # the full load is CPU work in Python: let the first frame paint before it takes the GIL
        self._head_painted.wait(timeout=2.0)
        policy = sla_policy(ctx.config)
        with ctx.store.session() as session:
            rows = load_queue(session, include_closed=True)
        self.post_message(QueueLoaded(build_queue_data(rows, policy), complete=True))
        if feed is not None:
            self.watch_changes(feed)

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        if isinstance(message.data, QueueData):
            self.queue.set_data(message.data, complete=message.complete)
            alerting: list[QueueRow] = message.data.alerting
        else:
            self.queue.set_rows(message.data, complete=message.complete)
            self.call_after_refresh(self._head_painted.set)
            alerting = [row for row in message.data if is_alerting(row)]
        if self.sd.ctx.live:
            # a full load is the whole truth: whatever alerted from the first frame's rows and
            # is no longer alerting (acknowledged meanwhile) stops
            stale = set(self.sd.alerts.tracker.alerting) - {row.number for row in alerting}
            self.sd.alerts.observe(alerting, gone=stale if message.complete else ())
        self.refresh_header()

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_changes(self, feed: ChangeFeed) -> None:
        """Poll the change feed (~2 Hz on SQLite, LISTEN on PostgreSQL) and post changed rows."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        store = self.sd.ctx.store
        backoff = 0.5
        try:
            while not worker.is_cancelled:
                try:
                    numbers = feed.poll(timeout=0.5)
                    backoff = 0.5
                except Exception as exc:  # the store went away: say so, retry
                    self.app.call_from_thread(self.set_status, f"store: {exc}")
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 10)
                    continue
                if numbers:
                    with store.session() as session:
                        rows = load_rows(session, numbers)
                    self.post_message(TicketsChanged(rows, set(numbers)))
                elif store.dialect != "postgresql":
                    time.sleep(0.5)
        finally:
            feed.close()

    def on_tickets_changed(self, message: TicketsChanged) -> None:
        self._notice_taken_over(message)
        found = {row.number for row in message.rows}
        self.queue.upsert(message.rows, gone=message.numbers - found)
        if self.sd.ctx.live:
            self.sd.alerts.observe(message.rows, gone=message.numbers - found)
        self.refresh_header()
        current = self.detail.number
        if current is not None and current in message.numbers:
            self.detail.reload()

    def _notice_taken_over(self, message: TicketsChanged) -> None:
        """A colleague took over a ticket of mine: say so (it arrives through the change feed)."""
        me = self.sd.ctx.actor.email.lower()
        for row in message.rows:
            before = self.queue.row(row.number)
            if (
                before is not None
                and before.assignee == me
                and row.assignee is not None
                and row.assignee != me
            ):
                self.notify(
                    f"#{row.number} ({safe_line(row.subject)[:60]}) was taken over by "
                    f"{row.assignee}",
                    title="No longer yours",
                    severity="warning",
                    timeout=15,
                    markup=False,  # customer text
                )

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> None:
        self.queue.tick(now)
        self.refresh_header(now)
        self.detail.tick(now)

    def refresh_header(self, now: float | None = None) -> None:
        now = self.sd.ctx.clock() if now is None else now
        waiting, emergencies, breached = self.queue.counts(now)
        loading = "" if self.queue.loaded else "loading…"
        self.query_one(HeaderBar).show(now, waiting, emergencies, breached, loading)

    def set_status(self, text: str) -> None:
        if text != self._status_extra:
            self._status_extra = text
            self.query_one("#status", Static).update(Text(text))

    def update_status_line(self) -> None:
        view = self.queue
        text = f" {view.filter.describe()} · {view.visible_count} shown of {view.total}"
        if self.sd.outbox_line:
            text += f" · {self.sd.outbox_line}"
        if self.sd.oncall_line:
            text += f" · {self.sd.oncall_line}"
        self.set_status(text)

    # ------------------------------------------------------------------ queue events

    @on(QueueView.Highlighted)
    def follow_cursor(self, message: QueueView.Highlighted) -> None:
        """With the pane open, it follows the cursor once the cursor rests for a moment: holding
        `j` over 40 rows loads one ticket, not 40."""
        self.update_status_line()
        if self._follow is not None:
            self._follow.stop()
            self._follow = None
        if self.has_class("-detail") and message.row is not None:
            self._follow = self.set_timer(self.follow_delay, self._flush_follow)

    def _flush_follow(self) -> None:
        """Show the highlighted ticket in the open pane now (a pending follow is cancelled).
        Keys call this before acting: the cursor may have moved with the follow still pending,
        or with the Highlighted message not even handled yet."""
        if self._follow is not None:
            self._follow.stop()
            self._follow = None
        row = self.queue.current
        if self.has_class("-detail") and row is not None and row.number != self.detail.number:
            self.detail.show_ticket(row.number)  # (the shown ticket reloads when it changes)

    @on(QueueView.Selected)
    def open_detail(self, message: QueueView.Selected) -> None:
        self.add_class("-detail")
        self.detail.show_ticket(message.row.number)

    # ------------------------------------------------------------------ filters

    def action_toggle_filter(self, name: str) -> None:
        current = self.queue.filter
        flags = {name: not getattr(current, name)}
        self.queue.set_filter(QueueFilter(**{**current.__dict__, **flags}))
        self.update_status_line()

    def action_view(self, view: str) -> None:
        current = self.queue.filter
        self.queue.set_filter(QueueFilter(**{**current.__dict__, "view": view}))
        self.update_status_line()

    def action_clear_filters(self) -> None:
        self.queue.set_filter(QueueFilter())
        self.update_status_line()

    def action_filter_text(self) -> None:
        self.add_class("-filtering")
        box = self.query_one("#filter", Input)
        box.value = self.queue.filter.text
        box.focus()

    # ------------------------------------------------------------------ search (models.search)

    @on(Input.Changed, "#filter")
    def filter_as_you_type(self, event: Input.Changed) -> None:
        """Search the store once typing rests; an empty box ends the search."""
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        text = event.value.strip()
        if not text:
            self._show_search("", None)
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self.run_search(text, False))

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        self.remove_class("-filtering")
        self.queue.focus()
        if event.value.strip():
            self.run_search(event.value.strip(), True)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def run_search(self, text: str, submitted: bool) -> None:
        from textual.worker import get_current_worker

        from models.search import SearchError, search_numbers

        worker = get_current_worker()
        try:
            with self.sd.ctx.store.session() as session:
                result = search_numbers(session, text, limit=SEARCH_LIMIT)
        except SearchError as exc:
            self.app.call_from_thread(self._search_refused, text, str(exc), submitted)
            return
        except Exception as exc:  # the store went away: say so, keep the queue as it is
            self.app.call_from_thread(
                self.notify, f"search failed: {exc}", severity="error", timeout=8
            )
            return
        if not worker.is_cancelled:  # a newer search replaced this one
            self.app.call_from_thread(self._search_found, text, result.numbers, result.more)

    def _search_refused(self, text: str, reason: str, submitted: bool) -> None:
        self._show_search(text, frozenset())
        if submitted:
            self.notify(reason, severity="warning", timeout=5)

    def _search_found(self, text: str, numbers: list[int], more: bool) -> None:
        box = self.query_one("#filter", Input)
        if self.has_class("-filtering") and box.value.strip() != text:
            return  # typing went on: a newer search is coming
        self._show_search(text, frozenset(numbers))
        if more:
            self.notify(
                f"More than {SEARCH_LIMIT} tickets match: the newest {SEARCH_LIMIT} are shown.",
                timeout=5,
            )

    def _show_search(self, text: str, found: frozenset[int] | None) -> None:
        current = self.queue.filter
        self.queue.set_filter(QueueFilter(**{**current.__dict__, "text": text, "found": found}))
        self.update_status_line()

    def action_go_to(self) -> None:
        from tui.screens.prompts import AskReason

        def given(text: str | None) -> None:
            digits = (text or "").strip().lstrip("#").strip()
            if not digits:
                return
            if not digits.isdigit() or self.queue.row(int(digits)) is None:
                self.notify(f"No ticket #{digits}", severity="warning", timeout=4)
                return
            number = int(digits)
            if self.queue.position_of(number) is None:  # filtered out: show every ticket
                self.queue.set_filter(QueueFilter(view="all"))
            position = self.queue.position_of(number)
            if position is not None:
                self.queue.cursor = position
                self.update_status_line()
                self.queue.action_select()  # and open it

        self.app.push_screen(AskReason("Go to ticket", placeholder="ticket number"), given)

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self.query_one("#filter", Input).value = ""
            self.remove_class("-filtering")
            self.queue.focus()
        elif self.has_class("-detail"):
            self.remove_class("-detail")
            self.detail.show_ticket(None)
            self.queue.focus()
        elif self.queue.filter.found is not None:  # esc ends a search
            self._show_search("", None)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.app.exit()

    # ------------------------------------------------------------------ modals

    def _modal_done(self, outcome: str | None) -> None:
        if outcome:
            self.notify(outcome, timeout=6)
        self.detail.reload()

    def _ticket(self) -> tuple[int, int] | None:
        """(number, version) of the ticket the keys act on, or None (with a hint): the highlighted
        one; with its version as the pane shows it once the pane has caught up with the cursor."""
        self._flush_follow()
        row = self.queue.current
        shown = self.detail.detail if self.has_class("-detail") else None
        if shown is not None and (row is None or row.number == shown.number):
            return shown.number, shown.version
        if row is None:
            self.notify("No ticket selected", severity="warning", timeout=3)
            return None
        return row.number, row.version

    def _act(self, label: str, act: Callable[[int, int], object]) -> None:
        """Run `act(number, version)` on the ticket the keys act on; `label` may use {number}."""
        target = self._ticket()
        if target is None:
            return
        number, version = target
        self.run_ticket_action(
            label.format(number=number), lambda: act(number, version), number=number
        )

    def action_take(self) -> None:
        """Take the ticket; one a colleague holds only after a confirm (they get a notice)."""
        from models import actions
        from tui.screens.prompts import Confirm

        ctx = self.sd.ctx
        target = self._ticket()
        if target is None:
            return
        number, version = target
        shown = self.detail.detail if self.detail.number == number else None
        row = self.queue.current
        holder = shown.assignee if shown is not None else row.assignee if row else None

        def take(take_over: bool) -> None:
            self.run_ticket_action(
                f"#{number} is yours",
                lambda: actions.take(
                    ctx.store,
                    number,
                    ctx.actor,
                    expected_version=version,
                    at=ctx.clock(),
                    take_over=take_over,
                ),
                number=number,
            )

        if holder is None or holder == ctx.actor.email.lower():
            take(False)
            return
        self.app.push_screen(
            Confirm(
                f"#{number} is assigned to {holder}. Take it over? They are told.",
                yes="Take over",
                default=False,
            ),
            lambda yes: take(True) if yes else None,
        )

    def _open_editor(self, mode: str) -> None:
        self._flush_follow()
        row = self.queue.current
        if not self.has_class("-detail"):
            if row is None:
                return
            self.add_class("-detail")
            self.detail.show_ticket(row.number)
        self.detail.start_editing(mode)

    def action_reply(self) -> None:
        self._open_editor("reply")

    def action_note(self) -> None:
        self._open_editor("note")

    def action_close_ticket(self) -> None:
        from models import actions
        from tui.screens.prompts import Confirm

        target = self._ticket()
        if target is None:
            return
        number, version = target
        ctx = self.sd.ctx

        def close() -> None:
            closed = actions.close_ticket(
                ctx.store, number, ctx.actor, expected_version=version, at=ctx.clock()
            )
            if closed.revoke_reminder:  # as a manual revoke shows it: undo the access by hand
                self.app.call_from_thread(
                    self.notify,
                    f"Now, on the customer's side: {closed.revoke_reminder}",
                    title=f"#{number}: its RSAA was revoked",
                    severity="warning",
                    timeout=60,
                    markup=False,
                )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_ticket_action(f"#{number} closed", close, number=number)

        self.app.push_screen(
            Confirm(
                f"Close #{number}? Its active remote access agreement, if any, is revoked.",
                yes="Close",
            ),
            confirmed,
        )

    def action_reopen(self) -> None:
        from models import actions

        ctx = self.sd.ctx
        self._act(
            "#{number} reopened",
            lambda n, v: actions.reopen(
                ctx.store, n, ctx.actor, expected_version=v, at=ctx.clock()
            ),
        )

    def _with_reason(
        self, question: str, label: str, act: Callable[[int, int, str], object]
    ) -> None:
        """Ask for a reason, then run `act(number, version, reason)` as a ticket action."""
        from tui.screens.prompts import AskReason

        target = self._ticket()
        if target is None:
            return
        number, version = target

        def reason_given(reason: str | None) -> None:
            if reason:
                self.run_ticket_action(
                    label.format(number=number),
                    lambda: act(number, version, reason),
                    number=number,
                )

        self.app.push_screen(AskReason(question.format(number=number)), reason_given)

    def action_reclassify(self) -> None:
        from models.work import reclassify

        ctx = self.sd.ctx
        self._with_reason(
            "Reclassify emergency #{number} as standard: why?",
            "#{number} is now standard (refund requested)",
            lambda n, v, why: reclassify(
                ctx.store, n, ctx.actor, why, expected_version=v, config=ctx.config, at=ctx.clock()
            ),
        )

    def action_accept(self) -> None:
        from models.triage import accept_ticket

        ctx = self.sd.ctx
        self._with_reason(
            "Accept not-entitled #{number} anyway: why?",
            "#{number} accepted into the queue",
            lambda n, v, why: accept_ticket(
                ctx.store, n, ctx.actor, why, expected_version=v, at=ctx.clock()
            ),
        )

    def action_schedule(self) -> None:
        """Always in the customer's zone (the modal loads it), whether the pane is open or not."""
        number = self.current_number()
        if number is None:
            return
        from tui.screens.prompts import ScheduleModal

        self.app.push_screen(ScheduleModal(self.sd.ctx, number), self._modal_done)

    def action_acknowledge(self) -> None:
        """`A`: acknowledge the highlighted emergency, or else the oldest one still alerting
        (at 3 a.m. it is pinned on top, wherever the cursor is), with an optional comment."""
        from models.oncall import acknowledge
        from tui.screens.prompts import AskReason

        self._flush_follow()
        row = self.queue.current
        if row is None or not is_alerting(row):
            first = self.queue.row_at(0)
            row = first if first is not None and is_alerting(first) else None
        if row is None:
            self.notify("No unacknowledged emergency here", severity="warning", timeout=3)
            return
        number, version = row.number, row.version
        ctx = self.sd.ctx

        def given(comment: str | None) -> None:
            if comment is None:
                return
            self.run_ticket_action(
                f"#{number} acknowledged",
                lambda: acknowledge(
                    ctx.store, number, ctx.actor, comment, expected_version=version, at=ctx.clock()
                ),
                number=number,
            )

        self.app.push_screen(
            AskReason(
                f"Acknowledge emergency #{number} ({safe_line(row.customer)[:40]})",
                placeholder="optional comment — enter acknowledges",
                optional=True,
            ),
            given,
        )

    def action_rsaa(self) -> None:
        number = self.current_number()
        if number is None:
            return
        from tui.screens.rsaa_modal import RsaaModal

        self.app.push_screen(RsaaModal(self.sd.ctx, number), self._modal_done)

    def action_phone(self) -> None:
        number = self.current_number()
        if number is None:
            return
        from tui.screens.phone_modal import PhoneModal

        self.app.push_screen(PhoneModal(self.sd.ctx, number), self._modal_done)

    # ------------------------------------------------------------------ actions (workers)

    def current_number(self) -> int | None:
        target = self._ticket()
        return target[0] if target else None

    @work(thread=True, group="action", exit_on_error=False)
    def run_ticket_action(
        self, label: str, action: Callable[[], Any], number: int | None = None
    ) -> None:
        """Run one models.actions call off the event loop; report the outcome as a notification.

        Whatever happens, the ticket's row is re-read at once (not at the change feed's next
        poll), so the next key acts on the version just written, and a refused action shows the
        state that refused it.
        """
        try:
            action()
        except Conflict as exc:
            self.app.call_from_thread(
                self.notify,
                str(exc),
                title="Someone got there first",
                severity="warning",
                timeout=8,
            )
            self.refresh_rows(number)
            self.app.call_from_thread(self.detail.reload)
            return
        except (ActionError, StoreError) as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title="Refused", severity="error", timeout=8
            )
            return
        except Exception as exc:  # never a traceback on screen: say what failed
            self.app.call_from_thread(
                self.notify,
                f"{type(exc).__name__}: {exc}",
                title="Action failed",
                severity="error",
                timeout=10,
            )
            return
        self.refresh_rows(number)
        self.app.call_from_thread(self.notify, label, timeout=3)
        self.app.call_from_thread(self.detail.reload)

    def refresh_rows(self, number: int | None) -> None:
        """From a worker thread: re-read one ticket's queue row and merge it."""
        if number is None:
            return
        try:
            with self.sd.ctx.store.session() as session:
                rows = load_rows(session, [number])
        except Exception:  # the feed will catch up; the action's own outcome was reported
            return
        self.post_message(TicketsChanged(rows, {number}))
