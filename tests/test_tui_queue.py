"""The queue screen driven through Pilot: navigation, filters, live arrivals, hostile text."""

from __future__ import annotations

import asyncio

import pytest
from textual.command import CommandList, CommandPalette

from models.desk import actions
from models.desk.oncall import is_alerting
from models.store.db import Store
from tests.tui_support import FROZEN_NOW, make_app, until
from tui.app import ShiftdeskApp
from tui.widgets.queue_view import QueueView


async def loaded(pilot) -> QueueView:  # type: ignore[no-untyped-def]
    app: ShiftdeskApp = pilot.app
    view = app.screen.query_one(QueueView)
    await until(pilot, lambda: view.loaded)
    return view


def visible_numbers(view: QueueView) -> list[int]:
    return [row.number for i in range(view.visible_count) if (row := view.row_at(i))]


async def test_queue_is_fifo_and_navigates(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        rows = [r for i in range(view.visible_count) if (r := view.row_at(i))]
        # unacknowledged emergencies are pinned on top (docs/oncall.md); FIFO within each part
        pinned = [r.received_at for r in rows if is_alerting(r)]
        rest = [r.received_at for r in rows if not is_alerting(r)]
        assert [r.received_at for r in rows] == pinned + rest
        assert pinned == sorted(pinned) and rest == sorted(rest) and len(rest) >= 10
        await pilot.press("j", "j")
        assert view.cursor == 2
        await pilot.press("k")
        assert view.cursor == 1
        await pilot.press("G")
        assert view.cursor == view.visible_count - 1
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("down", "down", "up")
        assert view.cursor == 1


async def test_filters(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        everything = visible_numbers(view)
        await pilot.press("e")
        emergencies = visible_numbers(view)
        assert emergencies and set(emergencies) < set(everything)
        assert all(view.row_at(i).kind == "emergency" for i in range(view.visible_count))  # type: ignore[union-attr]
        await pilot.press("e", "m")
        assert all(
            view.row_at(i).assignee == "alex@shiftdesk.example" for i in range(view.visible_count)
        )  # type: ignore[union-attr]
        await pilot.press("m", "u")
        assert all(view.row_at(i).assignee is None for i in range(view.visible_count))  # type: ignore[union-attr]
        await pilot.press("u", "b")
        breached = visible_numbers(view)
        assert breached and set(breached) < set(everything)
        await pilot.press("b", "slash")
        await pilot.press(*"EMERGENCY")
        await pilot.press("enter")
        assert view.has_focus
        # a store search (tests/test_search_tui.py): every emergency says so in its text
        await until(pilot, lambda: view.filter.found is not None)
        assert set(emergencies) <= set(visible_numbers(view))
        await pilot.press("0")
        assert visible_numbers(view) == everything
        await pilot.press("x")
        assert all(view.row_at(i).entitlement == "none" for i in range(view.visible_count))  # type: ignore[union-attr]
        await pilot.press("l")
        assert view.visible_count > len(everything)


async def test_enter_opens_detail_and_escape_closes(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        await pilot.press("enter")
        assert app.screen.has_class("-detail")
        assert app.screen.detail.number == view.current.number  # type: ignore[attr-defined,union-attr]
        await pilot.press("escape")
        assert not app.screen.has_class("-detail")


async def test_help_screen(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "QueueScreen"


async def test_ticket_from_another_process_appears(db_url: str) -> None:
    """Through the change feed; how fast is bench/oncall_bench.py's figure, not this test's."""
    store = Store(db_url)
    app = make_app(store, live=True)
    other = Store(db_url)  # a second connection pool, as another process would have
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            # loaded: the feed's baseline was taken before the rows were read, so the ticket
            # committed next is sure to arrive
            view = await loaded(pilot)
            number = await asyncio.to_thread(
                actions.create_ticket,
                other,
                subject="Arrived from elsewhere",
                requester_email="new@customer.example",
                received_at=FROZEN_NOW - 60,
                entitlement="license",
            )
            await until(pilot, lambda: number in visible_numbers(view))
    finally:
        other.dispose()
        store.dispose()


HOSTILE = ["[bold red]x[/]", "pwn\x1b]52;c;ZXZpbA==\x07", "clear\x1b[2J", "c1\x9b31m"]


@pytest.mark.parametrize("subject", HOSTILE)
async def test_hostile_subject_is_shown_literally(sqlite_store: Store, subject: str) -> None:
    number = actions.create_ticket(
        sqlite_store,
        subject=subject,
        requester_email="evil[/]@x.example",
        received_at=FROZEN_NOW - 30,
        entitlement="license",
    )
    app = make_app(sqlite_store, demo_data=False)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        [position] = [i for i in range(view.visible_count) if view.row_at(i).number == number]  # type: ignore[union-attr]
        view.scroll_to(y=position, animate=False, immediate=True)
        await pilot.pause()
        text = "".join(seg.text for seg in view.render_line(position - int(view.scroll_offset.y)))
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
        if subject.startswith("["):
            assert "[bold red]x[/]" in text
        else:
            assert "␛" in text or "<U+009B>" in text
        await pilot.press("enter")
        pane = app.screen.detail  # type: ignore[attr-defined]
        await until(pilot, lambda: pane.detail is not None and pane.detail.number == number)
        await pilot.pause()
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot


async def test_command_palette_lists_ticket_actions(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in (
            "Take the ticket",
            "Reply by email",
            "Close the ticket",
            "Remote server access agreement (RSAA)",
            "Toggle: emergencies only",
        ):
            assert wanted in titles
        view = app.screen.query_one(QueueView)
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press(*"emergencies only")
        commands = palette.query_one(CommandList)

        def offered() -> bool:  # the search runs in the background: wait for its hit
            at = commands.highlighted
            return at is not None and "emergencies" in str(commands.get_option_at_index(at).prompt)

        await until(pilot, offered)
        await pilot.press("enter")
        await until(pilot, lambda: view.filter.emergencies)


async def test_breached_view_follows_the_clock(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        await pilot.press("b")
        before = set(visible_numbers(view))
        # an hour later the emergency tickets (1-hour clock) are all overdue too
        app.ctx.clock.now += 3600  # type: ignore[attr-defined]
        app.screen.tick(app.ctx.clock())  # type: ignore[attr-defined]
        await pilot.pause()
        after = set(visible_numbers(view))
        assert before < after
        app.screen.tick(app.ctx.clock())  # type: ignore[attr-defined]
        assert set(visible_numbers(view)) == after


async def test_incremental_upserts_match_a_full_refilter(sqlite_store: Store) -> None:
    """The change feed moves rows by bisection; the result must equal filtering from scratch."""
    import random

    from tui.widgets.queue_view import QueueFilter

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await loaded(pilot)
        rows = [view._rows[n] for n in sorted(view._rows)]
        rng = random.Random(3)
        filters = [
            QueueFilter(),
            QueueFilter(emergencies=True),
            QueueFilter(text="ldap"),
            QueueFilter(view="all"),
            QueueFilter(view="not_entitled"),
            QueueFilter(breached=True),
        ]
        for query in filters:
            view.set_filter(query)
            for _ in range(40):
                row = rng.choice(rows)
                changed = row._replace(
                    version=row.version + 1,
                    received_at=row.received_at + rng.uniform(-1e5, 1e5),
                    kind=rng.choice(["standard", "emergency"]),
                    status=rng.choice(["open", "answered", "closed"]),
                )
                gone = [rng.choice(rows).number] if rng.random() < 0.2 else []
                view.upsert([changed], gone=[g for g in gone if g != changed.number])
                incremental = list(view._index)
                waiting = view.counts(FROZEN_NOW)
                view._reindex(None)
                assert incremental == view._index, query
                assert waiting == view.counts(FROZEN_NOW)


async def test_flags_column_is_not_under_the_scrollbar(sqlite_store: Store) -> None:
    """With more tickets than rows the scrollbar shows; the flags (here an assignee's name) must
    end left of it, in line with the heading's "flags"."""
    from tui.screens.queue import ColumnHeader

    app = make_app(sqlite_store)
    async with app.run_test(size=(120, 12)) as pilot:
        view = await loaded(pilot)
        assert view.visible_count > view.scrollable_content_region.height  # the scrollbar shows
        y = next(i for i in range(6) if (row := view.row_at(i)) and row.assignee)
        assignee = view.row_at(y).assignee  # type: ignore[union-attr]
        line = view.render_line(y)
        width = view.scrollable_content_region.width
        assert line.cell_length == width < view.size.width
        shown = "me" if assignee == app.ctx.actor.email else assignee.split("@")[0][:5]
        assert line.text.rstrip().endswith(shown)
        heading = app.screen.query_one(ColumnHeader).render().plain
        assert len(heading.rstrip()) == width


async def test_a_tick_during_shutdown_is_harmless(sqlite_store: Store) -> None:
    """The 1 Hz timer can fire while the app shuts down, after the screens' widgets are gone
    (seen under load: NoMatches for QueueView from the tick)."""
    app = make_app(sqlite_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.tick()
        ticks = app.ticks
    app.tick()  # shut down: no screen, no widgets
    assert app.ticks == ticks
