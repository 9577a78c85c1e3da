"""kill -9 probes: a process runs CLI commands (take, note, reply, close, reopen, rsaa record) in
a loop and says which ones committed; it is killed at a random moment; then the store is checked.

Used by tests/test_crash.py (a few bounded rounds) and bench/crash_bench.py (many rounds, both
backends, prints the counts). The worker runs the real command line in-process
(`main(..., standalone_mode=False)`: option parsing, store opening, the action, the output) so a
kill can land anywhere in it, including between the commit and the line that reports it.

What is checked, per action the worker reported as committed (exit 0): its marker (a unique text
in the note/reply body, the close reason, the RSAA notes) is in the store exactly once. Per action
started but not reported: at most once (a kill after the commit and before the report is fine).
And nothing half-written: every ticket's version went up by exactly the number of change-log rows
it got, every reply has its one outbox entry, every note/reply/close/RSAA its audit event.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import col

from models.desk import actions
from models.store.db import Store
from models.store.tables import AuditEvent, ChangeLog, Message, OutboxEntry, Rsaa, Ticket

ROOT = Path(__file__).resolve().parent.parent
OPS = ("take", "note", "reply", "close", "reopen", "rsaa")
TECHNICIANS = ("ana@support.example", "ben@support.example")

WORKER = r"""
import random, sys
from tui.cli.core import main

