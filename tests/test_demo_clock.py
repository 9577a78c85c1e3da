"""`shiftdesk demo --at`: a demo given at night or at the weekend can pretend it is business hours;
the console then stamps every action with its own clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from models.clock.calendar import BusinessCalendar
from models.demo.demo import DEMO_MIN_AHEAD, DEMO_OPEN_OFFSET, demo_instant
from models.desk.detail import ticket_detail
from models.policy.config import CalendarConfig
from models.store.db import Store
from tests.tui_support import FROZEN_NOW, make_app, ready, settle
from tui.cli.core import main

NEW_YORK = ZoneInfo("America/New_York")
CALENDAR = BusinessCalendar.from_config(CalendarConfig(timezone="America/New_York"))


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=NEW_YORK).timestamp()


def test_open_at_the_weekend_is_ninety_minutes_into_monday() -> None:
    saturday_night = at(2026, 11, 28, 23, 15)
    start = demo_instant("open", CALENDAR, saturday_night)
    assert CALENDAR.is_open(start)
    assert start == CALENDAR.next_open(saturday_night) + DEMO_OPEN_OFFSET
    assert dt.datetime.fromtimestamp(start, NEW_YORK).weekday() == 0  # Monday


def test_open_during_business_hours_is_now() -> None:
    tuesday_morning = at(2026, 12, 1, 10, 0)
    assert CALENDAR.is_open(tuesday_morning)
    assert demo_instant("open", CALENDAR, tuesday_morning) == tuesday_morning


def test_open_near_closing_time_jumps_to_the_next_morning() -> None:
    """Less than two business hours left today: the clocks would stop mid-demo."""
    tuesday_late = at(2026, 12, 1, 15, 30)  # open until 17:00: 90 minutes left
    assert CALENDAR.is_open(tuesday_late)
    start = demo_instant("open", CALENDAR, tuesday_late)
    assert start == at(2026, 12, 2, 9, 30)  # Wednesday 08:00 + 90 minutes
    assert CALENDAR.next_change(start) - start >= DEMO_MIN_AHEAD


def test_open_with_exactly_two_hours_left_is_now() -> None:
    tuesday = at(2026, 12, 1, 15, 0)
    assert demo_instant("open", CALENDAR, tuesday) == tuesday


def test_open_on_a_short_day_keeps_two_hours_ahead() -> None:
    short = BusinessCalendar.from_config(
        CalendarConfig(
            timezone="America/New_York",
            hours={"mon": ["08:00-09:00"], "tue": ["08:00-10:30"]},
            holiday_country=None,
        )
    )
    start = demo_instant("open", short, at(2026, 11, 28, 12, 0))  # Saturday
    # Monday's hour is too short; Tuesday's 2.5 hours start two hours before closing
    assert start == at(2026, 12, 1, 8, 30)
    never_long = BusinessCalendar.from_config(
        CalendarConfig(timezone="America/New_York", hours={"mon": ["08:00-09:00"]})
    )
    with pytest.raises(ValueError, match="two hours"):
        demo_instant("open", never_long, at(2026, 11, 28, 12, 0))


def test_a_local_time_is_in_the_company_zone() -> None:
    assert demo_instant("2026-12-01T10:30", CALENDAR, 0.0) == at(2026, 12, 1, 10, 30)
    assert demo_instant("2026-12-01 10:30", CALENDAR, 0.0) == at(2026, 12, 1, 10, 30)


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01T10:00", "2026-03-08T02:30", ""])
def test_bad_times_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        demo_instant(bad, CALENDAR, 0.0)


def test_demo_at_garbage_exits_2_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "shiftdesk.toml"
    config.write_text('[calendar]\ntimezone = "America/New_York"\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["demo", "--at", "teatime"], env={"SHIFTDESK_CONFIG": str(config)}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("shiftdesk: --at ") and result.stderr.count("\n") == 1


async def test_console_actions_are_stamped_with_its_clock(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)  # a frozen clock, far from the real time
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        row = next(
            r for i in range(view.visible_count) if (r := view.row_at(i)) and r.assignee is None
        )
        view.cursor = next(i for i in range(view.visible_count) if view.row_at(i) is row)
        await pilot.press("t")
        await settle(pilot)
    [take] = [e for e in ticket_detail(sqlite_store, row.number).audit if e.action == "take"]
    assert take.created_at == FROZEN_NOW
