"""Snapshot tests of the queue at 120x40 and 80x24: frozen clock, demo data from a fixed seed.

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update` and
review the diff in snapshot_report.html.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.db import Store
from tests.tui_support import make_app


@pytest.fixture(autouse=True)
def _fixed_process_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit events name host:pid:program; the PID would change every run."""
    import models.actions

    monkeypatch.setattr(models.actions, "process_label", lambda: "host:1234:shiftdesk")


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


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_detail_pane(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def open_detail(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("j", "j", "j", "enter")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=open_detail)


def test_emergency_view(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def emergencies(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("e")
        await _settle(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(120, 40), run_before=emergencies)
