"""The one list of the technician's commands.

Each command is declared once, here: its key(s), the action it runs, the words the footer, the
palette and the help screen show, its help group, and when it is available. From this list come
the `BINDINGS` of the queue screen, the queue view, the reply editor and the app; the queue
screen's `check_action` (a command that is not available is hidden from the footer and the
palette, and its key does nothing); the command palette's entries (`tui.palette`); the help
screen (`tui.screens.help`); and the README's key table (`shiftdesk keys --markdown`).

To add a command: one `Command(...)` in `COMMANDS` (in the order the footer should show it) and
its `action_<name>` method on the owner (the queue screen for `Owner.QUEUE`). Tests check that
the README, the help screen, the palette and the bindings list exactly these commands, and that
no two commands of one screen share a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from models.desk.queue import QueueRow
    from tui.screens.queue import QueueScreen


class Owner(StrEnum):
    """Whose BINDINGS a command goes into (the node whose `action_<name>` runs)."""

    QUEUE = "queue"  # tui.screens.queue.QueueScreen
    VIEW = "view"  # tui.widgets.queue_view.QueueView (has the focus on the queue screen)
    EDITOR = "editor"  # tui.widgets.detail.ReplyEditor
    APP = "app"  # tui.app.ShiftdeskApp
    TEXTUAL = "textual"  # bound by Textual itself (tab, ctrl+p): documented, not bound here


# help groups, in the order the help screen and the README show them
MOVE, VIEWS, WORK, WRITE, APP = "Move", "Views and filters", "Work a ticket", "Write", "App"
GROUPS = (MOVE, VIEWS, WORK, WRITE, APP)


@dataclass(frozen=True)
class Command:
    id: str  # the binding id ("ticket.take"): stable, so a keymap can rebind it
    keys: str  # Textual key names, comma-separated ("j,down"); the first is the main one
    action: str  # the action on the owner: "take" runs `action_take`
    label: str  # the footer's word(s)
    help: str  # what it does, for the help screen and the README
    group: str  # one of GROUPS
    owner: Owner = Owner.QUEUE
    title: str | None = None  # the palette's entry; None: not in the palette
    footer: bool = False  # shown in the footer
    available: Callable[[QueueScreen], bool] | None = None  # None: always (QUEUE commands only)
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.label,
            show=self.footer,
            priority=self.priority,
            id=self.id,
        )

    @property
    def parsed_action(self) -> tuple[str, tuple[object, ...]]:
        """(name, parameters): what `check_action` is asked about."""
        _namespace, name, parameters = parse_action(self.action)
        return name, parameters

    @property
    def key_display(self) -> str:
        """The keys as a person reads them: "j / ↓"."""
        return " / ".join(KEY_NAMES.get(key, key) for key in self.keys.split(","))


KEY_NAMES = {
    "slash": "/",
    "colon": ":",
    "question_mark": "?",
    "escape": "esc",
    "down": "↓",
    "up": "↑",
    "pagedown": "PgDn",
    "pageup": "PgUp",
}


# ---------------------------------------------------------------------- availability checks
# Predicates on the queue screen. They look at the highlighted row (what the keys act on); the
# store refuses anything stale with the reason, so a check only hides what makes no sense.


def _row(screen: QueueScreen) -> QueueRow | None:
    return screen.queue.current


def has_ticket(screen: QueueScreen) -> bool:
    return _row(screen) is not None


def is_not_closed(screen: QueueScreen) -> bool:
    row = _row(screen)
    return row is not None and row.status != "closed"


def is_closed(screen: QueueScreen) -> bool:
    row = _row(screen)
    return row is not None and row.status == "closed"


def is_assigned(screen: QueueScreen) -> bool:
    row = _row(screen)
    return row is not None and row.assignee is not None


def is_emergency(screen: QueueScreen) -> bool:
    row = _row(screen)
    return row is not None and row.kind == "emergency"


def is_not_entitled(screen: QueueScreen) -> bool:
    row = _row(screen)
    return row is not None and row.entitlement == "none"


# ---------------------------------------------------------------------- the commands

COMMANDS: tuple[Command, ...] = (
    # the queue view's own keys (it has the focus): movement
    Command("view.down", "j,down", "cursor_down", "Down", "next ticket", MOVE, Owner.VIEW),
    Command("view.up", "k,up", "cursor_up", "Up", "previous ticket", MOVE, Owner.VIEW),
    Command("view.first", "g,home", "first", "First", "first ticket", MOVE, Owner.VIEW),
    Command("view.last", "G,end", "last", "Last", "last ticket", MOVE, Owner.VIEW),
    Command("view.page_down", "pagedown", "page_down", "Page down", "page down", MOVE, Owner.VIEW),
    Command("view.page_up", "pageup", "page_up", "Page up", "page up", MOVE, Owner.VIEW),
    Command(
        "queue.open",
        "enter",
        "select",
        "Open",
        "open the detail pane (or double-click); it follows the cursor",
        MOVE,
        Owner.VIEW,
        title="Open the highlighted ticket",
        footer=True,
    ),
    Command(
        "app.focus_next",
        "tab",
        "app.focus_next",
        "Focus",
        "switch between queue and detail",
        MOVE,
        Owner.TEXTUAL,
    ),
    # the queue screen: the order here is the footer's order
    Command(
        "queue.filter",
        "slash",
        "filter_text",
        "Filter",
        "search all tickets, closed too: words, email, license key, #number",
        VIEWS,
        title="Search all tickets",
        footer=True,
    ),
    Command(
        "queue.goto",
        "colon",
        "go_to",
        "Go to #",
        "go to a ticket number",
        VIEWS,
        title="Go to a ticket number",
    ),
    Command(
        "queue.emergencies",
        "e",
        "toggle_filter('emergencies')",
        "Emergencies",
        "emergencies only (on-call view)",
        VIEWS,
        title="Toggle: emergencies only",
        footer=True,
    ),
    Command(
        "queue.mine",
        "m",
        "toggle_filter('mine')",
        "Mine",
        "mine",
        VIEWS,
        title="Toggle: my tickets",
        footer=True,
    ),
    Command(
        "queue.unassigned",
        "u",
        "toggle_filter('unassigned')",
        "Unassigned",
        "unassigned",
        VIEWS,
        title="Toggle: unassigned",
        footer=True,
    ),
    Command(
        "queue.breached",
        "b",
        "toggle_filter('breached')",
        "Breached",
        "breached",
        VIEWS,
        title="Toggle: breached",
        footer=True,
    ),
    Command(
        "queue.view_waiting",
        "w",
        "view('waiting')",
        "Waiting",
        "waiting queue (default)",
        VIEWS,
        title="View: waiting queue",
    ),
    Command(
        "queue.view_all",
        "l",
        "view('all')",
        "All",
        "all tickets, closed too",
        VIEWS,
        title="View: all tickets",
    ),
    Command(
        "queue.view_not_entitled",
        "x",
        "view('not_entitled')",
        "Not entitled",
        "not entitled",
        VIEWS,
        title="View: not entitled",
    ),
    Command(
        "queue.clear",
        "0",
        "clear_filters",
        "Clear filters",
        "clear filters and the search",
        VIEWS,
        title="Clear filters",
    ),
    Command(
        "ticket.take",
        "t",
        "take",
        "Take",
        "take (assign to me); one a colleague holds asks first",
        WORK,
        title="Take the ticket",
        footer=True,
        available=has_ticket,
    ),
    Command(
        "ticket.assign",
        "h",
        "assign",
        "Give to…",
        "give to a colleague, or (nobody): a picker of the known technicians; a colleague's "
        "ticket only after a confirm; the new assignee's console is told",
        WORK,
        title="Give the ticket to a colleague",
        available=is_not_closed,
    ),
    Command(
        "ticket.unassign",
        "U",
        "unassign",
        "Unassign",
        "unassign (back to nobody; a colleague's only after a confirm)",
        WORK,
        title="Unassign the ticket",
        available=is_assigned,
    ),
    Command(
        "ticket.reply",
        "r",
        "reply",
        "Reply",
        "reply by email (ctrl+s sends, ctrl+t inserts a canned reply); it opens with your "
        "signature under it",
        WORK,
        title="Reply by email",
        footer=True,
        available=has_ticket,
    ),
    Command(
        "ticket.note",
        "n",
        "note",
        "Note",
        "internal note",
        WORK,
        title="Add an internal note",
        available=has_ticket,
    ),
    Command(
        "ticket.phone",
        "p",
        "phone",
        "Phone",
        "phone: grant, decline, log a call",
        WORK,
        title="Phone: grant, decline or log a call",
        available=has_ticket,
    ),
    Command(
        "ticket.rsaa",
        "a",
        "rsaa",
        "RSAA",
        "record / revoke a remote server access agreement (RSAA)",
        WORK,
        title="Remote server access agreement (RSAA)",
        available=has_ticket,
    ),
    Command(
        "ticket.close",
        "c",
        "close_ticket",
        "Close",
        "close (asks first)",
        WORK,
        title="Close the ticket",
        available=is_not_closed,
    ),
    Command(
        "ticket.reopen",
        "o",
        "reopen",
        "Reopen",
        "reopen a closed ticket",
        WORK,
        title="Reopen the ticket",
        available=is_closed,
    ),
    Command(
        "ticket.reclassify",
        "R",
        "reclassify",
        "Reclassify",
        "reclassify emergency → standard (asks why)",
        WORK,
        title="Reclassify emergency as standard",
        available=is_emergency,
    ),
    Command(
        "ticket.accept",
        "Y",
        "accept",
        "Accept",
        "accept a not-entitled ticket (asks why)",
        WORK,
        title="Accept a not-entitled ticket",
        available=is_not_entitled,
    ),
    Command(
        "ticket.schedule",
        "s",
        "schedule",
        "Schedule",
        "schedule an installation / training session (customer's time)",
        WORK,
        title="Schedule installation / training",
        available=has_ticket,
    ),
    Command(
        "ticket.acknowledge",
        "A",
        "acknowledge",
        "Ack",
        "acknowledge the highlighted (else the oldest) alerting emergency: its alerts stop "
        "everywhere",
        WORK,
        title="Acknowledge the emergency (stop its alerts)",
        footer=True,
    ),
    Command(
        "queue.back",
        "escape",
        "back",
        "Back",
        "back / close the pane / end a search",
        MOVE,
        footer=True,
    ),
    Command(
        "app.report",
        "S",
        "report",
        "SLA report",
        "SLA report: first responses met (standard / emergency), median and p90, breaches, per "
        "technician, 30-day trend",
        APP,
        title="SLA report",
    ),
    Command(
        "app.help",
        "question_mark",
        "help",
        "Help",
        "this help",
        APP,
        title="Keys and help",
        footer=True,
    ),
    Command("app.quit", "q", "quit", "Quit", "quit", APP, footer=True),
    # the reply / note editor in the detail pane
    Command(
        "editor.send",
        "ctrl+s",
        "send",
        "Send",
        "send the reply / save the note (the draft is saved as you type)",
        WRITE,
        Owner.EDITOR,
        footer=True,
        priority=True,
    ),
    Command(
        "editor.template",
        "ctrl+t",
        "template",
        "Canned reply",
        "insert a canned reply: a fuzzy picker, its {customer} {ticket} {technician} "
        "{deadline} filled in",
        WRITE,
        Owner.EDITOR,
        footer=True,
        priority=True,
    ),
    Command(
        "editor.leave",
        "escape",
        "leave",
        "Leave editor",
        "leave the editor (the draft is kept)",
        WRITE,
        Owner.EDITOR,
        footer=True,
        priority=True,
    ),
    # the app
    Command(
        "app.palette",
        "ctrl+p",
        "app.command_palette",
        "Palette",
        "command palette",
        APP,
        Owner.TEXTUAL,
    ),
    Command("app.ctrl_c", "ctrl+c", "quit", "Quit", "quit", APP, Owner.APP, priority=True),
)


def commands(owner: Owner | None = None) -> Iterator[Command]:
    return (command for command in COMMANDS if owner is None or command.owner == owner)


def bindings(owner: Owner) -> list[BindingType]:
    """The BINDINGS of `owner`, generated."""
    return [command.binding() for command in commands(owner)]


_AVAILABILITY = {
    command.parsed_action: command.available
    for command in commands(Owner.QUEUE)
    if command.available is not None
}


# the footer's commands with a check: the screen redraws the footer when one of them changes
FOOTER_CHECKED = tuple(
    command.action for command in commands(Owner.QUEUE) if command.footer and command.available
)


def is_available(screen: QueueScreen, action: str, parameters: Iterable[object] = ()) -> bool:
    """Whether the queue screen's `action(*parameters)` is available now (unknown: yes)."""
    check = _AVAILABILITY.get((action, tuple(parameters)))
    return check is None or check(screen)


def help_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """(group, [(keys, what it does)]) in GROUPS order: the help screen and the README."""
    return [
        (group, [(c.key_display, c.help) for c in COMMANDS if c.group == group]) for group in GROUPS
    ]


def markdown_table() -> str:
    """The README's key table (`shiftdesk keys --markdown`)."""
    lines = ["| key | does |", "|---|---|"]
    for group, rows in help_groups():
        lines.append(f"| **{group}** | |")
        for keys, what in rows:
            shown = " / ".join(f"`{key}`" for key in keys.split(" / "))
            escaped = what.replace("|", "\\|")
            lines.append(f"| {shown} | {escaped} |")
    return "\n".join(lines) + "\n"
