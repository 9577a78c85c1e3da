"""The store: migrations, pragmas, actions' transactions and version checks, the change feed."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from models.desk import actions
from models.desk.actions import ActionError, Actor, Conflict
from models.desk.queue import load_queue, load_rows
from models.store.changes import ChangeFeed
from models.store.db import Store, StoreError, current_revision
from models.store.tables import Rsaa, TicketStatus

ALICE = Actor("alice@example.com", "Alice")
BOB = Actor("bob@example.com", "Bob")


def _ticket(store: Store, subject: str = "Crash on save", at: float = 1_700_000_000.0) -> int:
    return actions.create_ticket(
        store,
        subject=subject,
        requester_email="Jo@Customer.example",
        received_at=at,
        body="hi",
        entitlement="license",
    )


def test_migrations_create_every_table(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"tickets", "messages", "rsaas", "outbox", "audit_events", "change_log"} <= names
    assert current_revision(store.engine) is not None


def test_sqlite_pragmas(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    store.dispose()


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        Store("nosuchdialect://x")


def test_create_take_close_reopen_are_audited(store: Store) -> None:
    number = _ticket(store)
    ticket = actions.take(store, number, ALICE, expected_version=1)
    assert ticket.version == 2
    actions.close(store, number, ALICE, expected_version=2)
    actions.reopen(store, number, ALICE)
    with store.session() as s:
        events = [
            r[0]
            for r in s.execute(
                text("SELECT action FROM audit_events WHERE ticket_number = :n ORDER BY id"),
                {"n": number},
            )
        ]
    assert events == ["create", "take", "close", "reopen"]


def test_stale_version_is_refused_and_says_who(store: Store) -> None:
    number = _ticket(store)
    actions.take(store, number, ALICE, expected_version=1)
    with pytest.raises(Conflict, match=r"alice@example\.com took it"):
        actions.take(store, number, BOB, expected_version=1)
    with store.session() as s:
        assert s.execute(text("SELECT version FROM tickets")).scalar() == 2


def test_refused_action_changes_nothing(store: Store) -> None:
    number = _ticket(store)
    actions.close(store, number, ALICE)
    with pytest.raises(ActionError, match="closed"):
        actions.take(store, number, BOB)
    [row] = load_queue(store.session(), include_closed=True)
    assert row.assignee is None and row.status == TicketStatus.CLOSED and row.version == 2


def test_close_revokes_active_rsaa_and_reopen_keeps_it_revoked(store: Store) -> None:
    number = _ticket(store)
    with store.transaction() as s:
        tech = actions.technician_for(s, ALICE)
        s.add(
            Rsaa(
                ticket_number=number,
                accepted_by_name="Jo",
                accepted_by_email="jo@c.example",
                accepted_at=1.0,
                server="srv1",
                method="rdp",
                source_ip="203.0.113.10",
                recorded_by_id=tech.id,
                recorded_at=1.0,
            )
        )
    assert load_queue(store.session())[0].rsaa_active
    actions.close(store, number, ALICE)
    actions.reopen(store, number, ALICE)
    [row] = load_queue(store.session())
    assert not row.rsaa_active
    with store.session() as s:
        assert s.execute(text("SELECT revoke_reason FROM rsaas")).scalar() == "ticket_closed"


def test_database_refuses_a_second_active_rsaa(store: Store) -> None:
    number = _ticket(store)
    insert = text(
        "INSERT INTO rsaas (ticket_number, accepted_by_name, accepted_by_email, accepted_at,"
        " server, method, source_ip, recorded_by_id, recorded_at)"
        " VALUES (:n, 'Jo', 'jo@c', 1, 's', 'rdp', '203.0.113.10', :t, 1)"
    )
    with store.transaction() as s:
        tech = actions.technician_for(s, ALICE)
        s.execute(insert, {"n": number, "t": tech.id})
    with pytest.raises(IntegrityError), store.transaction() as s:
        s.execute(insert, {"n": number, "t": tech.id})


def test_queue_rows_are_fifo_and_show_the_customer_address(store: Store) -> None:
    late = _ticket(store, "late", at=2_000.0)
    early = _ticket(store, "early", at=1_000.0)
    rows = load_queue(store.session())
    assert [r.number for r in rows] == [early, late]
    assert rows[0].customer == "jo@customer.example"
    assert load_rows(store.session(), [late])[0].subject == "late"


def test_change_feed_sees_commits_from_another_store(db_url: str) -> None:
    reader, writer = Store(db_url), Store(db_url)
    feed = ChangeFeed(reader)
    feed.poll(0.1)  # first poll establishes the baseline (and LISTEN on PostgreSQL)
    assert feed.poll(0.05) == set()
    number = _ticket(writer)
    seen: set[int] = set()
    for _ in range(20):
        seen |= feed.poll(0.1)
        if seen:
            break
    assert seen == {number}
    assert feed.poll(0.05) == set()
    feed.close()
    reader.dispose()
    writer.dispose()


def test_schema_head_constant_matches_alembic() -> None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from models.store import locations
    from models.store.db import SCHEMA_HEAD

    config = AlembicConfig()
    config.set_main_option("script_location", str(locations.migrations_dir()))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_store_migrates_an_empty_database_on_open(db_url: str) -> None:
    # db_url is already migrated; downgrade to empty, then reopening migrates again
    store = Store(db_url)
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from models.store import locations

    config = AlembicConfig()
    config.set_main_option("script_location", str(locations.migrations_dir()))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_revision(store.engine) is None
    store.dispose()
    reopened = Store(db_url)
    assert current_revision(reopened.engine) is not None
    reopened.dispose()


def test_migrations_build_exactly_the_tables_the_models_declare(db_url: str) -> None:
    """Alembic's autogenerate comparison finds nothing to do: a model change without its
    migration (or the reverse) fails here, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import models.store.tables  # noqa: F401  (registers the tables)
    from models.store.search import schema_objects

    store = Store(db_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_name": schema_objects}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    store.dispose()
    assert diff == []
