"""The live FIFO queue, on Textual's Line API.

Rows are plain tuples; the visible order is an index list. `render_line` computes the countdown
cell from `now` at paint time and pastes it in front of a cached strip for the rest of the row,
so the 1 Hz tick changes no data and repaints only the countdown column (leftmost, because
Textual re-sends each dirty span from the left edge of the widget). Cost per repaint is
independent of the number of tickets.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from models.clock.sla import SlaPolicy
from models.desk.oncall import is_alerting, strip_emergency_prefix
from models.desk.queue import QueueRow
from models.policy.sanitize import safe_line
from models.store.tables import TicketKind
from tui.registry import Owner, bindings
from tui.widgets.countdown import Countdown, clock_for, countdown, steady_for

COUNTDOWN_WIDTH = 19
NUMBER_WIDTH = 8
KIND_WIDTH = 6
CUSTOMER_WIDTH = 18
FLAGS_WIDTH = 9
# a queue narrower than the full columns need (beside the detail pane at 120 columns): the kind
# and the flags collapse to a letter and symbols, so customer and subject stay readable
COMPACT_NUMBER_WIDTH = 7
COMPACT_KIND_WIDTH = 2
COMPACT_FLAGS_WIDTH = 4
MIN_CUSTOMER_WIDTH = 12
MIN_SUBJECT_WIDTH = 25
# the vertical scrollbar always takes this column (scrollbar-gutter: stable), so the columns never
# shift when the queue grows past one screen and the heading can line up with them
SCROLLBAR_WIDTH = 1

KIND_LABEL: dict[str, str] = {
    TicketKind.STANDARD: "std",
    TicketKind.EMERGENCY: "EMERG",
    TicketKind.INSTALLATION: "inst",
    TicketKind.TRAINING: "train",
}
# the compact kind column: standard tickets, the most, stay blank
KIND_LETTER: dict[str, str] = {
    TicketKind.EMERGENCY: "E",
    TicketKind.INSTALLATION: "i",
    TicketKind.TRAINING: "t",
}


IndexKey = tuple[float, int]  # (received_at, less PIN_OFFSET when pinned; number)
# Pinned rows sort before every other by a shifted received time, so the visible index stays a
# list of the same (received_at, number) tuples as the FIFO order: a re-filter at 100k rows
# reuses them instead of building a 3-tuple per row (~25 ms against ~240 ms measured here).
PIN_OFFSET = 1e12


def index_key(row: QueueRow) -> IndexKey:
    """Unacknowledged emergencies first (FIFO among themselves), then the rest, FIFO."""
    if is_alerting(row):
        return (row.received_at - PIN_OFFSET, row.number)
    return (row.received_at, row.number)


@dataclass(frozen=True)
class QueueFilter:
    view: str = "waiting"  # waiting | all | not_entitled
    emergencies: bool = False
    mine: bool = False
    unassigned: bool = False
    breached: bool = False
    text: str = ""
    # a store search's hits (models.store.search): only these, open and closed alike, whatever
    # the view
    found: frozenset[int] | None = None

    def describe(self) -> str:
        parts = [
            {"waiting": "waiting", "all": "all tickets", "not_entitled": "not entitled"}[self.view]
        ]
        parts += [
            name
            for name, on in (
                ("emergencies", self.emergencies),
                ("mine", self.mine),
                ("unassigned", self.unassigned),
                ("breached", self.breached),
            )
            if on
        ]
        if self.found is not None:
            parts[0] = f"search “{self.text}”: {len(self.found)} found"
        elif self.text:
            parts.append(f"“{self.text}”")
        return " · ".join(parts)


def start_filter(view: str) -> QueueFilter:
    """The filter for a `--view` / `[oncall] view` name (models.policy.config.ONCALL_VIEWS)."""
    view = view.replace("_", "-")
    if view in ("waiting", "all"):
        return QueueFilter(view=view)
    if view == "not-entitled":
        return QueueFilter(view="not_entitled")
    flags = {"emergencies", "mine", "unassigned", "breached"}
    if view in flags:
        return QueueFilter(**{name: name == view for name in flags})  # type: ignore[arg-type]
    raise ValueError(f"unknown view {view!r}")


@dataclass
class QueueData:
    """The queue's rows with everything derived from them, built off the event loop."""

    rows: dict[int, QueueRow]
    order: list[tuple[float, int]]  # (received_at, number), FIFO
    deadline_of: dict[int, float]  # waiting tickets only
    deadlines: list[tuple[float, int]]  # the same, sorted by deadline
    emergencies: set[int]  # waiting emergency tickets
    alerting: list[QueueRow]  # unacknowledged emergencies (on-call), FIFO


