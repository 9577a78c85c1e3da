"""The same message delivered twice at the same moment (two aliases of the support address, two
fetchers): two gateway processes race, and the message is stored once. 30 races per backend, new
tickets and replies."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from models.desk import actions
from models.store.db import Store
from models.store.tables import Message, OutboxEntry, Ticket
from tests.intake_support import CONFIG, plain

RACES = 30


def _worker(db_url: str, barrier: Barrier, tasks: Any, results: Any) -> None:
    from models.mail.intake import gate

    store = Store(db_url)
    while True:
        raw = tasks.get()
        if raw is None:
            store.dispose()
            return
        barrier.wait(timeout=60)
        outcome = gate(store, CONFIG, raw)
        results.put((outcome.code, outcome.line))


@pytest.mark.slow
def test_a_message_delivered_twice_at_once_is_stored_once(db_url: str) -> None:
    store = Store(db_url)
    existing = actions.create_ticket(
        store, subject="older", requester_email="stranger@elsewhere.example", received_at=1.0e9
    )
    messages = [
        plain(
            f"race {n}",
            sender="stranger@elsewhere.example",
            message_id=f"<race{n}@elsewhere.example>",
            subject=f"Re: [#{existing}] more" if n % 2 else f"new problem {n}",
        )
        for n in range(RACES)
    ]
    context = mp.get_context("spawn")
    barrier = context.Barrier(2)
    tasks, results = context.Queue(), context.Queue()
    workers = [
        context.Process(target=_worker, args=(db_url, barrier, tasks, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = []
        for raw in messages:
            tasks.put(raw)
            tasks.put(raw)
            outcomes += [results.get(timeout=60), results.get(timeout=60)]
    finally:
        for _ in workers:
            tasks.put(None)
        for worker in workers:
            worker.join(timeout=30)
    assert all(code == 0 for code, _ in outcomes), outcomes
    ignored = [line for _, line in outcomes if line.startswith("ignored: already stored")]
    assert len(ignored) == RACES, outcomes
    with store.session() as s:
        for n in range(RACES):
            stored = s.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.rfc_message_id == f"<race{n}@elsewhere.example>")  # type: ignore[arg-type]
            ).scalar_one()
            assert stored == 1, n
        tickets = s.execute(select(func.count()).select_from(Ticket)).scalar_one()
        autoreplies = s.execute(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.kind == "autoreply")  # type: ignore[arg-type]
        ).scalar_one()
    assert tickets == 1 + RACES // 2
    assert autoreplies == 1  # once a day per address, however the races fell
    store.dispose()


def _cap_worker(db_url: str, barrier: Barrier, tasks: Any, results: Any, cap: int) -> None:
    from dataclasses import replace

    from models.mail.intake import gate

    config = replace(CONFIG, smtp=replace(CONFIG.smtp, autoreply_per_hour=cap))
    store = Store(db_url)
    while True:
        raw = tasks.get()
        if raw is None:
            store.dispose()
            return
        barrier.wait(timeout=60)
        results.put(gate(store, config, raw).line)


@pytest.mark.slow
def test_the_autoreply_cap_holds_when_gateways_race(db_url: str) -> None:
    """Two gateways, strangers' messages arriving in pairs at the same moment: the hourly cap is
    counted one delivery at a time (SQLite's write lock; an advisory lock on PostgreSQL)."""
    cap, pairs = 5, 12
    context = mp.get_context("spawn")
    barrier = context.Barrier(2)
    tasks, results = context.Queue(), context.Queue()
    workers = [
        context.Process(target=_cap_worker, args=(db_url, barrier, tasks, results, cap))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        lines = []
        for n in range(pairs):
            for side in ("a", "b"):
                tasks.put(plain(sender=f"{side}{n}@spoofed.example", message_id=f"<{side}{n}@x>"))
            lines += [results.get(timeout=60), results.get(timeout=60)]
    finally:
        for _ in workers:
            tasks.put(None)
        for worker in workers:
            worker.join(timeout=30)
    assert all(line.startswith("ticket #") for line in lines), lines
    store = Store(db_url)
    with store.session() as s:
        autoreplies = s.execute(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.kind == "autoreply")  # type: ignore[arg-type]
        ).scalar_one()
    store.dispose()
    assert autoreplies == cap
