"""Shared bits of the form modals: a labelled field with its error line, the dialog frame,
a thread-worker helper and the "YYYY-MM-DD HH:MM in a zone" parser.

Errors and customer text are always `rich.text.Text`, never markup strings.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker

from models.clock.timefmt import parse_local_time

T = TypeVar("T")

WALL_FORMAT = "%Y-%m-%d %H:%M"


def parse_wall_minute(text: str, zone: str) -> float:
    """'YYYY-MM-DD HH:MM' as a wall time in `zone` -> epoch seconds. ValueError if bad.

    `models.clock.timefmt.parse_local_time`, the product's one local-time parser: a time in a DST
    gap or in a repeated hour is refused with the reason (the forms show it under the field).
    """
    return parse_local_time(text, zone)


def format_wall_minute(at: float, zone: str) -> str:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM' in `zone` (the format `parse_wall_minute` reads)."""
    return dt.datetime.fromtimestamp(at, zoneinfo.ZoneInfo(zone)).strftime(WALL_FORMAT)


def run_in_thread(
    node: DOMNode,
    job: Callable[[], T],
    done: Callable[[T], object],
    failed: Callable[[Exception], object],
    *,
    group: str,
) -> Worker[None]:
    """Run `job` (database work) in a thread worker; `done(result)` or `failed(exc)` run on the
    event loop afterwards. One error path for every modal: a refusal is shown, never raised."""

    def work() -> None:
        try:
            result = job()
        except Exception as exc:  # every failure is reported to the form as one line
            node.app.call_from_thread(failed, exc)
            return
        node.app.call_from_thread(done, result)

    return node.run_worker(work, thread=True, group=group, exclusive=True, exit_on_error=False)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


class ErrorLine(Static):
    """The one-line message under a field (hidden when there is none)."""

    DEFAULT_CSS = """
    ErrorLine { height: auto; color: $text-error; display: none; }
    ErrorLine.-shown { display: block; }
    ErrorLine.-hint { color: $text-muted; }
    ErrorLine.-warning { color: $text-warning; }
    """

    def show(self, message: str | None, *, kind: str = "error") -> None:
        self.set_class(bool(message), "-shown")
        self.set_class(kind == "hint", "-hint")
        self.set_class(kind == "warning", "-warning")
        self.update(Text(message or ""))


class FieldRow(Widget):
    """A label, the input widget, and an error line under it.

    `name` is the form field it edits (e.g. "server"); the modal finds rows by it.
    """

    DEFAULT_CSS = """
    FieldRow { height: auto; layout: vertical; margin-bottom: 0; }
    FieldRow > Horizontal { height: auto; }
    FieldRow .field-label { width: 17; height: 1; color: $text-muted; }
    FieldRow.-invalid .field-label { color: $text-error; }
    FieldRow > Horizontal > Input, FieldRow > Horizontal > TextArea,
    FieldRow > Horizontal > RadioSet { width: 1fr; }
    FieldRow > Horizontal > Input { background: $boost; }
    FieldRow > Horizontal > Input:focus { background: $accent 25%; }
    FieldRow > ErrorLine { margin-left: 17; }
    """

    def __init__(self, label: str, field: Widget, *, name: str, id: str | None = None) -> None:
        super().__init__(name=name, id=id or f"row-{name}")
        self.label = label
        self.field = field
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(Text(self.label), classes="field-label")
            yield self.field
        yield ErrorLine()

    def set_error(self, message: str | None) -> None:
        self.error = message or None
        self.set_class(bool(message), "-invalid")
        self.query_one(ErrorLine).show(message)

    def set_hint(self, message: str | None, *, kind: str = "hint") -> None:
        """A neutral (or warning) line under the field, e.g. a converted time."""
        self.error = None
        self.set_class(False, "-invalid")
        self.query_one(ErrorLine).show(message, kind=kind)

    @property
    def message(self) -> str:
        """The text under the field now (error, hint or nothing): what the technician sees."""
        line = self.query_one(ErrorLine)
        return str(line.content) if line.has_class("-shown") else ""


class FormDialog(VerticalScroll):
    """The modal's frame: as tall as its content up to 90% of the screen, then it scrolls.
    Dock a title (`.dialog-title`) at the top and the keys/status lines at the bottom."""

    DEFAULT_CSS = """
    FormDialog { width: 92; max-width: 96%; height: auto; max-height: 92%;
        border: round $accent; background: $surface; padding: 0 1; }
    FormDialog > .dialog-title { dock: top; height: 1; text-style: bold; color: $accent; }
    FormDialog > .dialog-keys { dock: bottom; height: 1; color: $text-muted; }
    FormDialog > .dialog-status { dock: bottom; height: auto; color: $text-error; display: none; }
    FormDialog > .dialog-status.-shown { display: block; }
    FormDialog > .dialog-status.-ok { color: $text-success; }
    FormDialog .dialog-note { color: $text-muted; }
    FormDialog .dialog-warning { color: $text-warning; }
    FormDialog .section { height: auto; }
    """


class TicketDialog(ModalScreen[str | None]):
    """Base of the ticket modals: a key-hint line (#keys) and a one-line status (#status).

    Subclasses compose both widgets; they dismiss with a one-line outcome, or None.
    """

    def set_keys(self, text: str) -> None:
        self.query_one("#keys", Static).update(Text(text))

    def set_status(self, text: str | None, *, ok: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.set_class(bool(text), "-shown")
        status.set_class(ok, "-ok")
        status.update(Text(text or ""))

    @property
    def status_text(self) -> str:
        status = self.query_one("#status", Static)
        return str(status.content) if status.has_class("-shown") else ""
