"""`h`: give the ticket to a technician, or to nobody — a typed, fuzzy-filtered picker.

Only the store's known technicians are offered (`models.desk.actions.known_technicians`); typed text
filters them and never becomes a new address: a typo would park the ticket with somebody who
does not exist and whom no console tells (the CLI refuses unknown addresses too).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from models.policy.sanitize import safe_line

NOBODY = ""  # the picker's result for "(nobody)": unassign


class AssignPicker(ModalScreen[str | None]):
    """Dismisses with the chosen technician's email, NOBODY to unassign, None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(
        self,
        number: int,
        technicians: list[tuple[str, str]],
        *,
        assignee: str | None,
        me: str,
    ) -> None:
        super().__init__()
        self.number = number
        self.technicians = technicians  # (email, name)
        self.assignee = assignee
        self.me = me.lower()
        self.shown: list[str] = []  # the option ids in display order (emails, NOBODY)

    def compose(self) -> ComposeResult:
        holder = f"assigned to {self.assignee}" if self.assignee else "unassigned"
        with Vertical():
            yield Label(Text(f"Give #{self.number} to… ({holder})", style="bold"))
            yield Input(placeholder="type a name or address", id="who")
            yield OptionList(id="choices")
            yield Static(Text("enter gives it · esc cancels · only known technicians"), id="hint")

    def on_mount(self) -> None:
        self.fill("")
        self.query_one(Input).focus()

    def _label(self, email: str, name: str, matcher: Matcher | None) -> Content:
        # Content(...) is plain text, never markup: names come from the store
        label = matcher.highlight(safe_line(name)) if matcher else Content(safe_line(name))
        note = "  (has it)" if email == self.assignee else "  (me)" if email == self.me else ""
        return Content.assemble(label, (f"  {safe_line(email)}", "dim"), (note, "italic"))

    @staticmethod
    def _score(matcher: Matcher, typed: str, email: str, name: str) -> float:
        """The name or the address's local part; the whole address only once "@" is typed
        (every address shares the domain: "k" would match them all through "desk")."""
        local = email.split("@", 1)[0]
        whole = matcher.match(email) if "@" in typed else 0.0
        return max(matcher.match(name), matcher.match(local), whole)

    def fill(self, typed: str) -> None:
        """The options matching `typed` (fuzzy on name and address), best first."""
        options = self.query_one(OptionList)
        options.clear_options()
        self.shown = []
        typed = typed.strip()
        matcher = Matcher(typed) if typed else None
        if self.assignee and (matcher is None or matcher.match("(nobody) unassign") > 0):
            options.add_option(Option(Text("(nobody) — unassign", style="italic"), id="-nobody"))
            self.shown.append(NOBODY)
        scored = []
        for position, (email, name) in enumerate(self.technicians):
            score = self._score(matcher, typed, email, name) if matcher else 1.0
            if score > 0:
                scored.append((-score, position, email, name))
        for _, _, email, name in sorted(scored):
            options.add_option(Option(self._label(email, name, matcher), id=email))
            self.shown.append(email)
        if self.shown:
            options.highlighted = 0
        hint = self.query_one("#hint", Static)
        if not self.shown:
            hint.update(
                Text(
                    f"No technician matches {safe_line(typed)!r}: a technician is known once "
                    "they have used shiftdesk."
                )
            )
        else:
            hint.update(Text("enter gives it · esc cancels · only known technicians"))

    @on(Input.Changed, "#who")
    def typed(self, event: Input.Changed) -> None:
        self.fill(event.value)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not self.shown:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    @on(Input.Submitted, "#who")
    def submitted(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is None or not self.shown:
            return  # nothing matches: say so (the hint), invent nobody
        self.dismiss(self.shown[highlighted])

    @on(OptionList.OptionSelected, "#choices")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
