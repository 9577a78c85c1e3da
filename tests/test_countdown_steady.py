"""The adaptive tick: a countdown cell is recomputed only when it can read differently
(countdown.steady_for), and the screen still changes exactly when the value does."""

from __future__ import annotations

import math

import pytest

from models.desk.queue import QueueRow, load_queue
from models.desk.work import sla_policy
from models.policy.config import Config
from models.store.db import Store
from tests.tui_support import FROZEN_NOW, make_app, ready
from tui.widgets import queue_view
from tui.widgets.countdown import countdown, steady_for

ZONE = Config().calendar.timezone


def _rows(store: Store) -> list[QueueRow]:
    with store.session() as session:
        return list(load_queue(session, include_closed=True))


def test_a_cell_reads_the_same_for_as_long_as_steady_for_says(sqlite_store: Store) -> None:
    make_app(sqlite_store)  # the demo world at FROZEN_NOW
    rows = _rows(sqlite_store)
    policy = sla_policy(Config())
    waits = []
    # three days in uneven steps: nights, a closing and an opening, breaches, the thresholds
    for step in range(420):
        now = FROZEN_NOW + step * 617.3
        for row in rows:
            steady = steady_for(policy, row, now)
            assert steady >= 0
            waits.append(steady)
            seen = countdown(policy, row, now, ZONE)
            later = 3 * 86400 if math.isinf(steady) else steady - 0.002
            for wait in (later / 2, later):
                if wait > 0:
                    assert countdown(policy, row, now + wait, ZONE) == seen, (row, now, wait)
    assert sum(1 for w in waits if 59 <= w < math.inf) > len(waits) / 4  # minutes, hours shown


@pytest.mark.parametrize("start", [0.0, 6.5 * 3600 - 65])  # 10:30, and across 17:00 closing
async def test_the_screen_changes_exactly_when_a_countdown_does(
    sqlite_store: Store, start: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = 0

    def counted(*args: object) -> float:
        nonlocal computed
        computed += 1
        return steady_for(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(queue_view, "steady_for", counted)
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        visible = min(view.visible_count, view.size.height)
        assert visible > 10
        ticks = 130
        for second in range(ticks):
            now = FROZEN_NOW + start + second
            app.ctx.clock.now = now  # type: ignore[attr-defined]
            view.tick(now)
            await pilot.pause()
            for y in range(visible):
                row = view.row_at(int(view.scroll_offset.y) + y)
                assert row is not None
                cell = countdown(view.policy, row, now, view.zone)
                assert view._painted[y] == (row.number, cell.text, cell.state), (second, y)
        # rows showing minutes or hours are looked at about once a minute, not every second
        assert computed < visible * ticks / 2
