"""Two technicians in two processes race to take and to reply to the same ticket.

Two long-lived worker processes run the real `shiftdesk` command line (click, in-process) for each
race, released together by a barrier: `take N --expect-version 1` and `reply N --expect-version 1`.
Exactly one wins each race; the loser exits 1 and its stderr names who did what. 100 races per
backend (50 takes, 50 replies).
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.desk import actions
from models.store.db import Store
from models.store.tables import AuditEvent, Message, OutboxEntry, Ticket

RACES = 100
TECHS = ("alice@example.com", "bob@example.com")


def _worker(
    db_url: str, config_path: str, email: str, barrier: Barrier, tasks: Any, results: Any
) -> None:
    from click.testing import CliRunner

    from tui.cli.core import main

    runner = CliRunner()
    while True:
        task = tasks.get()
        if task is None:
            return
        args = [*task, "--as", email, "--db", db_url, "--config", config_path]
        barrier.wait(timeout=60)
        outcome = runner.invoke(main, args)
        results.put((email, task[1], outcome.exit_code, outcome.stdout, outcome.stderr))


@pytest.mark.slow
def test_two_technicians_race_and_exactly_one_wins(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    config = tmp_path / "shiftdesk.toml"
    config.write_text('[smtp]\nfrom = "support@shiftdesk.example"\n', encoding="utf-8")
    numbers = [
        actions.create_ticket(
            store,
            subject=f"race {n}",
            requester_email="jo@customer.example",
            received_at=1_773_158_400.0 + n,
            body="help",
            rfc_message_id=f"<race{n}@customer.example>",
        )
        for n in range(RACES)
    ]
    takes, replies = numbers[: RACES // 2], numbers[RACES // 2 :]
    tasks_list: list[list[str]] = [["take", str(n), "--expect-version", "1"] for n in takes]
    tasks_list += [
        ["reply", str(n), "--expect-version", "1", "--body", f"fix for {n}"] for n in replies
    ]

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    queues = [ctx.Queue() for _ in TECHS]
    workers = [
        ctx.Process(target=_worker, args=(db_url, str(config), email, barrier, q, results))
        for email, q in zip(TECHS, queues, strict=True)
    ]
    for worker in workers:
        worker.start()
    try:
        for task in tasks_list:
            for q in queues:
                q.put(task)
        outcomes = [results.get(timeout=120) for _ in range(2 * len(tasks_list))]
    finally:
        for q in queues:
            q.put(None)
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()

    by_ticket: dict[int, list[tuple[str, int, str, str]]] = {}
    for email, number, code, out, err in outcomes:
        by_ticket.setdefault(int(number), []).append((email, code, out, err))
    assert len(by_ticket) == RACES
    wins: dict[str, int] = {email: 0 for email in TECHS}
    for number, pair in by_ticket.items():
        winners = [p for p in pair if p[1] == 0]
        losers = [p for p in pair if p[1] != 0]
        assert len(winners) == 1 and len(losers) == 1, (number, pair)
        winner, loser = winners[0], losers[0]
        wins[winner[0]] += 1
        did = "took it" if number in takes else "replied to it"
        assert loser[1] == 1, loser
        assert loser[3].startswith(f"shiftdesk: #{number} changed since you loaded it: "), loser
        assert f"{winner[0]} {did}" in loser[3], loser
        assert loser[3].count("\n") == 1  # one line

    with store.session() as s:
        versions = dict(s.execute(select(col(Ticket.number), col(Ticket.version))).all())
        outbound = dict(
            s.execute(
                select(col(Message.ticket_number), func.count())
                .where(col(Message.direction) == "out")
                .group_by(col(Message.ticket_number))
            ).all()
        )
        queued = s.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()
        events = dict(
            s.execute(
                select(col(AuditEvent.action), func.count())
                .where(col(AuditEvent.action).in_(["take", "reply"]))
                .group_by(col(AuditEvent.action))
            ).all()
        )
    store.dispose()
    assert all(versions[n] == 2 for n in numbers)  # one change per ticket
    assert outbound == {n: 1 for n in replies}  # never two first responses
    assert queued == len(replies)
    assert events == {"take": len(takes), "reply": len(replies)}
    assert sum(wins.values()) == RACES
