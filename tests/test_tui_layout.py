"""The split between the queue and the detail pane, by terminal width, and the reply editor's
room (docs/working-tickets.md, "The layout"). Snapshots of the same: tests/test_snapshots.py."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from models.desk.oncall import strip_emergency_prefix
from models.policy.sanitize import safe_line
from models.store.db import Store
from tests.tui_support import make_app, ready, settle, until
from tui.screens.queue import QueueScreen
from tui.widgets.detail import DetailPane, ReplyEditor
from tui.widgets.queue_view import (
    COUNTDOWN_WIDTH,
    MIN_CUSTOMER_WIDTH,
    MIN_SUBJECT_WIDTH,
    column_layout,
)


def _screen(pilot: Pilot[Any]) -> QueueScreen:
    screen = pilot.app.screen
    assert isinstance(screen, QueueScreen)
    return screen


async def _open(pilot: Pilot[Any], moves: int = 2) -> int:
    """Move the cursor down `moves` rows, open that ticket, wait for the pane; its number."""
    view = await ready(pilot)
    await pilot.press(*"j" * moves, "enter")
    row = view.current
    assert row is not None
    pane = _screen(pilot).detail
    await until(pilot, lambda: pane.detail is not None and pane.detail.number == row.number)
    await settle(pilot)
    return row.number


def _queue_shown(pilot: Pilot[Any]) -> bool:
    return _screen(pilot).query_one("#queue-column").display


@pytest.mark.parametrize("width", [40, 60, 68, 69, 71, 78, 79, 80, 100, 119, 160, 199])
def test_column_layout_fills_the_width_and_keeps_the_subject_the_widest(width: int) -> None:
    columns = column_layout(width)
    total = (
        COUNTDOWN_WIDTH
        + columns.number
        + columns.kind
        + columns.customer
        + columns.subject
        + columns.flags
    )
    assert total == width
    assert columns.subject >= columns.customer
    # every column while customer and subject keep their minimum that way; compact below
    assert columns.compact == (width < 79)
    if width >= 69:  # the queue beside the pane from 116 columns
        assert columns.customer >= MIN_CUSTOMER_WIDTH
        assert columns.subject >= MIN_SUBJECT_WIDTH


async def test_at_120_columns_the_queue_beside_the_pane_stays_readable(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        number = await _open(pilot)
        screen = _screen(pilot)
        view = screen.queue
        assert _queue_shown(pilot) and screen.detail.region.width < 60
        columns = column_layout(view.scrollable_content_region.width)
        assert columns.compact
        assert columns.customer >= MIN_CUSTOMER_WIDTH and columns.subject >= MIN_SUBJECT_WIDTH
        # the painted row shows the first 24 cells of the subject and 11 of the customer
        row = view.row(number)
        assert row is not None
        line = view.render_line(view.cursor - int(view.scroll_offset.y)).text
        assert safe_line(strip_emergency_prefix(row.subject))[:24] in line, line
        assert safe_line(row.customer)[:11] in line, line
        assert view.has_focus  # j/k still move through the queue, the pane follows


async def test_at_100_columns_the_pane_takes_the_screen_and_esc_returns_to_the_ticket(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(100, 30)) as pilot:
        number = await _open(pilot, moves=4)
        screen = _screen(pilot)
        assert not _queue_shown(pilot)
        assert screen.detail.region.width == 100
        # the hidden queue does not keep the keys: the thread has them (arrows scroll it)
        assert app.focused is screen.detail.query_one("#detail-scroll")
        assert "esc: back to the queue" in str(screen.query_one("#status").content)
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.has_class("-detail") and _queue_shown(pilot)
        assert screen.queue.has_focus
        assert screen.queue.current is not None and screen.queue.current.number == number


async def test_resizing_from_200_to_90_and_back_while_the_pane_is_open(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(200, 50)) as pilot:
        number = await _open(pilot, moves=3)
        screen = _screen(pilot)
        view = screen.queue
        assert _queue_shown(pilot)
        assert not column_layout(view.scrollable_content_region.width).compact

        await pilot.resize_terminal(90, 30)
        await until(pilot, lambda: screen.has_class("-narrow") and not _queue_shown(pilot))
        await settle(pilot)
        assert screen.detail.region.width == 90
        assert screen.detail.number == number
        assert app.focused is screen.detail.query_one("#detail-scroll")
        await pilot.press("j")  # not the queue's key any more: the cursor stays
        assert view.current is not None and view.current.number == number

        await pilot.resize_terminal(200, 50)
        await until(pilot, lambda: not screen.has_class("-narrow") and _queue_shown(pilot))
        await settle(pilot)
        assert view.has_focus and screen.detail.number == number

        await pilot.resize_terminal(90, 30)
        await until(pilot, lambda: not _queue_shown(pilot))
        await pilot.press("escape")
        await settle(pilot)
        assert _queue_shown(pilot) and view.has_focus
        assert view.current is not None and view.current.number == number


async def test_an_editor_open_while_resizing_keeps_the_focus(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(200, 50)) as pilot:
        await _open(pilot)
        await pilot.press("r")
        editor = _screen(pilot).query_one(ReplyEditor)
        await until(pilot, lambda: editor.has_focus)
        await pilot.resize_terminal(90, 30)
        await until(pilot, lambda: not _queue_shown(pilot))
        await settle(pilot)
        assert editor.has_focus
        await pilot.press("h", "i")
        assert editor.text == "hi"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_while_replying_the_latest_customer_message_stays_on_screen(
    sqlite_store: Store, size: tuple[int, int]
) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=size) as pilot:
        await _open(pilot, moves=3)
        screen = _screen(pilot)
        pane = screen.query_one(DetailPane)
        assert pane.detail is not None
        latest = [m for m in pane.detail.messages if m.direction == "in"][-1]
        await pilot.press("r")
        editor = pane.editor
        await until(pilot, lambda: editor.has_focus)
        # a long draft: it scrolls inside the editor, it does not push the message away
        editor.insert("\n".join(f"line {n}" for n in range(40)))
        await settle(pilot)
        quote = pane.query_one("#reply-quote")
        context = pane.query_one("#reply-context")
        screen_region = screen.region
        assert context.display and context.region.height >= 3
        assert screen_region.contains_region(context.region)
        first_line = safe_line(latest.body.strip().splitlines()[0])[:30]
        assert first_line in str(quote.render())
        assert screen_region.contains_region(editor.region) and editor.region.height >= 4
        assert context.region.bottom <= editor.region.y
        # leaving the editor hides the quote and gives the keys back
        await pilot.press("escape")
        await settle(pilot)
        assert not context.display
        assert app.focused is not editor
