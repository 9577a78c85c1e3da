"""Search in the console, driven through Pilot: `/` searches the store (closed tickets too),
`#N` is exactly ticket N, `:` goes to a ticket, esc and `0` end the search; and snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from models.desk import actions
from models.store.db import Store
from models.store.search import EMPTY_HINT, search_numbers
from tests.tui_support import FROZEN_NOW, ME, make_app, ready, type_into, until
from tui.widgets.queue_view import QueueView


def shown(view: QueueView) -> list[int]:
    return [row.number for i in range(view.visible_count) if (row := view.row_at(i))]


def closed_ticket(store: Store, body: str) -> int:
    number = actions.create_ticket(
        store,
        subject="Archive export",
        body=body,
        requester_email="dana@faraway.example",
        received_at=FROZEN_NOW - 86400,
    )
    actions.close(store, number, ME, at=FROZEN_NOW - 3600)
    return number


async def search_for(pilot: Pilot[Any], query: str) -> QueueView:
    view = pilot.app.screen.query_one(QueueView)
    await pilot.press("slash")
    await type_into(pilot, "filter", query)
    await pilot.press("enter")
    await until(pilot, lambda: view.filter.found is not None and view.filter.text == query)
    await pilot.pause()
    return view


async def test_slash_searches_bodies_and_closed_tickets_then_esc_clears(
    sqlite_store: Store,
) -> None:
    app = make_app(sqlite_store)
    number = closed_ticket(sqlite_store, "The export stops at the zanzibar partition.")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        queue = shown(view)
        assert number not in queue  # closed: not in the waiting queue
        await search_for(pilot, "zanzibar")
        assert shown(view) == [number]
        assert "search “zanzibar”: 1 found" in str(app.screen.query_one("#status").render())
        await search_for(pilot, "faraway.example")  # part of the requester's address
        assert shown(view) == [number]
        assert view.has_focus
        await pilot.press("escape")
        assert view.filter.found is None and shown(view) == queue


async def test_a_search_shows_what_the_store_finds(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await search_for(pilot, "version")
        with sqlite_store.session() as session:
            expected = search_numbers(session, "version").numbers
        assert len(expected) > 3 and sorted(shown(view)) == sorted(expected)
        await pilot.press("0")
        assert view.filter.found is None and view.filter.text == ""


async def test_hash_number_is_exactly_that_ticket(sqlite_store: Store) -> None:
    """`#1` used to match #10-#19 as well."""
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        assert view.total >= 12
        await search_for(pilot, "#1")
        assert shown(view) == [1]
        assert view.current is not None and view.current.number == 1


async def test_punctuation_only_says_what_to_type(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await search_for(pilot, '"(*)"')
        assert shown(view) == []
        await until(pilot, lambda: any(n.message == EMPTY_HINT for n in app._notifications))


async def test_colon_goes_to_a_closed_ticket(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    number = closed_ticket(sqlite_store, "anything")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await ready(pilot)
        await pilot.press("colon")
        await until(pilot, lambda: type(app.screen).__name__ == "AskReason")
        await type_into(pilot, "reason", f"#{number}")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.detail.number == number)  # type: ignore[attr-defined]
        assert view.current is not None and view.current.number == number
        await pilot.press("escape", "colon")
        await until(pilot, lambda: type(app.screen).__name__ == "AskReason")
        await type_into(pilot, "reason", "9999")
        await pilot.press("enter")
        await until(pilot, lambda: any(n.message == "No ticket #9999" for n in app._notifications))


@pytest.fixture(autouse=True)
def _fixed_process_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit events name host:pid:program; the PID would change every run."""
    import models.desk.actions

    monkeypatch.setattr(models.desk.actions, "process_label", lambda: "host:1234:shiftdesk")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_search_results_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'snap.db'}")
    app = make_app(store)
    closed_ticket(store, "version 9.4.2 export")

    async def searched(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await search_for(pilot, "version")

    assert snap_compare(app, terminal_size=size, run_before=searched)
