"""The database itself refuses a second active RSAA on a ticket (partial unique index), on both
backends, whatever code writes the rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from models.desk import actions
from models.desk.actions import Actor
from models.store.db import Store

ALICE = Actor("alice@example.com", "Alice")

INSERT = text(
    "INSERT INTO rsaas (ticket_number, accepted_by_name, accepted_by_email, accepted_at, server,"
    " method, source_ip, recorded_by_id, recorded_at, revoked_at, revoke_reason)"
    " VALUES (:n, 'Jo', 'jo@customer.example', 1, 'srv01', 'rdp', '203.0.113.10', :t, 1,"
    " :revoked_at, :reason)"
)


def _setup(store: Store) -> tuple[int, int, int]:
    first = actions.create_ticket(
        store, subject="a", requester_email="jo@c.example", received_at=1.0
    )
    second = actions.create_ticket(
        store, subject="b", requester_email="jo@c.example", received_at=1.0
    )
    with store.transaction() as s:
        tech = actions.technician_for(s, ALICE).id
    assert tech is not None
    return first, second, tech


def _insert(store: Store, number: int, tech: int, revoked_at: float | None = None) -> None:
    with store.transaction() as s:
        s.execute(
            INSERT,
            {
                "n": number,
                "t": tech,
                "revoked_at": revoked_at,
                "reason": "work_finished" if revoked_at else None,
            },
        )


def _count(store: Store, where: str = "1=1") -> int:
    with store.session() as s:
        return int(s.execute(text(f"SELECT count(*) FROM rsaas WHERE {where}")).scalar_one())


def test_second_active_rsaa_inserted_with_sql_fails(store: Store) -> None:
    number, _, tech = _setup(store)
    _insert(store, number, tech)
    with pytest.raises(IntegrityError):
        _insert(store, number, tech)
    assert _count(store) == 1


def test_revoked_plus_a_new_active_is_fine(store: Store) -> None:
    number, other, tech = _setup(store)
    _insert(store, number, tech, revoked_at=2.0)
    _insert(store, number, tech, revoked_at=3.0)
    _insert(store, number, tech)
    _insert(store, other, tech)  # one active per ticket, not per store
    assert _count(store, "revoked_at IS NULL") == 2
    assert _count(store) == 4


def test_reactivating_a_revoked_rsaa_beside_an_active_one_fails(store: Store) -> None:
    number, _, tech = _setup(store)
    _insert(store, number, tech, revoked_at=2.0)
    _insert(store, number, tech)
    with pytest.raises(IntegrityError), store.transaction() as s:
        s.execute(text("UPDATE rsaas SET revoked_at = NULL WHERE revoked_at IS NOT NULL"))
    assert _count(store, "revoked_at IS NULL") == 1


def test_an_rsaa_needs_an_existing_ticket(store: Store) -> None:
    _, _, tech = _setup(store)
    with pytest.raises(IntegrityError):
        _insert(store, 12345, tech)
