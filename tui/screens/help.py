"""`?`: every key, grouped, generated from the command registry so it never drifts from it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.registry import help_groups


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, keys in help_groups():
            table.add_row(Text(title, style="bold underline"), "")
            for key, what in keys:
                table.add_row(Text(key), Text(what))
            table.add_row("", "")
        with VerticalScroll(id="help-keys"):
            yield Static(table)
            yield Static(
                Text(
                    "esc closes · every action is also in the command palette (ctrl+p)", style="dim"
                )
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