def build_queue_data(rows: Iterable[QueueRow], policy: SlaPolicy) -> QueueData:
    """O(N) work for a full load: run it in a worker with a policy of its own (100k rows ~0.4 s)."""
    by_number = {row.number: row for row in rows}
    deadline_of: dict[int, float] = {}
    emergencies: set[int] = set()
    alerting: list[QueueRow] = []
    for row in by_number.values():
        clock = clock_for(row)
        if clock is not None:
            deadline_of[row.number] = policy.deadline(clock.kind, clock.basis)
            if row.kind == TicketKind.EMERGENCY:
                emergencies.add(row.number)
                if is_alerting(row):
                    alerting.append(row)
    return QueueData(
        rows=by_number,
        order=sorted((row.received_at, row.number) for row in by_number.values()),
        deadline_of=deadline_of,
        deadlines=sorted((d, n) for n, d in deadline_of.items()),
        emergencies=emergencies,
        alerting=sorted(alerting, key=index_key),
    )


@dataclass(frozen=True)
class Columns:
    """The queue's column widths for one width (the countdown, leftmost, is always the same)."""

    number: int
    kind: int
    customer: int
    subject: int
    flags: int  # the separating space included
    compact: bool = False  # kind as a letter, flags as symbols, no titles over either


def column_layout(width: int) -> Columns:
    """The columns for a queue `width` cells wide (the scrollbar not included): every column
    when customer and subject still get MIN_CUSTOMER_WIDTH and MIN_SUBJECT_WIDTH that way, else
    compact ones (kind as a letter, flags as symbols); the subject always gets the most."""
    available = width - COUNTDOWN_WIDTH - NUMBER_WIDTH - KIND_WIDTH - FLAGS_WIDTH
    if available >= MIN_CUSTOMER_WIDTH + MIN_SUBJECT_WIDTH:
        customer = min(CUSTOMER_WIDTH, available // 3)
        return Columns(NUMBER_WIDTH, KIND_WIDTH, customer, available - customer, FLAGS_WIDTH)
    fixed = COUNTDOWN_WIDTH + COMPACT_NUMBER_WIDTH + COMPACT_KIND_WIDTH + COMPACT_FLAGS_WIDTH
    available = max(width - fixed, 0)
    customer = min(CUSTOMER_WIDTH, max(available // 3, min(MIN_CUSTOMER_WIDTH, available // 2)))
    return Columns(
        COMPACT_NUMBER_WIDTH,
        COMPACT_KIND_WIDTH,
        customer,
        available - customer,
        COMPACT_FLAGS_WIDTH,
        compact=True,
    )


def pad(text: str, width: int) -> str:
    """Exactly `width` terminal cells (wide characters counted as two), "…" when cut."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class QueueView(ScrollView, can_focus=True):
    """FIFO list of tickets with live countdowns."""

    BINDINGS = bindings(Owner.VIEW)  # tui.registry

    COMPONENT_CLASSES = {
        "queue--cursor",
        "queue--emergency",
        "queue--ok",
        "queue--warning",
        "queue--critical",
        "queue--breached",
        "queue--paused",
        "queue--none",
        "queue--flags",
        "queue--number",
        "queue--alerting",
        "queue--marker",
    }

    DEFAULT_CSS = """
    QueueView {
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
    }
    QueueView > .queue--cursor { background: $accent 40%; }
    QueueView:focus > .queue--cursor { background: $accent 70%; text-style: bold; }
    QueueView > .queue--emergency { color: $error; text-style: bold; }
    QueueView > .queue--ok { color: $success; }
    QueueView > .queue--warning { color: $warning; }
    QueueView > .queue--critical { color: $error; text-style: bold; }
    QueueView > .queue--breached { color: $text; background: $error 60%; text-style: bold; }
    QueueView > .queue--paused { color: $text-muted; text-style: dim; }
    QueueView > .queue--none { color: $text-muted; }
    QueueView > .queue--flags { color: $secondary; }
    QueueView > .queue--number { color: $text-muted; }
    /* an unacknowledged emergency: pinned on top, its number and kind lit up */
    QueueView > .queue--alerting { color: $text; background: $error; text-style: bold; }
    QueueView > .queue--marker { color: $error; text-style: bold; }
    /* NO_COLOR turns colours into greys (red on black reads dark grey): urgency is reverse and
       bold instead, never a dim grey */
    QueueView:nocolor > .queue--emergency { color: $text; text-style: bold reverse; }
    QueueView:nocolor > .queue--alerting { color: $text; text-style: bold reverse; }
    QueueView:nocolor > .queue--marker { color: $text; text-style: bold reverse; }
    QueueView:nocolor > .queue--warning { color: $text; text-style: bold; }
    QueueView:nocolor > .queue--critical { color: $text; text-style: bold reverse; }
    QueueView:nocolor > .queue--breached { color: $text; text-style: bold reverse; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)
    _base_style: Style | None = None  # rich_style, until the styles change

    @property
    def rich_style(self) -> Style:
        """DOMNode.rich_style walks every ancestor on each call, and the queue asks for each line
        it paints (a third of a repaint's cost): kept as Textual keeps component styles."""
        if self._base_style is None:
            self._base_style = super().rich_style
        return self._base_style

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()

    class Highlighted(Message):
        def __init__(self, row: QueueRow | None) -> None:
            super().__init__()
            self.row = row

    class Selected(Message):
        def __init__(self, row: QueueRow) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self,
        policy: SlaPolicy,
        zone: str,
        *,
        me: str,
        now: float,
        ascii_flags: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.policy = policy
        self.zone = zone
        self.me = me.lower()
        self.now = now
        self.ascii_flags = ascii_flags
        self.filter = QueueFilter()
        self._rows: dict[int, QueueRow] = {}
        self._order: list[tuple[float, int]] = []  # (received_at, number), FIFO
        self._index: list[int] = []  # visible ticket numbers, in order
        self._index_keys: list[IndexKey] = []  # their index_key, for bisect
        self._deadlines: list[tuple[float, int]] = []  # waiting tickets, sorted by deadline
        self._deadline_of: dict[int, float] = {}
        self._emergencies: set[int] = set()  # waiting emergency tickets
        self._alerting: set[int] = set()  # unacknowledged emergencies: pinned on top
        self._strip_cache: dict[tuple[int, int, int, bool], Strip] = {}
        self.viewers: dict[int, list[str]] = {}  # ticket -> colleagues viewing it now
        self._painted: dict[int, tuple[int, str, str]] = {}  # line -> (ticket, text, state)
        # countdowns computed by tick() for `now`, reused by render_line (not computed twice)
        self._cells: dict[int, Countdown] = {}
        self._cells_at = 0.0
        # ticket -> until when its painted cell still reads right (countdown.steady_for): the tick
        # skips it till then; emptied whenever rows change
        self._steady_until: dict[int, float] = {}
        self._breached_seen = -1  # breached count at the last re-filter ("breached only" view)
        self.loaded = False

    # ------------------------------------------------------------------ data

    @property
    def visible_count(self) -> int:
        return len(self._index)

    @property
    def total(self) -> int:
        return len(self._rows)

    def row_at(self, position: int) -> QueueRow | None:
        if 0 <= position < len(self._index):
            return self._rows.get(self._index[position])
        return None

    @property
    def current(self) -> QueueRow | None:
        return self.row_at(self.cursor)

    def row(self, number: int) -> QueueRow | None:
        """Ticket `number`'s row as the queue holds it now (visible or not)."""
        return self._rows.get(number)

    def position_of(self, number: int) -> int | None:
        """Where ticket `number` is shown, or None (a key press's lookup: O(N) is fine)."""
        try:
            return self._index.index(number)
        except ValueError:
            return None

    def set_rows(self, rows: Iterable[QueueRow], *, complete: bool = True) -> None:
        """Replace every row (keeps the cursor on the same ticket when it is still there)."""
        self.set_data(build_queue_data(rows, self.policy), complete=complete)

    def set_data(self, data: QueueData, *, complete: bool = True) -> None:
        keep = self.current.number if self.current else None
        self._rows = data.rows
        self._order = data.order
        self._deadline_of = data.deadline_of
        self._deadlines = data.deadlines
        self._emergencies = data.emergencies
        self._alerting = {row.number for row in data.alerting}
        self._steady_until.clear()
        self.loaded = complete
        self._reindex(keep)

    def _track_deadline(self, row: QueueRow) -> None:
        clock = clock_for(row)
        if clock is not None:
            self._deadline_of[row.number] = self.policy.deadline(clock.kind, clock.basis)
            if row.kind == TicketKind.EMERGENCY:
                self._emergencies.add(row.number)

    def upsert(self, rows: Iterable[QueueRow], gone: Iterable[int] = ()) -> None:
        """Merge changed rows (from the change feed) without walking the whole queue: each
        row moves in the sorted lists by bisection (a full re-filter at 100k rows costs ~0.1 s
        of the event loop, for every ticket that arrives)."""
        keep = self.current.number if self.current else None
        needle = self.filter.text.lower()
        changed: set[int] = set(gone)
        first = len(self._index)  # no shown line above the first change moves or changes
        for number in gone:
            first = min(first, self._unindex(number))
            self._drop(number)
        for row in rows:
            changed.add(row.number)
            first = min(first, self._unindex(row.number))
            self._drop(row.number)
            self._rows[row.number] = row
            if is_alerting(row):
                self._alerting.add(row.number)
            key = (row.received_at, row.number)
            insort(self._order, key)
            self._track_deadline(row)
            if row.number in self._deadline_of:
                insort(self._deadlines, (self._deadline_of[row.number], row.number))
            if self._matches(row, self.now, needle):
                pinned_key = index_key(row)
                position = bisect_left(self._index_keys, pinned_key)
                self._index_keys.insert(position, pinned_key)
                self._index.insert(position, row.number)
                first = min(first, position)
        self._breached_seen = bisect_left(self._deadlines, (self.now, -1))
        # the changed tickets' cached lines go (some changes keep the version); the rest stay
        for stale in [cached for cached in self._strip_cache if cached[0] in changed]:
            del self._strip_cache[stale]
        for number in changed:
            self._steady_until.pop(number, None)
        self._after_index_change(keep, first)

    def _unindex(self, number: int) -> int:
        """Take ticket `number` out of the shown index; where it was (else past the end)."""
        old = self._rows.get(number)
        if old is None:
            return len(self._index)
        key = index_key(old)
        position = bisect_left(self._index_keys, key)
        if position < len(self._index_keys) and self._index_keys[position] == key:
            del self._index_keys[position]
            del self._index[position]
            return position
        return len(self._index)

    def _drop(self, number: int) -> None:
        old = self._rows.pop(number, None)
        if old is None:
            return
        key = (old.received_at, old.number)
        i = bisect_left(self._order, key)
        if i < len(self._order) and self._order[i] == key:
            del self._order[i]
        self._emergencies.discard(number)
        self._alerting.discard(number)
        deadline = self._deadline_of.pop(number, None)
        if deadline is not None:
            j = bisect_left(self._deadlines, (deadline, number))
            if j < len(self._deadlines) and self._deadlines[j] == (deadline, number):
                del self._deadlines[j]

    def counts(self, now: float) -> tuple[int, int, int]:
        """(waiting, emergencies waiting, breached) over the whole queue, not the filter."""
        waiting = len(self._deadlines)
        breached = bisect_left(self._deadlines, (now, -1))
        return waiting, len(self._emergencies), breached

    def set_filter(self, query: QueueFilter) -> None:
        keep = self.current.number if self.current else None
        self.filter = query
        self._reindex(keep)

    def _matches(self, row: QueueRow, now: float, needle: str) -> bool:
        f = self.filter
        if f.found is not None:
            if row.number not in f.found:
                return False
        elif f.view == "waiting":
            if clock_for(row) is None:
                return False
        elif f.view == "not_entitled" and (row.entitlement != "none" or row.status == "closed"):
            return False
        if f.emergencies and row.kind != TicketKind.EMERGENCY:
            return False
        if f.mine and (row.assignee or "").lower() != self.me:
            return False
        if f.unassigned and row.assignee is not None:
            return False
        if f.breached:
            deadline = self._deadline_of.get(row.number)
            if deadline is None or deadline >= now:
                return False
        if needle and f.found is None:
            hay = f"#{row.number} {row.subject} {row.customer} {row.assignee or ''}".lower()
            if needle not in hay:
                return False
        return True

    def _reindex(self, keep: int | None) -> None:
        now = self.now
        rows = self._rows
        needle = self.filter.text.lower()
        matched = [key for key in self._order if self._matches(rows[key[1]], now, needle)]
        if self._alerting:  # a handful of pinned rows: moved to the front by bisection
            pinned: list[IndexKey] = []
            for number in self._alerting:
                key = (rows[number].received_at, number)
                i = bisect_left(matched, key)
                if i < len(matched) and matched[i] == key:
                    del matched[i]
                    pinned.append((key[0] - PIN_OFFSET, number))
            matched = sorted(pinned) + matched
        self._index_keys = matched
        self._index = [number for _, number in self._index_keys]
        self._breached_seen = bisect_left(self._deadlines, (now, -1))
        self._strip_cache.clear()
        self._after_index_change(keep)

    def _after_index_change(self, keep: int | None, first: int = 0) -> None:
        """Size, cursor (on the same ticket when it is still shown) and a repaint of the shown
        lines from position `first` on (a ticket arriving at the end repaints one line, not the
        whole queue)."""
        size = Size(self.scrollable_content_region.width, len(self._index))
        if size != self.virtual_size:
            # as Textual does when no layout is needed: one more row changes the scrollbar, never
            # another widget, and a layout re-renders the whole screen (~15 ms a ticket here)
            self.set_reactive(QueueView.virtual_size, size)
            self._scroll_update(size)
        row = self._rows.get(keep) if keep is not None else None
        position = -1
        if row is not None:
            key = index_key(row)
            position = bisect_left(self._index_keys, key)
            if position >= len(self._index_keys) or self._index_keys[position] != key:
                position = -1
        if position >= 0:
            self.cursor = position
        else:
            self.cursor = min(self.cursor, max(len(self._index) - 1, 0))
        y = max(first - int(self.scroll_offset.y), 0)
        if y == 0:
            self.refresh()
        elif y < self.size.height:
            self.refresh(Region(0, y, self.size.width, self.size.height - y))

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> None:
        """Repaint only the countdown column (and re-filter when 'breached only' is on)."""
        self.now = now
        if self.filter.breached and bisect_left(self._deadlines, (now, -1)) != self._breached_seen:
            # only when a ticket crossed its deadline: a re-filter walks every row
            self._reindex(self.current.number if self.current else None)
            return
        self._cells = {}
        self._cells_at = now
        top = int(self.scroll_offset.y)
        for y in range(self.size.height):
            row = self.row_at(top + y)
            painted = self._painted.get(y)
            if row is None:
                if painted is not None:
                    self.refresh(Region(0, y, self.scrollable_content_region.width, 1))
                continue
            if painted is not None and painted[0] == row.number:
                if now < self._steady_until.get(row.number, now):
                    continue  # its cell cannot read differently yet
                self._steady_until[row.number] = now + steady_for(self.policy, row, now) - 0.001
            cell = self._cells[row.number] = countdown(self.policy, row, now, self.zone)
            if painted == (row.number, cell.text, cell.state):
                continue
            if painted is None or painted[0] != row.number or painted[2] != cell.state:
                self.refresh(Region(0, y, COUNTDOWN_WIDTH, 1))
                continue
            # same ticket, same style: resend only up to the last changed character
            # ("42m 10s" -> "42m 09s" costs 8 cells, not 19): SSH bandwidth
            old_text, new_text = (
                pad(painted[1], COUNTDOWN_WIDTH - 2),
                pad(cell.text, COUNTDOWN_WIDTH - 2),
            )
            last = (
                max(i for i, (a, b) in enumerate(zip(old_text, new_text, strict=False)) if a != b)
                if old_text != new_text
                else 0
            )
            self.refresh(Region(0, y, min(last + 2, COUNTDOWN_WIDTH), 1))

    # ------------------------------------------------------------------ cursor

    def watch_cursor(self, old: int, new: int) -> None:
        # the strip cache is keyed by "selected": only the two lines need painting again
        top = int(self.scroll_offset.y)
        for position in (old, new):
            self.refresh(Region(0, position - top, self.scrollable_content_region.width, 1))
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True, immediate=True)
        self.post_message(self.Highlighted(self.row_at(new)))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, max(len(self._index) - 1, 0)))

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._index) - 1

    def action_page_down(self) -> None:
        self.cursor += max(self.size.height - 1, 1)

    def action_page_up(self) -> None:
        self.cursor -= max(self.size.height - 1, 1)

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(row))

    def on_click(self, event: events.Click) -> None:
        position = event.y + int(self.scroll_offset.y)
        if 0 <= position < len(self._index):
            self.cursor = position
            if event.chain >= 2:
                self.action_select()

    def on_resize(self, _event: events.Resize) -> None:
        self._strip_cache.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._index))

    # ------------------------------------------------------------------ paint

    def set_viewers(self, viewers: dict[int, list[str]]) -> None:
        """Who views which ticket now (models.desk.presence): repaint the rows whose marker
        changed."""
        changed = {
            n for n in viewers.keys() | self.viewers.keys() if viewers.get(n) != self.viewers.get(n)
        }
        self.viewers = viewers
        if changed:
            self._strip_cache.clear()
            self.refresh()

    def viewing_marker(self, number: int, *, compact: bool = False) -> str:
        """ "◉ana" ("*ana" in ASCII): a colleague has the ticket open; "+" when several do.
        `compact`: the glyph alone."""
        names = self.viewers.get(number)
        if not names:
            return ""
        if compact:
            return "*" if self.ascii_flags else "◉"
        first = names[0].split()[0].lower()[:4] if names[0].split() else "?"
        return ("*" if self.ascii_flags else "◉") + first + ("+" if len(names) > 1 else "")

    def flags(self, row: QueueRow, *, compact: bool = False) -> str:
        """Viewing now, phone requested, RSAA active, assignee; `compact`: symbols only, the
        assignee as "m" (me) or "@" (a colleague), the whole at most COMPACT_FLAGS_WIDTH - 1
        cells."""
        parts = []
        viewing = self.viewing_marker(row.number, compact=compact)
        if viewing:  # first: the flags column keeps its left end when it overflows
            parts.append(viewing)
        if row.phone_requested:
            parts.append("P" if self.ascii_flags else "☎")
        if row.rsaa_active:
            parts.append("K" if self.ascii_flags else "⚿")
        if row.assignee:
            mine = row.assignee.lower() == self.me
            if compact:
                parts.append("m" if mine else "@")
            else:
                parts.append("me" if mine else row.assignee.split("@", 1)[0][:5])
        return ("" if compact else " ").join(parts)

    def _rest_of_line(self, row: QueueRow, width: int, selected: bool) -> Strip:
        key = (row.number, row.version, width, selected)
        cached = self._strip_cache.get(key)
        if cached is not None:
            return cached
        base = self.rich_style
        cursor = self.get_component_rich_style("queue--cursor") if selected else Style()
        emergency = row.kind == TicketKind.EMERGENCY
        kind_style = self.get_component_rich_style("queue--emergency") if emergency else Style()
        alerting = is_alerting(row)
        label_style = self.get_component_rich_style("queue--alerting") if alerting else kind_style
        subject = strip_emergency_prefix(row.subject) if emergency else row.subject
        # a whole reversed subject is too loud: without colour the subject is just bold
        subject_style = Style(bold=True) if emergency and self.app.no_color else kind_style
        columns = column_layout(width)
        if columns.compact:
            kind_label = KIND_LETTER.get(row.kind, "")
        else:
            kind_label = KIND_LABEL.get(row.kind, row.kind)
        flags = self.flags(row, compact=columns.compact)[: columns.flags - 1]
        segments = [
            Segment(
                pad(f"#{row.number}", columns.number),
                base
                + self.get_component_rich_style("queue--alerting" if alerting else "queue--number")
                + cursor,
            ),
            Segment(pad(kind_label, columns.kind - 1), base + label_style + cursor),
            Segment(" ", base + cursor),
            Segment(  # a full-width name must not run into the subject
                pad(safe_line(row.customer), columns.customer - 1)
                + (" " if columns.customer else ""),
                base + cursor,
            ),
            Segment(
                pad(safe_line(subject), columns.subject),
                base + (subject_style if emergency else Style()) + cursor,
            ),
            Segment(
                " " + pad(flags.rjust(columns.flags - 1), columns.flags - 1),
                base + self.get_component_rich_style("queue--flags") + cursor,
            ),
        ]
        strip = Strip(segments).crop(0, max(width - COUNTDOWN_WIDTH, 0))
        if len(self._strip_cache) > 4096:
            self._strip_cache.clear()
        self._strip_cache[key] = strip
        return strip

    def countdown_cell(self, row: QueueRow, selected: bool, y: int) -> list[Segment]:
        cell = self._cells.get(row.number) if self._cells_at == self.now else None
        if cell is None:
            cell = countdown(self.policy, row, self.now, self.zone)
        self._painted[y] = (row.number, cell.text, cell.state)
        style = self.rich_style + self.get_component_rich_style(f"queue--{cell.state}")
        if selected:
            style += self.get_component_rich_style("queue--cursor")
        text = " " + pad(cell.text, COUNTDOWN_WIDTH - 2) + " "
        if is_alerting(row):  # the pin marker: leftmost, so it costs the tick nothing extra
            marker = self.rich_style + self.get_component_rich_style("queue--marker")
            return [Segment("!", marker), Segment(text[1:], style)]
        return [Segment(text, style)]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width  # `size` includes the scrollbar
        position = int(self.scroll_offset.y) + y
        row = self.row_at(position)
        if row is None:
            self._painted.pop(y, None)
            if position == 0 and self.loaded and not self._index:
                text = "  nothing here — " + self.filter.describe()
                return Strip(
                    [
                        Segment(
                            pad(text, width),
                            self.rich_style + self.get_component_rich_style("queue--none"),
                        )
                    ]
                )
            return Strip.blank(width, self.rich_style)
        selected = position == self.cursor
        rest = self._rest_of_line(row, width, selected)
        return Strip([*self.countdown_cell(row, selected, y), *rest]).crop(0, width)
