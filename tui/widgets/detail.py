"""The detail pane (placeholder until the ticket read model lands)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class DetailPane(VerticalScroll):
    DEFAULT_CSS = "DetailPane { border-left: solid $panel; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.number: int | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="detail-body")

    def show_ticket(self, number: int | None) -> None:
        self.number = number
        self.query_one("#detail-body", Static).update(Text(f"#{number}" if number else ""))

    def reload(self) -> None:
        self.show_ticket(self.number)

    def tick(self, now: float) -> None:
        pass
