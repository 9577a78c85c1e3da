"""Hypothesis drives random record / revoke / close / reopen / take sequences over several
tickets and checks the RSAA rules with SQL after every step, on SQLite and on PostgreSQL.

A model predicts whether each action must succeed; the store must agree. Invariants: no active
RSAA on a closed ticket, never two active on one ticket, an RSAA never changes ticket or comes
back to life, and every successful change is audited (and bumps the ticket's version).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlmodel import SQLModel

from models.desk import actions
from models.desk.actions import ActionError, Actor
from models.desk.rsaa import RsaaForm, record_rsaa, revoke_rsaa
from models.store.db import Store
from tests.conftest import PG_SKIP_REASON, PG_URL, drop_pg, new_pg_url

TICKETS = 4
ACTORS = [Actor("alice@example.com", "Alice"), Actor("bob@example.com", "Bob")]
METHODS = [("rdp", None), ("tool", "AnyDesk"), ("screen_share", "Zoom")]
REASONS = ["customer_asked", "work_finished", "ticket_closed"]
T0 = 1_700_000_000.0


def _reset(store: Store) -> None:
    """Empty every table (migrations stay): one database reused across examples."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with store.transaction() as s:
        if store.dialect == "postgresql":
            s.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                s.execute(text(f"DELETE FROM {name}"))


