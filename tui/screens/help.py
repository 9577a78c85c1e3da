"""`?`: every key, grouped, generated from the bindings so it never drifts from them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Move",
        [
            ("j / ↓", "next ticket"),
            ("k / ↑", "previous ticket"),
            ("g / G", "first / last"),
            ("PgUp / PgDn", "page"),
            ("enter / click", "open the detail pane"),
            ("tab", "switch between queue and detail"),
            ("esc", "back / close the pane"),
        ],
    ),
    (
        "Views and filters",
        [
            ("/", "search all tickets: words, email, license key, #number"),
            (":", "go to a ticket number"),
            ("e", "emergencies only (on-call view)"),
            ("m", "mine"),
            ("u", "unassigned"),
            ("b", "breached"),
            ("w", "waiting queue (default)"),
            ("l", "all tickets, closed too"),
            ("x", "not entitled"),
            ("0", "clear filters"),
        ],
    ),
    (
        "Work a ticket",
        [
            ("A", "acknowledge an alerting emergency (stops its alerts everywhere)"),
            ("t", "take (assign to me)"),
            ("r", "reply by email (ctrl+s sends)"),
            ("n", "internal note"),
            ("p", "phone: grant, decline, log a call"),
            ("a", "remote access agreement (RSAA)"),
            ("c", "close (asks first)"),
            ("o", "reopen a closed ticket"),
            ("R", "reclassify emergency → standard"),
            ("Y", "accept a not-entitled ticket"),
            ("s", "schedule (installation/training)"),
        ],
    ),
    (
        "App",
        [
            ("S", "SLA report: first responses met, breaches, per technician"),
            ("?", "this help"),
            ("ctrl+p", "command palette"),
            ("q", "quit"),
        ],
    ),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, keys in KEY_GROUPS:
            table.add_row(Text(title, style="bold underline"), "")
            for key, what in keys:
                table.add_row(Text(key), Text(what))
            table.add_row("", "")
        with VerticalScroll():
            yield Static(table)
            yield Static(
                Text(
                    "esc closes · every action is also in the command palette (ctrl+p)", style="dim"
                )
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
