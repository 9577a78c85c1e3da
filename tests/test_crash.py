"""kill -9 of a process running CLI actions in a loop, on both backends: every action it reported
as committed is in the store exactly once, and nothing is half-written (see crash_support).
A few bounded rounds here; bench/crash_bench.py runs many and prints the counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from models.store.db import Store
from models.store.tables import Ticket
from tests.crash_support import Tally, check, make_store, probe, snapshot


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[calendar]\ntimezone = "UTC"\n', encoding="utf-8")
    return path


@pytest.mark.slow
def test_kill_9_loses_and_half_writes_nothing(db_url: str, config: Path) -> None:
    tally = probe(db_url, config, rounds=4, seed=13, max_actions=15)
    assert tally.ok(), (tally.line(), tally.half_written[:5])
    assert tally.started >= 8, tally.line()  # each round ran actions before the kill


def test_the_checker_sees_a_lost_action_and_a_half_write(sqlite_url: str) -> None:
    """The probe's checks can fail: a confirmed note that is not stored is lost, and a version
    bump without its change-log row is half-written."""
    [number, *_] = make_store(sqlite_url)
    before = snapshot(sqlite_url)
    store = Store(sqlite_url)
    with store.transaction() as session:
        session.execute(update(Ticket).where(Ticket.number == number).values(version=99))
    store.dispose()
    tally = Tally()
    lines = [f"start note {number} k9-x-1", f"done note {number} k9-x-1 0"]
    check(sqlite_url, before, lines, tally)
    assert (tally.confirmed, tally.lost) == (1, 1)
    assert tally.half_written and not tally.ok()
