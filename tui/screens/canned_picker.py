"""ctrl+t in the reply editor: pick a canned reply, filled in for this ticket.

Type to filter (fuzzy on the name, every word on the text), ↑/↓ to move, enter inserts the
highlighted reply at the editor's cursor, esc cancels. The preview shows the reply as the
customer will read it; stored and customer text is always shown literally (`rich.text.Text`
after `models.policy.sanitize`). Styles live in screens.tcss (`CannedPicker`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from models.desk.canned import CannedInfo, CannedVariables, render, summary_line
from models.policy.sanitize import safe_line, safe_text
from tui.widgets.forms import one_line, run_in_thread

if TYPE_CHECKING:
    from tui.context import AppContext

HOW_TO_ADD = (
    "No canned replies yet. Add one from a shell:\n\n"
    "  shiftdesk canned add NAME --body-file FILE\n\n"
    "{customer}, {ticket}, {technician} and {deadline} in its text are filled in for the "
    "ticket you reply to."
)
PREVIEW_LINES = 12
PROMPT_WIDTH = 76  # before the list has a size


def rank(replies: list[CannedInfo], query: str) -> list[CannedInfo]:
    """The replies that match `query`, best first: a fuzzy match on the name ranks above one
    where every word of the query appears in the text; an empty query keeps them all, by name."""
    words = query.lower().split()
    if not words:
        return list(replies)
    matcher = Matcher(query.strip())
    scored: list[tuple[float, int, CannedInfo]] = []
    for index, reply in enumerate(replies):
        score = matcher.match(reply.name)
        if score <= 0:
            body = reply.body.lower()
            score = 0.01 if all(word in body for word in words) else 0.0
        else:
            score += 1.0  # any name match outranks a text match
        if score > 0:
            scored.append((-score, index, reply))
    return [reply for _, _, reply in sorted(scored, key=lambda item: (item[0], item[1]))]


def _prompt(reply: CannedInfo, width: int) -> Text:
    """One line: the name, then the first line of substance, cut to `width` (OptionList would
    wrap a long prompt over several rows)."""
    prompt = Text(safe_line(reply.name), style="bold", no_wrap=True, overflow="ellipsis")
    prompt.append(f"  {summary_line(reply.body)}", style="dim")
    prompt.truncate(max(10, width), overflow="ellipsis")
    return prompt


class CannedPicker(ModalScreen[str | None]):
    """Returns the chosen reply rendered for `variables`, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="canned.cancel"),
        Binding("down", "move(1)", "Next", show=False, priority=True),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
        Binding("pagedown", "move(5)", "Page down", show=False, priority=True),
        Binding("pageup", "move(-5)", "Page up", show=False, priority=True),
    ]

    def __init__(self, variables: CannedVariables) -> None:
        super().__init__()
        self.variables = variables
        self.replies: list[CannedInfo] | None = None  # None while loading
        self.shown: list[CannedInfo] = []

    @property
    def ctx(self) -> AppContext:
        from tui.app import ShiftdeskApp

        assert isinstance(self.app, ShiftdeskApp)
        return self.app.ctx

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-dialog"):
            yield Label(
                Text(f"Canned reply for #{self.variables.ticket}", style="bold"),
                id="canned-title",
            )
            yield Input(placeholder="type to filter by name or text", id="canned-filter")
            yield OptionList(id="canned-list")
            yield Static(Text("loading…"), id="canned-preview")
            yield Static(
                Text("enter inserts at the cursor · ↑/↓ choose · esc cancels"), id="canned-keys"
            )

    def on_mount(self) -> None:
        self.query_one("#canned-filter", Input).focus()
        ctx = self.ctx

        def load() -> tuple[list[CannedInfo], str]:
            from models.desk.canned import list_canned, technician_name

            return list_canned(ctx.store), technician_name(ctx.store, ctx.actor)

        run_in_thread(self, load, self._loaded, self._failed, group="canned")

    def _loaded(self, result: tuple[list[CannedInfo], str]) -> None:
        replies, technician = result
        self.variables = dataclasses.replace(self.variables, technician=technician)
        self.replies = replies
        if not replies:
            self.add_class("-empty")
            self.query_one("#canned-preview", Static).update(Text(HOW_TO_ADD))
            self.query_one("#canned-keys", Static).update(Text("esc closes"))
            return
        self.refilter()

    def _failed(self, exc: Exception) -> None:
        self.query_one("#canned-preview", Static).update(
            Text(f"Could not load the canned replies: {one_line(exc)}", style="red")
        )

    @on(Input.Changed, "#canned-filter")
    def refilter(self) -> None:
        if not self.replies:
            return
        query = self.query_one("#canned-filter", Input).value
        self.shown = rank(self.replies, query)
        options = self.query_one("#canned-list", OptionList)
        options.clear_options()
        width = options.scrollable_content_region.width or PROMPT_WIDTH
        options.add_options([Option(_prompt(reply, width - 1)) for reply in self.shown])
        if self.shown:
            options.highlighted = 0
        else:
            self.query_one("#canned-preview", Static).update(
                Text(f"Nothing matches {safe_line(query)!r}", style="dim")
            )

    @on(OptionList.OptionHighlighted, "#canned-list")
    def preview(self, event: OptionList.OptionHighlighted) -> None:
        if not 0 <= event.option_index < len(self.shown):
            return
        text = render(self.shown[event.option_index].body, self.variables).rstrip("\n")
        lines = text.split("\n")
        if len(lines) > PREVIEW_LINES:
            lines = [*lines[:PREVIEW_LINES], f"… {len(lines) - PREVIEW_LINES} more lines"]
        self.query_one("#canned-preview", Static).update(Text(safe_text("\n".join(lines))))

    def action_move(self, step: int) -> None:
        options = self.query_one("#canned-list", OptionList)
        if not self.shown:
            return
        current = options.highlighted if options.highlighted is not None else 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    @on(Input.Submitted, "#canned-filter")
    def submitted(self) -> None:
        index = self.query_one("#canned-list", OptionList).highlighted
        self.choose(index)

    @on(OptionList.OptionSelected, "#canned-list")
    def selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option_index)

    def choose(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.shown):
            return
        # no trailing newline: the signature below brings its own blank line
        self.dismiss(render(self.shown[index].body, self.variables).rstrip("\n"))

    def action_cancel(self) -> None:
        self.dismiss(None)
