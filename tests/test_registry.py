"""The command registry is the one list: the README, the help screen, the palette and the
bindings show exactly its commands, and a command that is not available is neither offered nor
run by its key."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from rich.table import Table
from textual.binding import Binding, BindingType
from textual.widgets import Static

from models.desk.detail import ticket_detail
from models.store.db import Store
from tests.tui_support import make_app, ready, settle, until
from tui.app import ShiftdeskApp
from tui.cli.core import main
from tui.registry import COMMANDS, Owner, commands, markdown_table
from tui.screens.help import HelpScreen
from tui.screens.queue import QueueScreen
from tui.widgets.detail import ReplyEditor
from tui.widgets.queue_view import QueueView

README = Path(__file__).resolve().parent.parent / "README.md"


def _shape(bindings: list[BindingType]) -> list[tuple[str | None, str, str, bool, bool]]:
    out = []
    for binding in bindings:
        assert isinstance(binding, Binding)
        out.append((binding.id, binding.key, binding.action, binding.show, binding.priority))
    return out


def _expected(owner: Owner) -> list[tuple[str | None, str, str, bool, bool]]:
    return [(c.id, c.keys, c.action, c.footer, c.priority) for c in commands(owner)]


def test_the_readme_key_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- keys:start -->\n(.*?)<!-- keys:end -->", text, re.S)
    assert found, "README lost its generated key table markers"
    assert found.group(1) == markdown_table(), "run: shiftdesk keys --markdown"
    result = CliRunner().invoke(main, ["keys", "--markdown"])
    assert result.exit_code == 0 and result.output == markdown_table()
    for command in COMMANDS:
        assert command.help in found.group(1)


def test_every_binding_is_a_registered_command_and_back() -> None:
    assert _shape(QueueScreen.BINDINGS) == _expected(Owner.QUEUE)
    assert _shape(QueueView.BINDINGS) == _expected(Owner.VIEW)
    assert _shape(ReplyEditor.BINDINGS) == _expected(Owner.EDITOR)
    assert _shape(ShiftdeskApp.BINDINGS) == _expected(Owner.APP)
    assert len({c.id for c in COMMANDS}) == len(COMMANDS), "two commands share an id"


def test_no_two_commands_of_the_queue_share_a_key() -> None:
    """The queue screen, the focused queue view, the app and Textual's own keys are one chain:
    a key bound twice there runs only one of its commands."""
    seen: dict[str, str] = {}
    for command in COMMANDS:
        if command.owner == Owner.EDITOR:  # its own chain (the editor has the focus)
            continue
        for key in command.keys.split(","):
            assert key not in seen, f"{key!r}: {seen[key]} and {command.id}"
            seen[key] = command.id
    assert {c.group for c in COMMANDS} <= {"Move", "Views and filters", "Work a ticket"} | {
        "Write",
        "App",
    }


async def test_help_screen_lists_exactly_the_registered_commands(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 60)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query(Static).first().content
        assert isinstance(table, Table)
        keys, whats = (
            [str(cell) for cell in column._cells] for column in table.columns
        )  # one row per command, plus a title and a blank row per group
        rows = {(k, w) for k, w in zip(keys, whats, strict=True) if w}
        assert rows == {(c.key_display, c.help) for c in COMMANDS}


async def test_palette_offers_exactly_the_available_registered_commands(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        from tui.palette import queue_commands

        offered = {c.title for c in queue_commands(screen)}
        row = screen.queue.current
        assert row is not None and row.status != "closed"
        expected = {
            c.title
            for c in COMMANDS
            if c.title is not None
            and c.owner in (Owner.QUEUE, Owner.VIEW)
            and (c.available is None or c.available(screen))
        }
        assert offered == expected
        assert "Reopen the ticket" not in offered and "Close the ticket" in offered
        # and the app's palette has them all (with Textual's own commands)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert offered <= titles


async def test_an_unavailable_command_is_not_offered_and_its_key_does_nothing(
    sqlite_store: Store,
) -> None:
    """`o` (reopen) on an open ticket: not in the palette, not in the footer, and the key
    neither runs the action nor starts a worker; on a closed ticket it is offered and works."""
    from tui.palette import queue_commands

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        row = view.current
        assert row is not None and row.status != "closed"
        before = ticket_detail(sqlite_store, row.number).version
        notices = len(app._notifications)
        await pilot.press("o")
        await settle(pilot)
        assert "Reopen the ticket" not in {c.title for c in queue_commands(screen)}
        assert ticket_detail(sqlite_store, row.number).version == before
        assert len(app._notifications) == notices  # not even a "Refused"

        # the same key on a closed ticket: offered, and it reopens
        await pilot.press("c")
        await until(pilot, lambda: not isinstance(app.screen, QueueScreen))
        await pilot.press("y")
        await until(pilot, lambda: (r := view.row(row.number)) is not None and r.status == "closed")
        await pilot.press("l")
        view.cursor = view.position_of(row.number)  # type: ignore[assignment]
        await pilot.pause()
        assert "Reopen the ticket" in {c.title for c in queue_commands(screen)}
        await pilot.press("o")
        await settle(pilot)
        assert ticket_detail(sqlite_store, row.number).status == "open"


async def test_with_no_ticket_the_ticket_keys_leave_the_footer(sqlite_store: Store) -> None:
    app = make_app(sqlite_store, demo_data=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen) and screen.queue.current is None
        shown = {b.binding.id for b in screen.active_bindings.values()}
        assert "ticket.take" not in shown and "ticket.reply" not in shown
        assert "queue.filter" in shown
        notices = len(app._notifications)
        await pilot.press("t")
        await settle(pilot)
        assert len(app._notifications) == notices