def make_machine(url: str) -> type[RuleBasedStateMachine]:
    class RsaaMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = Store(url, migrate=False)
            _reset(self.store)
            self.clock = T0
            self.tickets: list[int] = []
            self.closed: dict[int, bool] = {}
            self.phone: dict[int, bool] = {}
            self.assignee: dict[int, str | None] = {}
            self.active: dict[int, int] = {}  # ticket -> active rsaa id
            self.rsaa_ticket: dict[int, int] = {}  # rsaa id -> ticket (never changes)
            self.revoked: set[int] = set()
            self.audits = 0
            self.versions: dict[int, int] = {}

        def teardown(self) -> None:
            self.store.dispose()

        def tick(self) -> float:
            self.clock += 60
            return self.clock

        @initialize()
        def make_tickets(self) -> None:
            for index in range(TICKETS):
                number = actions.create_ticket(
                    self.store,
                    subject=f"t{index}",
                    requester_email="jo@c.example",
                    received_at=T0,
                )
                phone = index % 2 == 1
                if phone:
                    with self.store.transaction() as s:
                        s.execute(
                            text("UPDATE tickets SET phone_escalated = :p WHERE number = :n"),
                            {"p": True, "n": number},
                        )
                self.tickets.append(number)
                self.closed[number] = False
                self.phone[number] = phone
                self.assignee[number] = None
                self.versions[number] = 1
                self.audits += 1  # "create"

        def _succeeded(self, number: int, audits: int) -> None:
            self.audits += audits
            self.versions[number] += 1

        @rule(
            index=st.integers(0, TICKETS - 1),
            method=st.sampled_from(METHODS),
            actor=st.sampled_from(ACTORS),
        )
        def record(self, index: int, method: tuple[str, str | None], actor: Actor) -> None:
            number = self.tickets[index]
            form = RsaaForm(
                ticket=number,
                accepted_by_name="Jo",
                accepted_by_email="jo@c.example",
                server="srv01.c.example",
                method=method[0],
                tool_name=method[1],
            )
            allowed = (
                not self.closed[number]
                and number not in self.active
                and (method[0] != "screen_share" or self.phone[number])
            )
            try:
                row = record_rsaa(self.store, form, actor, at=self.tick())
            except ActionError:
                assert not allowed
                return
            assert allowed and row.id is not None
            self.active[number] = row.id
            self.rsaa_ticket[row.id] = number
            self._succeeded(number, 1)

        @rule(data=st.data(), reason=st.sampled_from(REASONS), actor=st.sampled_from(ACTORS))
        def revoke(self, data: st.DataObject, reason: str, actor: Actor) -> None:
            if not self.rsaa_ticket:
                return
            rsaa_id = data.draw(st.sampled_from(sorted(self.rsaa_ticket)))
            try:
                revoke_rsaa(self.store, rsaa_id, actor, reason, at=self.tick())
            except ActionError:
                assert rsaa_id in self.revoked
                return
            assert rsaa_id not in self.revoked
            number = self.rsaa_ticket[rsaa_id]
            del self.active[number]
            self.revoked.add(rsaa_id)
            self._succeeded(number, 1)

        @rule(index=st.integers(0, TICKETS - 1), actor=st.sampled_from(ACTORS))
        def close(self, index: int, actor: Actor) -> None:
            number = self.tickets[index]
            try:
                actions.close(self.store, number, actor, at=self.tick())
            except ActionError:
                assert self.closed[number]
                return
            assert not self.closed[number]
            self.closed[number] = True
            revoked = self.active.pop(number, None)
            if revoked is not None:
                self.revoked.add(revoked)
            self._succeeded(number, 2 if revoked is not None else 1)

        @rule(index=st.integers(0, TICKETS - 1), actor=st.sampled_from(ACTORS))
        def reopen(self, index: int, actor: Actor) -> None:
            number = self.tickets[index]
            try:
                actions.reopen(self.store, number, actor, at=self.tick())
            except ActionError:
                assert not self.closed[number]
                return
            assert self.closed[number]
            self.closed[number] = False
            self._succeeded(number, 1)

        @rule(index=st.integers(0, TICKETS - 1), actor=st.sampled_from(ACTORS))
        def take(self, index: int, actor: Actor) -> None:
            number = self.tickets[index]
            try:
                actions.take(self.store, number, actor, at=self.tick(), take_over=True)
            except ActionError:
                assert self.closed[number] or self.assignee[number] == actor.email
                return
            assert not self.closed[number] and self.assignee[number] != actor.email
            self.assignee[number] = actor.email
            self._succeeded(number, 1)

        def _sql(self, query: str) -> list[Any]:
            with self.store.session() as s:
                return list(s.execute(text(query)).all())

        @invariant()
        def no_active_rsaa_on_a_closed_ticket(self) -> None:
            assert (
                self._sql(
                    "SELECT r.id FROM rsaas r JOIN tickets t ON t.number = r.ticket_number"
                    " WHERE t.status = 'closed' AND r.revoked_at IS NULL"
                )
                == []
            )

        @invariant()
        def never_two_active_on_one_ticket(self) -> None:
            assert (
                self._sql(
                    "SELECT ticket_number FROM rsaas WHERE revoked_at IS NULL"
                    " GROUP BY ticket_number HAVING count(*) > 1"
                )
                == []
            )

        @invariant()
        def store_matches_the_model(self) -> None:
            rows = self._sql("SELECT id, ticket_number, revoked_at, revoke_reason FROM rsaas")
            assert {r[0]: r[1] for r in rows} == self.rsaa_ticket  # never moved, none lost
            assert {r[0] for r in rows if r[2] is not None} == self.revoked  # never revived
            assert all(r[3] is not None for r in rows if r[2] is not None)
            active = {r[1]: r[0] for r in rows if r[2] is None}
            assert active == self.active
            versions = dict(self._sql("SELECT number, version FROM tickets"))
            assert versions == self.versions

        @invariant()
        def every_change_is_audited(self) -> None:
            if not self.tickets:
                return
            [(total,)] = self._sql("SELECT count(*) FROM audit_events")
            assert total == self.audits
            counts = dict(self._sql("SELECT action, count(*) FROM audit_events GROUP BY action"))
            assert counts.get("rsaa_record", 0) == len(self.rsaa_ticket)
            assert counts.get("rsaa_revoke", 0) == len(self.revoked)

    return RsaaMachine


SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_rsaa_rules_hold_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stateful.db'}"
    Store(url).dispose()  # migrate once; each example empties the tables
    run_state_machine_as_test(make_machine(url), settings=SETTINGS)


@pytest.mark.pg
def test_rsaa_rules_hold_on_postgresql(request: pytest.FixtureRequest) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url = new_pg_url(request.getfixturevalue("pg_template"))
    try:
        run_state_machine_as_test(make_machine(url), settings=SETTINGS)
    finally:
        drop_pg(url)
