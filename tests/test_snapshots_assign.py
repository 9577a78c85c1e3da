"""Snapshot of the assign picker (`h`) at 80x24: frozen clock, fixed-seed demo data.

Update after an intended change: pytest tests/test_snapshots_assign.py --snapshot-update
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from models.store.db import Store
from tests.tui_support import make_app, settle, until
from tui.screens.assign_picker import AssignPicker
from tui.widgets.queue_view import QueueView


def test_assign_picker_80x24(sqlite_store: Store, snap_compare: Any) -> None:
    app = make_app(sqlite_store)

    async def open_picker(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: bool(app.screen.query(QueueView)), seconds=5)
        view = app.screen.query_one(QueueView)
        await until(pilot, lambda: view.loaded, seconds=5)
        # a ticket a colleague holds: the picker offers "(nobody)" and marks who has it
        view.cursor = next(
            i
            for i in range(view.visible_count)
            if (row := view.row_at(i)) and row.assignee == "sam@shiftdesk.example"
        )
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, AssignPicker), seconds=5)
        picker = app.screen
        assert isinstance(picker, AssignPicker)
        before = list(picker.shown)
        await pilot.press("k")  # a typed filter: the matches highlighted
        await until(pilot, lambda: picker.shown != before)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_picker)
