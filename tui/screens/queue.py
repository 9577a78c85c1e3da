"""The main screen: header, the live FIFO queue, the detail pane, the footer."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from models.desk.actions import ActionError, Conflict
from models.desk.oncall import is_alerting
from models.desk.presence import RENEW_EVERY, RESCAN_EVERY, live_viewers
from models.desk.queue import QueueRow, load_queue, load_rows
from models.policy.sanitize import safe_line
from models.store.changes import ChangeFeed
from models.store.db import StoreError
from tui.messages import PresenceChanged, QueueLoaded, TicketsChanged
from tui.registry import FOOTER_CHECKED, Owner, bindings, is_available
from tui.screens.prompts import PROMPT
from tui.widgets.detail import DetailPane
from tui.widgets.header import HeaderBar
from tui.widgets.queue_view import (
    COUNTDOWN_WIDTH,
    SCROLLBAR_WIDTH,
    QueueData,
    QueueFilter,
    QueueView,
    build_queue_data,
    column_layout,
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
    """The queue's column titles, lined up with QueueView's columns (styled in screens.tcss)."""

    def render(self) -> Text:
        columns = column_layout(self.size.width - SCROLLBAR_WIDTH)
        return Text(
            " "
            + pad("due", COUNTDOWN_WIDTH - 1)
            + pad("ticket", columns.number)
            + pad("" if columns.compact else "kind", columns.kind)
            + pad("customer", columns.customer)
            + pad("subject", columns.subject)
            + ("" if columns.compact else "flags").rjust(columns.flags),
            no_wrap=True,
        )


class QueueScreen(Screen[None]):
    BINDINGS = bindings(Owner.QUEUE)  # tui.registry: every command declared once

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
        # presence (models.desk.presence): this console's id, the ticket its row names, when it
        # was last written; writes are serialized so the last one wins
        from models.desk.presence import new_console_id

        self.console = new_console_id()
        self._presence_wanted: int | None = None
        self._presence_written_at = 0.0
        self._presence_lock = threading.Lock()
        self._availability: tuple[bool, ...] = ()  # of the footer's commands, last shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A command whose availability check fails (tui.registry) is hidden from the footer
        and the palette, and its key does nothing."""
        return is_available(self, action, parameters)

    def _refresh_availability(self) -> None:
        """Re-check the footer's commands when what they depend on may have changed (the
        highlighted row); the footer is redrawn only when one of them changes."""
        now = tuple(is_available(self, action) for action in FOOTER_CHECKED)
        if now != self._availability:
            self._availability = now
            self.refresh_bindings()

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
        from models.desk.work import sla_policy

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
        self._refresh_availability()

    @work(thread=True, exclusive=True, group="feed", exit_on_error=False)
    def watch_changes(self, feed: ChangeFeed) -> None:
        """Poll the change feed (~2 Hz on SQLite, LISTEN on PostgreSQL) and post changed rows."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        store = self.sd.ctx.store
        backoff = 0.5
        viewers: dict[int, list[str]] | None = None
        scanned_at = 0.0
        try:
            while not worker.is_cancelled:
                try:
                    numbers = feed.poll(timeout=0.5)
                    backoff = 0.5
                    # presence: re-read after any commit, and now and then for expiries
                    if feed.woke or time.monotonic() - scanned_at >= RESCAN_EVERY:
                        feed.woke = False
                        scanned_at = time.monotonic()
                        now_viewers = live_viewers(store, time.time(), self.sd.ctx.actor.email)
                        if now_viewers != viewers:
                            viewers = now_viewers
                            self.post_message(PresenceChanged(now_viewers))
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
        self._refresh_availability()
        current = self.detail.number
        if current is not None and current in message.numbers:
            self.detail.reload()

    def _notice_taken_over(self, message: TicketsChanged) -> None:
        """A ticket became mine, or stopped being mine, by a colleague's hand: say so (it
        arrives through the change feed; who did it is read from the audit by a worker)."""
        me = self.sd.ctx.actor.email.lower()
        for row in message.rows:
            before = self.queue.row(row.number)
            if before is None or before.assignee == row.assignee:
                continue
            if me in (before.assignee, row.assignee):
                self.announce_assignment(row.number, row.subject, row.assignee == me)

    @work(thread=True, group="notice", exit_on_error=False)
    def announce_assignment(self, number: int, subject: str, mine_now: bool) -> None:
        from models.desk.actions import last_assignment

        me = self.sd.ctx.actor.email.lower()
        try:
            event = last_assignment(self.sd.ctx.store, number)
        except Exception:  # the store went away: the row shows the change anyway
            return
        if event is None or event.actor == me or (event.to == me) != mine_now:
            return  # my own doing, or a later change already undid this one
        what = f"#{number} ({safe_line(subject)[:60]})"
        if mine_now:
            text, title = f"{what} was assigned to you by {event.actor}", "Assigned to you"
        elif event.action == "take":
            text, title = f"{what} was taken over by {event.actor}", "No longer yours"
        elif event.to:
            text, title = f"{what} was reassigned to {event.to} by {event.actor}", "No longer yours"
        else:
            text, title = f"{what} was unassigned by {event.actor}", "No longer yours"
        self.app.call_from_thread(
            self.notify,
            text,
            title=title,
            severity="information" if mine_now else "warning",
            timeout=15,
            markup=False,  # customer text
        )

    # ------------------------------------------------------------------ presence

    def on_presence_changed(self, message: PresenceChanged) -> None:
        self.queue.set_viewers(message.viewers)
        self.detail.set_viewers(message.viewers)

    def sync_presence(self, *, renew: bool = False) -> None:
        """Tell the store which ticket this console's pane shows (none when closed): at once
        when it changes, every RENEW_EVERY seconds while it stays (`renew`, from the tick)."""
        if not self.sd.ctx.live:
            return
        wanted = self.detail.number if self.has_class("-detail") else None
        due = time.time() - self._presence_written_at >= RENEW_EVERY
        if wanted == self._presence_wanted and not (renew and wanted is not None and due):
            return
        self._presence_wanted = wanted
        self._presence_written_at = time.time()
        self.write_presence()

    @work(thread=True, group="presence", exit_on_error=False)
    def write_presence(self) -> None:
        """Writes one at a time, each the latest wish: the last one started always wins."""
        from models.desk import presence

        ctx = self.sd.ctx
        with self._presence_lock:
            wanted = self._presence_wanted
            try:
                if wanted is None:
                    presence.hide(ctx.store, self.console, time.time())
                else:
                    presence.show(ctx.store, self.console, ctx.actor, wanted, time.time())
            except Exception:  # best effort: the next tick tries again
                self._presence_written_at = 0.0

    def on_unmount(self) -> None:
        """Leaving (quit, SSH session closed): remove this console's presence, waiting at most
        a second for the store (the row would expire by itself within TTL)."""
        if not self.sd.ctx.live or self._presence_wanted is None:
            return
        from models.desk import presence

        store, console = self.sd.ctx.store, self.console

        def remove() -> None:
            # the store gone: the row expires by itself
            with self._presence_lock, contextlib.suppress(Exception):
                presence.hide(store, console)

        leaving = threading.Thread(target=remove, name="presence-exit", daemon=True)
        leaving.start()
        leaving.join(1.0)

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> None:
        self.queue.tick(now)
        self.refresh_header(now)
        self.detail.tick(now)
        self.sync_presence(renew=True)

    def refresh_header(self, now: float | None = None) -> None:
        now = self.sd.ctx.clock() if now is None else now
        waiting, emergencies, breached = self.queue.counts(now)
        loading = "" if self.queue.loaded else "loading…"
        self.query_one(HeaderBar).show(now, waiting, emergencies, breached, loading)

    def set_status(self, text: str) -> None:
        if text != self._status_extra:
            self._status_extra = text
            self.query_one("#status", Static).update(Text(text), layout=False)

    def update_status_line(self) -> None:
        view = self.queue
        self._refresh_availability()
        text = f" {view.filter.describe()} · {view.visible_count} shown of {view.total}"
        if self.pane_covers_queue:  # the footer is too narrow to say it
            text = f" esc: back to the queue ({text.strip()})"
            if self.detail.has_class("-editing"):
                text = " esc: leave the editor (the draft is kept) · esc again: back to the queue"
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
            self.sync_presence()

    @on(QueueView.Selected)
    def open_detail(self, message: QueueView.Selected) -> None:
        self.add_class("-detail")
        self.detail.show_ticket(message.row.number)
        self.sync_presence()
        self.fit_focus()

    # ------------------------------------------------------------------ layout

    @property
    def pane_covers_queue(self) -> bool:
        """Below 110 columns (the app's -narrow breakpoint) the open pane takes the screen."""
        return self.has_class("-narrow", "-detail")

    def fit_focus(self) -> None:
        """The focus follows the layout: on the queue while it shows, else on the pane's thread
        (the arrow keys scroll it). A focused editor or search box keeps it."""
        scroll = self.detail.query_one("#detail-scroll")
        focused = self.focused
        self.update_status_line()
        if focused not in (None, self.queue, scroll):
            return
        if self.pane_covers_queue:
            if focused is not scroll:
                scroll.focus()
        elif focused is not self.queue:
            self.queue.focus()

    def on_resize(self) -> None:
        # Screen's own handler, which runs after this one, sets the breakpoint classes
        self.call_later(self.fit_focus)

    @on(DetailPane.EditorClosed)
    def editor_closed(self) -> None:
        self.fit_focus()

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

    # ---------------------------------------------------------- search (models.store.search)

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

        from models.store.search import SearchError, search_numbers

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

    @work(group=PROMPT, exit_on_error=False)
    async def action_go_to(self) -> None:
        from tui.screens.prompts import AskReason

        text = await self.app.push_screen_wait(
            AskReason("Go to ticket", placeholder="ticket number")
        )
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

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self.query_one("#filter", Input).value = ""
            self.remove_class("-filtering")
            self.queue.focus()
        elif self.has_class("-detail"):
            self.remove_class("-detail")
            self.detail.show_ticket(None)
            self.sync_presence()
            self.queue.focus()
            self.update_status_line()
        elif self.queue.filter.found is not None:  # esc ends a search
            self._show_search("", None)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_report(self) -> None:
        from tui.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen())

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
        target = self._ticket()
        if target is None:
            return
        number, version = target
        self._take(number, version, self._holder(number))

    @work(group=PROMPT, exit_on_error=False)
    async def _take(self, number: int, version: int, holder: str | None) -> None:
        from models.desk import actions
        from tui.screens.prompts import Confirm

        ctx = self.sd.ctx
        take_over = holder is not None and holder != ctx.actor.email.lower()
        if take_over and not await self.app.push_screen_wait(
            Confirm(
                f"#{number} is assigned to {holder}. Take it over? They are told.",
                yes="Take over",
                default=False,
            )
        ):
            return
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

    def _holder(self, number: int) -> str | None:
        """The ticket's assignee as this console shows it (the pane's, else the row's)."""
        shown = self.detail.detail if self.detail.number == number else None
        if shown is not None:
            return shown.assignee
        row = self.queue.row(number)
        return row.assignee if row is not None else None

    @work(group=PROMPT, exit_on_error=False)
    async def _give(self, number: int, version: int, to: str | None, holder: str | None) -> None:
        """Give the ticket to `to` (None: nobody); a colleague's ticket only after a confirm."""
        from models.desk import actions
        from tui.screens.prompts import Confirm

        ctx = self.sd.ctx
        me = ctx.actor.email.lower()
        if to == holder:
            who = f"assigned to {to}" if to else "not assigned to anyone"
            self.notify(f"#{number} is already {who}", timeout=3)
            return
        done = (
            f"#{number} is yours"
            if to == me
            else f"#{number} given to {to}"
            if to
            else f"#{number} unassigned"
        )
        take_over = holder is not None and holder != me
        question = (
            f"#{number} is assigned to {holder}. Give it to {to}? They are told."
            if to
            else f"#{number} is assigned to {holder}. Unassign it? They are told."
        )
        if take_over and not await self.app.push_screen_wait(
            Confirm(question, yes="Give it" if to else "Unassign", default=False)
        ):
            return
        self.run_ticket_action(
            done,
            lambda: actions.assign(
                ctx.store,
                number,
                to,
                ctx.actor,
                expected_version=version,
                at=ctx.clock(),
                take_over=take_over,
            ),
            number=number,
        )

    def action_assign(self) -> None:
        """`h`: give the ticket to a technician (or nobody) picked from the known ones."""
        target = self._ticket()
        if target is None:
            return
        number, version = target
        self.pick_assignee(number, version, self._holder(number))

    @work(thread=True, group="picker", exit_on_error=False)
    def pick_assignee(self, number: int, version: int, holder: str | None) -> None:
        from models.desk.actions import known_technicians
        from tui.screens.assign_picker import NOBODY, AssignPicker

        ctx = self.sd.ctx
        try:
            technicians = known_technicians(ctx.store)
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, f"cannot list technicians: {exc}", severity="error", timeout=8
            )
            return

        def chosen(result: str | None) -> None:
            if result is not None:
                self._give(number, version, None if result == NOBODY else result, holder)

        picker = AssignPicker(number, technicians, assignee=holder, me=ctx.actor.email)
        self.app.call_from_thread(self.app.push_screen, picker, chosen)

    def action_unassign(self) -> None:
        """`U`: the ticket goes back to nobody (a colleague's only after a confirm)."""
        target = self._ticket()
        if target is None:
            return
        number, version = target
        holder = self._holder(number)
        if holder is None:
            self.notify(f"#{number} is not assigned to anyone", timeout=3)
            return
        self._give(number, version, None, holder)

    def _open_editor(self, mode: str) -> None:
        self._flush_follow()
        row = self.queue.current
        if not self.has_class("-detail"):
            if row is None:
                return
            self.add_class("-detail")
            self.detail.show_ticket(row.number)
            self.sync_presence()
        self.detail.start_editing(mode)
        self.update_status_line()

    def action_reply(self) -> None:
        self._open_editor("reply")

    def action_note(self) -> None:
        self._open_editor("note")

    def action_close_ticket(self) -> None:
        target = self._ticket()
        if target is not None:
            self._close(*target)

    @work(group=PROMPT, exit_on_error=False)
    async def _close(self, number: int, version: int) -> None:
        from models.desk import actions
        from tui.screens.prompts import Confirm

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

        if await self.app.push_screen_wait(
            Confirm(
                f"Close #{number}? Its active remote access agreement, if any, is revoked.",
                yes="Close",
            )
        ):
            self.run_ticket_action(f"#{number} closed", close, number=number)

    def action_reopen(self) -> None:
        from models.desk import actions

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
        target = self._ticket()
        if target is not None:
            self._ask_reason(question, label, act, *target)

    @work(group=PROMPT, exit_on_error=False)
    async def _ask_reason(
        self,
        question: str,
        label: str,
        act: Callable[[int, int, str], object],
        number: int,
        version: int,
    ) -> None:
        from tui.screens.prompts import AskReason

        reason = await self.app.push_screen_wait(AskReason(question.format(number=number)))
        if reason:
            self.run_ticket_action(
                label.format(number=number), lambda: act(number, version, reason), number=number
            )

    def action_reclassify(self) -> None:
        from models.desk.work import reclassify

        ctx = self.sd.ctx
        self._with_reason(
            "Reclassify emergency #{number} as standard: why?",
            "#{number} is now standard (refund requested)",
            lambda n, v, why: reclassify(
                ctx.store, n, ctx.actor, why, expected_version=v, config=ctx.config, at=ctx.clock()
            ),
        )

    def action_accept(self) -> None:
        from models.desk.triage import accept_ticket

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
        self._flush_follow()
        row = self.queue.current
        if row is None or not is_alerting(row):
            first = self.queue.row_at(0)
            row = first if first is not None and is_alerting(first) else None
        if row is None:
            self.notify("No unacknowledged emergency here", severity="warning", timeout=3)
            return
        self._acknowledge(row)

    @work(group=PROMPT, exit_on_error=False)
    async def _acknowledge(self, row: QueueRow) -> None:
        from models.desk.oncall import acknowledge
        from tui.screens.prompts import AskReason

        number, version = row.number, row.version
        ctx = self.sd.ctx
        comment = await self.app.push_screen_wait(
            AskReason(
                f"Acknowledge emergency #{number} ({safe_line(row.customer)[:40]})",
                placeholder="optional comment — enter acknowledges",
                optional=True,
            )
        )
        if comment is None:
            return
        self.run_ticket_action(
            f"#{number} acknowledged",
            lambda: acknowledge(
                ctx.store, number, ctx.actor, comment, expected_version=version, at=ctx.clock()
            ),
            number=number,
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
        """Run one models.desk.actions call off the event loop; report the outcome as a
        notification.

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
