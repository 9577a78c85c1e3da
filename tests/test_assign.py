"""Assign / unassign (models.desk.actions.assign) and presence (models.desk.presence), on SQLite and
PostgreSQL: one transaction each, known technicians only, a colleague's ticket only with
take_over, an audit sentence; presence rows expire and are cleaned up."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.desk import actions, presence
from models.desk.actions import (
    ActionError,
    Actor,
    AssignedElsewhere,
    Conflict,
    NotFound,
    UnknownTechnician,
)
from models.desk.detail import ticket_detail
from models.store.changes import ChangeFeed
from models.store.db import Store
from models.store.tables import AuditEvent, ChangeLog, Presence, Technician, Ticket

ANA = Actor("ana@example.com", "Ana Lee")
BOB = Actor("bob@example.com", "Bob Stone")
KIM = Actor("kim@example.com", "Kim Park")
T0 = 1_773_158_400.0


def _ticket(store: Store) -> int:
    return actions.create_ticket(
        store,
        subject="Printer on fire",
        requester_email="jo@customer.example",
        received_at=T0,
        entitlement="license",
    )


def _known(store: Store, *people: Actor) -> None:
    with actions.action(store) as session:
        for person in people:
            actions.technician_for(session, person)


def _count(store: Store, table: type, number: int | None = None) -> int:
    with store.session() as session:
        query = select(func.count()).select_from(table)
        if number is not None:
            query = query.where(col(table.ticket_number) == number)  # type: ignore[attr-defined]
        return int(session.execute(query).scalar_one())


def _state(store: Store, number: int) -> tuple[str | None, int]:
    detail = ticket_detail(store, number)
    return detail.assignee, detail.version


def test_assign_gives_the_ticket_with_an_audit_sentence_and_a_change_row(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA, BOB)
    changes = _count(store, ChangeLog, number)
    ticket = actions.assign(store, number, "  BOB@example.com ", ANA, expected_version=1, at=T0)
    assert ticket.version == 2
    assert _state(store, number) == ("bob@example.com", 2)
    assert _count(store, ChangeLog, number) == changes + 1
    last = ticket_detail(store, number).audit[-1]
    assert (last.actor, last.action) == ("ana@example.com", "assign")
    assert last.detail == {"to": "bob@example.com", "previous_assignee": None}
    assert last.sentence() == "ana@example.com assigned it to bob@example.com."
    event = actions.last_assignment(store, number)
    assert event == actions.Assignment("ana@example.com", "assign", "bob@example.com", None)


def test_unassign_and_the_sentences_name_whose_it_was(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA, BOB)
    actions.take(store, number, BOB, at=T0)
    with pytest.raises(AssignedElsewhere) as refused:
        actions.assign(store, number, None, ANA, at=T0)
    assert refused.value.assignee == "bob@example.com"
    assert "unassign it only if you mean to" in str(refused.value)
    assert _state(store, number) == ("bob@example.com", 2)  # nothing half-written
    actions.assign(store, number, None, ANA, at=T0, take_over=True)
    assert ticket_detail(store, number).assignee is None
    assert (
        ticket_detail(store, number).audit[-1].sentence()
        == "ana@example.com unassigned it (from bob@example.com)."
    )
    assert actions.last_assignment(store, number) == actions.Assignment(
        "ana@example.com", "assign", None, "bob@example.com"
    )
    with pytest.raises(ActionError, match="not assigned to anyone"):
        actions.assign(store, number, None, ANA, at=T0)
    # one's own ticket needs no take_over, to give away or to drop
    actions.assign(store, number, "ana@example.com", ANA, at=T0)
    assert ticket_detail(store, number).audit[-1].sentence() == (
        "ana@example.com assigned it to themselves."
    )
    actions.assign(store, number, "bob@example.com", ANA, at=T0)
    assert ticket_detail(store, number).assignee == "bob@example.com"


def test_a_colleagues_ticket_is_reassigned_only_with_take_over(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA, BOB, KIM)
    actions.take(store, number, BOB, at=T0)
    before = _count(store, AuditEvent, number)
    with pytest.raises(AssignedElsewhere, match=re.escape("assigned to bob@example.com: reassign")):
        actions.assign(store, number, "kim@example.com", ANA, at=T0)
    assert _count(store, AuditEvent, number) == before
    actions.assign(store, number, "kim@example.com", ANA, at=T0, take_over=True)
    assert ticket_detail(store, number).audit[-1].sentence() == (
        "ana@example.com assigned it to kim@example.com (from bob@example.com)."
    )
    with pytest.raises(ActionError, match=re.escape("already assigned to kim@example.com")):
        actions.assign(store, number, "kim@example.com", KIM, at=T0)


def test_unknown_technicians_are_refused_and_never_created(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA)
    technicians = _count(store, Technician)
    with pytest.raises(UnknownTechnician, match=re.escape("no technician nobody@example.com")):
        actions.assign(store, number, "nobody@example.com", ANA, at=T0)
    assert _count(store, Technician) == technicians
    assert _state(store, number) == (None, 1)
    assert [email for email, _ in actions.known_technicians(store)] == ["ana@example.com"]


def test_assign_is_checked_against_the_version_and_the_ticket(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA, BOB)
    actions.take(store, number, BOB, at=T0 + 60)
    with pytest.raises(Conflict, match=re.escape("bob@example.com took it")):
        actions.assign(store, number, "ana@example.com", ANA, expected_version=1, at=T0)
    with pytest.raises(NotFound):
        actions.assign(store, 999, "ana@example.com", ANA, at=T0)
    actions.close(store, number, BOB, at=T0)
    with pytest.raises(ActionError, match="closed: reopen it first"):
        actions.assign(store, number, "ana@example.com", BOB, at=T0)


def test_racing_assigns_with_one_version_leave_one_winner(store: Store) -> None:
    number = _ticket(store)
    _known(store, ANA, BOB, KIM)
    actions.assign(store, number, "kim@example.com", ANA, expected_version=1, at=T0)
    with pytest.raises(Conflict):
        actions.assign(store, number, "bob@example.com", BOB, expected_version=1, at=T0)
    assert _state(store, number) == ("kim@example.com", 2)
    with store.session() as session:
        actions_done = session.execute(
            select(AuditEvent.detail).where(
                col(AuditEvent.ticket_number) == number, col(AuditEvent.action) == "assign"
            )
        ).all()
    assert [json.loads(d[0])["to"] for d in actions_done] == ["kim@example.com"]


# --------------------------------------------------------------------------- presence


def test_presence_shows_renews_moves_and_hides(store: Store) -> None:
    a, b = _ticket(store), _ticket(store)
    presence.show(store, "console-ana", ANA, a, T0)
    presence.show(store, "console-bob", BOB, a, T0)
    assert presence.live_viewers(store, T0 + 1) == {a: ["Ana Lee", "Bob Stone"]}
    assert presence.live_viewers(store, T0 + 1, exclude_email="ANA@example.com") == {
        a: ["Bob Stone"]
    }
    presence.show(store, "console-ana", ANA, b, T0 + 10)  # one row per console: it moves
    assert presence.live_viewers(store, T0 + 11) == {a: ["Bob Stone"], b: ["Ana Lee"]}
    assert _count(store, Presence) == 2
    presence.hide(store, "console-bob")
    assert presence.live_viewers(store, T0 + 12) == {b: ["Ana Lee"]}
    presence.hide(store, "console-bob")  # twice: nothing to do, no error
    # presence is not ticket state: no version bump, no change-log row
    assert ticket_detail(store, a).version == 1
    assert _count(store, ChangeLog, a) == 1  # its creation


def test_presence_expires_and_expired_rows_are_cleaned_up(store: Store) -> None:
    number = _ticket(store)
    presence.show(store, "crashed", ANA, number, T0)
    assert presence.live_viewers(store, T0 + presence.TTL - 1) == {number: ["Ana Lee"]}
    assert presence.live_viewers(store, T0 + presence.TTL) == {}  # ignored once expired
    assert _count(store, Presence) == 1
    presence.show(store, "alive", BOB, number, T0 + presence.TTL + 1)  # any write cleans up
    assert _count(store, Presence) == 1
    presence.show(store, "alive", BOB, number, T0 + 2 * presence.TTL)  # a renewal keeps it
    assert presence.live_viewers(store, T0 + 2 * presence.TTL + 30) == {number: ["Bob Stone"]}
    with store.session() as session:
        consoles = session.execute(select(col(Presence.console))).scalars().all()
    assert consoles == ["alive"]


def test_a_presence_write_wakes_the_change_feed_without_a_ticket_change(store: Store) -> None:
    number = _ticket(store)
    feed = ChangeFeed(store)
    try:
        feed.poll(timeout=0.1)
        feed.woke = False
        presence.show(store, "console-ana", ANA, number, T0)
        for _ in range(20):  # PostgreSQL: the NOTIFY arrives within a poll or two
            assert feed.poll(timeout=0.1) == set()  # no ticket changed ...
            if feed.woke:
                break
        assert feed.woke  # ... but the reader knows to re-read presence
    finally:
        feed.close()


def test_assign_rolls_back_whole(store: Store) -> None:
    """A refused assign leaves no audit, no change row, no version bump."""
    number = _ticket(store)
    _known(store, ANA)
    counts = (_count(store, AuditEvent), _count(store, ChangeLog))
    with pytest.raises(UnknownTechnician):
        actions.assign(store, number, "ghost@example.com", ANA, expected_version=1, at=T0)
    assert (_count(store, AuditEvent), _count(store, ChangeLog)) == counts
    with store.session() as session:
        assert session.get(Ticket, number).version == 1  # type: ignore[union-attr]
