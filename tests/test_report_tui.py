"""The Reports screen (`S`): Pilot and snapshot tests with a frozen clock and a 30-day demo
history."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Sparkline, Static

from models.demo.demo import populate
from models.desk import work
from models.desk.report import report_days, sla_report
from models.store.db import Store
from models.store.tables import Ticket
from tests.tui_support import FROZEN_NOW, ME, make_app, ready, until
from tui.screens.queue import QueueScreen
from tui.screens.reports import ReportsScreen, carried_forward


@pytest.fixture(autouse=True)
def _fixed_process_label(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.desk.actions

    monkeypatch.setattr(models.desk.actions, "process_label", lambda: "host:1234:shiftdesk")


def _app(store: Store):  # type: ignore[no-untyped-def]
    populate(store, seed=7, now=FROZEN_NOW, me=ME, history_days=30)
    return make_app(store, demo_data=False)


def _expected(store: Store, days: int):  # type: ignore[no-untyped-def]
    first, last = report_days(FROZEN_NOW, "America/Phoenix", days=days)
    with store.session() as session:
        return sla_report(
            session,
            first_day=first,
            last_day=last,
            zone="America/Phoenix",
            now=FROZEN_NOW,
            policy=work.sla_policy(work.Config()),
        )


async def test_s_opens_the_report_and_esc_goes_back(sqlite_store: Store) -> None:
    app = _app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.loads > 0)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        expected = _expected(sqlite_store, 30)
        assert screen.report == expected
        assert expected.standard.responses > 50 and expected.breaches > 0  # a meaningful demo
        title = str(screen.query_one("#report-title", Static).render())
        assert "30 days" in title
        table = screen.query_one("#report-technicians", DataTable)
        assert table.row_count == len(expected.technicians) >= 3
        spark = screen.query_one("#report-trend", Sparkline)
        assert len(spark.data or []) == 30

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        palette = {c.title: c for c in app.get_system_commands(app.screen)}
        palette["SLA report"].callback()
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen))
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        await until(pilot, lambda: screen.loads > 0)

        await pilot.press("1")
        await until(pilot, lambda: screen.report is not None and len(screen.report.days) == 7)
        assert screen.report == _expected(sqlite_store, 7)

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))


async def test_r_recomputes_after_a_response(sqlite_store: Store) -> None:
    app = _app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.loads > 0)
        screen = app.screen
        assert isinstance(screen, ReportsScreen) and screen.report is not None
        before = screen.report.standard.responses
        with sqlite_store.session() as session:
            waiting = (
                session.query(Ticket)
                .filter(Ticket.first_response_at.is_(None), Ticket.kind == "standard")  # type: ignore[union-attr]
                .order_by(Ticket.number)
                .first()
            )
            assert waiting is not None and waiting.number is not None
            number = waiting.number
        work.reply(sqlite_store, number, ME, "Looking now.", at=FROZEN_NOW - 60)
        await pilot.press("r")
        await until(pilot, lambda: screen.loads > 1)
        assert screen.report.standard.responses == before + 1


def test_help_lists_the_report_key() -> None:
    from tui.registry import help_groups

    keys = {key for _, group in help_groups() for key, _ in group}
    assert "S" in keys
    assert any(b.key == "S" and b.action == "report" for b in QueueScreen.BINDINGS)  # type: ignore[union-attr]


def test_carried_forward() -> None:
    assert carried_forward([None, 50.0, None, 100.0, None]) == [50.0, 50.0, 50.0, 100.0, 100.0]
    assert carried_forward([None, None]) == []


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_reports_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'snap.db'}")
    app = _app(store)

    async def open_report(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.loads > 0)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_report)
