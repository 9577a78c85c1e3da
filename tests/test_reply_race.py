"""Replies and takes that race without a version: the first response is recorded, and mailed,
once; a ticket is taken from a colleague only on purpose.

Ten threads, each with its own Store (its own engine and connections, as ten `shiftdesk reply`
processes would have), released together by a barrier. Both backends (`db_url`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from models.desk import actions, work
from models.desk.actions import ActionError, Actor, AssignedElsewhere
from models.desk.work import AlreadyAnswered
from models.policy.config import Config
from models.store.db import Store
from models.store.tables import AuditEvent, Message, OutboxEntry, Ticket

RACERS = 10
T0 = 1_773_158_400.0


def _race(db_url: str, act: Callable[[Store, int], Any]) -> list[Any]:
    """Run `act(store, i)` in RACERS threads at once; each result or exception, by racer."""
    barrier = threading.Barrier(RACERS)
    outcomes: list[Any] = [None] * RACERS
    stores = [Store(db_url) for _ in range(RACERS)]

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = act(stores[i], i)
        except ActionError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.dispose()
    return outcomes


def _ticket(store: Store) -> int:
    return actions.create_ticket(
        store,
        subject="printer on fire",
        requester_email="jo@customer.example",
        received_at=T0,
        body="help",
        rfc_message_id="<fire@customer.example>",
    )


def test_racing_replies_make_one_first_response_and_one_mail(db_url: str) -> None:
    store = Store(db_url)
    number = _ticket(store)
    config = Config()
    outcomes = _race(
        db_url,
        lambda s, i: work.reply(
            s, number, Actor(f"tech{i}@example.com"), f"answer {i}", at=T0 + 60, config=config
        ),
    )
    sent = [o for o in outcomes if isinstance(o, work.ReplyResult)]
    refused = [o for o in outcomes if isinstance(o, AlreadyAnswered)]
    assert len(sent) == 1 and len(refused) == RACERS - 1, outcomes
    assert sent[0].first_response
    winner = sent[0].ticket
    assert all("already answered" in str(r) and "replied at" in str(r) for r in refused)
    with store.session() as s:
        outbound = s.execute(
            select(func.count()).select_from(Message).where(col(Message.direction) == "out")
        ).scalar_one()
        mails = s.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()
        first = s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                col(AuditEvent.action) == "reply",
                col(AuditEvent.detail).contains('"first_response": true'),
            )
        ).scalar_one()
        ticket = s.get(Ticket, number)
        assert ticket is not None
        assert ticket.version == winner.version == 2  # the refused nine changed nothing
    store.dispose()
    assert (outbound, mails, first) == (1, 1, 1)


def test_a_follow_up_is_sent_on_purpose(db_url: str) -> None:
    store = Store(db_url)
    number = _ticket(store)
    work.reply(store, number, Actor("ana@example.com"), "try 9.4.3", at=T0 + 60)
    follow = work.reply(
        store, number, Actor("bob@example.com"), "and restart", at=T0 + 90, follow_up=True
    )
    assert not follow.first_response
    with store.session() as s:
        assert s.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 2
    store.dispose()


def test_racing_takes_take_it_once(db_url: str) -> None:
    store = Store(db_url)
    number = _ticket(store)
    outcomes = _race(
        db_url, lambda s, i: actions.take(s, number, Actor(f"tech{i}@example.com"), at=T0 + 60)
    )
    won = [o for o in outcomes if isinstance(o, Ticket)]
    refused = [o for o in outcomes if isinstance(o, AssignedElsewhere)]
    assert len(won) == 1 and len(refused) == RACERS - 1, outcomes
    with store.session() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None and ticket.version == 2
        takes = s.execute(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == "take")
        ).scalar_one()
    assert takes == 1
    assert {r.assignee for r in refused} == {refused[0].assignee}
    # taking it over is a decision: it names whose it was
    actions.take(store, number, Actor("lead@example.com"), at=T0 + 120, take_over=True)
    with store.session() as s:
        detail = s.execute(
            select(col(AuditEvent.detail)).order_by(col(AuditEvent.id).desc()).limit(1)
        ).scalar_one()
    store.dispose()
    assert refused[0].assignee in detail