url, config, tag, seed, *tickets = sys.argv[1:]
rng = random.Random(int(seed))
seq = 0
while True:
    seq += 1
    op = rng.choice(__OPS__)
    number = rng.choice(tickets)
    marker = f"k9-{tag}-{seq}"
    who = rng.choice(__TECHNICIANS__)
    args = {
        "take": ["take", number],
        "note": ["note", number, "--body", marker],
        "reply": ["reply", number, "--body", marker],
        "close": ["close", number, "--reason", marker],
        "reopen": ["reopen", number],
        "rsaa": ["rsaa", "record", number, "--name", "Jo", "--email", "jo@c.example",
                 "--server", "10.0.0.5", "--method", "rdp", "--source-ip", "192.0.2.1",
                 "--notes", marker],
    }[op]
    sys.stdout.write(f"start {op} {number} {marker}\n")
    sys.stdout.flush()
    try:
        main([*args, "--db", url, "--config", config, "--as", who], standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sys.stdout.write(f"done {op} {number} {marker} {code}\n")
    sys.stdout.flush()
""".replace("__OPS__", repr(OPS)).replace("__TECHNICIANS__", repr(TECHNICIANS))


@dataclass
class Tally:
    rounds: int = 0
    started: int = 0
    confirmed: int = 0  # reported committed (exit 0)
    refused: int = 0  # reported refused (e.g. take of a closed ticket): must not be in the store
    lost: int = 0  # confirmed but not in the store
    duplicated: int = 0  # in the store more than once
    refused_but_stored: int = 0
    unreported_committed: int = 0  # killed between commit and report (allowed)
    half_written: list[str] = field(default_factory=list)
    by_op: Counter[str] = field(default_factory=Counter)

    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.refused_but_stored or self.half_written)

    def line(self) -> str:
        return (
            f"rounds {self.rounds}: actions started {self.started}, confirmed {self.confirmed}, "
            f"refused {self.refused}, lost {self.lost}, duplicated {self.duplicated}, "
            f"refused-but-stored {self.refused_but_stored}, committed-unreported "
            f"{self.unreported_committed}, half-written {len(self.half_written)}"
        )


def make_store(url: str, tickets: int = 4) -> list[int]:
    """Tickets to work on (a customer address so replies have a recipient)."""
    store = Store(url)
    numbers = [
        actions.create_ticket(
            store,
            subject=f"crash probe {i}",
            requester_email=f"c{i}@customer.example",
            received_at=1_700_000_000.0 + i,
            entitlement="license",
        )
        for i in range(tickets)
    ]
    store.dispose()
    return numbers


def snapshot(url: str) -> dict[int, tuple[int, int]]:
    """ticket -> (version, change-log rows)."""
    store = Store(url)
    with store.session() as session:
        versions = {n: v for n, v in session.execute(select(Ticket.number, Ticket.version))}
        changes = {
            n: c
            for n, c in session.execute(
                select(ChangeLog.ticket_number, func.count()).group_by(ChangeLog.ticket_number)
            )
        }
    store.dispose()
    return {n: (v, changes.get(n, 0)) for n, v in versions.items()}


def run_round(
    url: str, config: Path, tickets: list[int], tag: str, seed: int, after_actions: int
) -> list[str]:
    """Run the worker and kill -9 it once it has finished `after_actions` actions, a random
    moment into the next one (counting actions, not seconds: a loaded machine starts Python
    slowly). Returns its output lines."""
    rng = random.Random(seed)
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(config), tag, str(seed), *map(str, tickets)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")},
    )
    assert process.stdout is not None
    watchdog = threading.Timer(120, process.kill)  # a stuck worker ends the round, not the run
    watchdog.start()
    lines: list[str] = []
    done = 0
    try:
        while done < after_actions:
            raw = process.stdout.readline()
            if not raw:
                break
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            done += lines[-1].startswith("done ")
        # one CLI action takes ~10-100 ms: land anywhere in the next one (or between two)
        time.sleep(rng.uniform(0, 0.12))
        process.send_signal(signal.SIGKILL)
        rest, _ = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
    return lines + rest.decode("utf-8", "replace").splitlines()


def _stored_markers(url: str) -> tuple[Counter[str], list[str]]:
    """Every k9- marker in the store (by where it is), and half-written findings."""
    store = Store(url)
    found: Counter[str] = Counter()
    problems: list[str] = []
    with store.session() as session:
        messages = session.execute(
            select(Message.id, Message.direction, Message.body).where(
                col(Message.body).like("k9-%")
            )
        ).all()
        outbox = Counter(
            session.execute(
                select(OutboxEntry.message_id).where(col(OutboxEntry.body).like("k9-%"))
            )
            .scalars()
            .all()
        )
        for message_id, direction, body in messages:
            found[body] += 1
            if direction == "out" and outbox[message_id] != 1:
                problems.append(f"reply {body}: {outbox[message_id]} outbox entries")
        for notes in session.execute(select(Rsaa.notes).where(col(Rsaa.notes).like("k9-%"))):
            found[notes[0]] += 1
        audit_details = [
            json.loads(detail or "{}")
            for detail in session.execute(select(AuditEvent.detail)).scalars().all()
        ]
    store.dispose()
    audited = Counter(
        str(value)
        for detail in audit_details
        for value in detail.values()
        if isinstance(value, str) and value.startswith("k9-")
    )
    closes = {m for m, n in audited.items() if n}
    for marker in closes:
        if marker not in found:  # a close reason lives only in the audit trail
            found[marker] += audited[marker]
    return found, problems


def check(url: str, before: dict[int, tuple[int, int]], lines: list[str], tally: Tally) -> None:
    """Compare what the worker said with what the store holds (see the module docstring)."""
    found, problems = _stored_markers(url)
    tally.half_written += problems
    started: dict[str, str] = {}
    reported: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "start":
            started[parts[3]] = parts[1]
        elif len(parts) == 5 and parts[0] == "done":
            reported[parts[3]] = int(parts[4])
    tally.rounds += 1
    tally.started += len(started)
    for marker, op in started.items():
        code = reported.get(marker)
        tally.by_op[f"{op}:{'killed' if code is None else code}"] += 1
        if op in ("take", "reopen"):
            continue  # no marker of their own: covered by the version/change-log balance
        count = found.get(marker, 0)
        if count > 1:
            tally.duplicated += 1
        if code == 0:
            tally.confirmed += 1
            if count == 0:
                tally.lost += 1
        elif code is None:
            tally.unreported_committed += count
        else:
            tally.refused += 1
            if count:
                tally.refused_but_stored += 1
    tally.confirmed += sum(
        1 for m, c in reported.items() if c == 0 and started.get(m) in ("take", "reopen")
    )
    after = snapshot(url)
    for number, (version, changes) in after.items():
        v0, c0 = before.get(number, (version, changes))
        if version - v0 != changes - c0:
            tally.half_written.append(
                f"#{number}: version +{version - v0} but {changes - c0} change-log rows"
            )


def probe(url: str, config: Path, rounds: int, seed: int, max_actions: int = 40) -> Tally:
    """`rounds` kill -9 rounds on the store at `url` (migrated): each kills the worker after
    1 to `max_actions` finished actions, a random moment into the next."""
    rng = random.Random(seed)
    tickets = make_store(url)
    tally = Tally()
    for index in range(rounds):
        before = snapshot(url)
        lines = run_round(
            url,
            config,
            tickets,
            f"{seed}.{index}",
            rng.randrange(1 << 30),
            rng.randint(1, max_actions),
        )
        check(url, before, lines, tally)
    return tally
