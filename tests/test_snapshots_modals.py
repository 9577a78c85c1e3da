"""Snapshots of the form modals at 80x24: a frozen clock and fixed-seed demo data make them stable.

Update after an intended change: pytest tests/test_snapshots_modals.py --snapshot-update
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from models.store.db import Store
from tests.tui_support import make_app, until
from tui.screens.rsaa_modal import RsaaModal
from tui.widgets.queue_view import QueueView

OPEN_PLAIN = 1  # demo (seed 7): open, not escalated to phone, no RSAA


def test_rsaa_form_80x24(sqlite_store: Store, snap_compare: Any) -> None:
    app = make_app(sqlite_store)

    async def open_form(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: bool(app.screen.query(QueueView)))
        view = app.screen.query_one(QueueView)
        await until(pilot, lambda: view.loaded)
        rows = [i for i in range(view.visible_count) if view.row_at(i).number == OPEN_PLAIN]  # type: ignore[union-attr]
        view.cursor = rows[0]
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, RsaaModal) and app.screen.mode == "form")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)
