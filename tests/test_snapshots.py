"""Snapshot tests of the queue at 120x40 and 80x24: frozen clock, demo data from a fixed seed.

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update` and
review the diff in snapshot_report.html.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.store.db import Store
from tests.tui_support import make_app


@pytest.fixture(autouse=True)
def _fixed_process_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit events name host:pid:program; the PID would change every run."""
    import models.desk.actions

    monkeypatch.setattr(models.desk.actions, "process_label", lambda: "host:1234:shiftdesk")


def _app(tmp_path: Path, *, ascii_flags: bool = False):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'snap.db'}")
    return make_app(store, ascii_flags=ascii_flags)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_queue(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=_settle)


def test_queue_ascii_flags(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        _app(tmp_path, ascii_flags=True), terminal_size=(80, 24), run_before=_settle
    )


SPLIT_SIZES = [(120, 40), (80, 24), (100, 30), (200, 50)]


@pytest.mark.parametrize("size", SPLIT_SIZES, ids=[f"{w}x{h}" for w, h in SPLIT_SIZES])
def test_detail_pane(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The split (docs/working-tickets.md, "The layout"): below 110 columns the pane takes the
    screen; at 120 the queue beside it is compact (kind a letter, flags symbols) and keeps
    customer and subject readable; at 200 it has every column."""

    async def open_detail(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("j", "j", "j", "enter")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=open_detail)


def test_reply_editor_80x24(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Writing a reply at 80x24: the latest customer message stays on screen, quoted, between
    the ticket's head and an editor of bounded height (a long draft scrolls inside it)."""
    from tui.widgets.detail import ReplyEditor

    async def reply(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("j", "j", "j", "enter")
        await _settle(pilot)
        await pilot.press("r")
        await _settle(pilot)
        editor = pilot.app.screen.query_one(ReplyEditor)
        editor.cursor_blink = False  # a blinking cursor would make the snapshot flaky
        editor.insert("\n".join(f"line {n} of a long reply" for n in range(1, 16)))
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=reply)


def test_emergency_view(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def emergencies(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("e")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(120, 40), run_before=emergencies)
