"""SLA report figures: the time to compute the 30-day report (`models.desk.report.sla_report`) on a
store of 20k and 100k tickets received over the last 30 days, ~85 % of them answered (their first
response recorded as `models.desk.work` records it: deadline, minutes on the ticket's clock,
technician; ~12 % late). SQLite by default, `--pg URL` on PostgreSQL (a scratch database is made
and dropped). Also `shiftdesk report --json` end to end (process start included), next to
`shiftdesk oncall --json` on the same store for scale.

    .venv/bin/python bench/report_bench.py [--tickets 20000 100000] [--runs 15] [--pg URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli import clean_env, command, drop_database, scratch_database  # noqa: E402


def answer_most(store: object, now: float, seed: int = 5) -> int:
    """Record a first response on ~85 % of the seeded tickets, as models.desk.work would have."""
    from sqlalchemy import bindparam, select, update

    from models.demo.demo import TECHNICIANS
    from models.desk.actions import technician_for
    from models.desk.work import sla_policy
    from models.policy.config import Config
    from models.store.db import Store
    from models.store.tables import Ticket, table_of

    assert isinstance(store, Store)
    rng = random.Random(seed)
    policy = sla_policy(Config())
    calendar = policy.calendar
    tickets = table_of(Ticket)
    with store.transaction() as session:
        techs = [technician_for(session, t).id for t in TECHNICIANS]
        rows = session.execute(
            select(tickets.c.number, tickets.c.kind, tickets.c.received_at)
        ).all()
    updates = []
    for number, kind, received in rows:
        if rng.random() > 0.85:
            continue
        if kind == "emergency":
            minutes = rng.uniform(62, 150) if rng.random() < 0.12 else rng.uniform(4, 55)
            answered = received + minutes * 60
        else:
            late = rng.random() < 0.12
            minutes = rng.uniform(250, 900) if late else rng.triangular(8, 235, 60)
            answered = calendar.deadline(received, minutes * 60)
        if answered > now:
            continue
        deadline = policy.deadline("emergency" if kind == "emergency" else "standard", received)
        updates.append(
            {
                "n": number,
                "at": answered,
                "met": answered <= deadline,
                "deadline": deadline,
                "minutes": minutes,
                "by": techs[rng.randrange(len(techs))],
            }
        )
    statement = (
        update(tickets)
        .where(tickets.c.number == bindparam("n"))
        .values(
            status="answered",
            waiting_since=None,
            first_response_at=bindparam("at"),
            first_response_met=bindparam("met"),
            first_response_deadline=bindparam("deadline"),
            first_response_minutes=bindparam("minutes"),
            first_response_by_id=bindparam("by"),
        )
    )
    for start in range(0, len(updates), 5000):
        with store.transaction() as session:
            session.execute(statement, updates[start : start + 5000])
    return len(updates)


def time_report(store: object, now: float, runs: int) -> tuple[float, float, object]:
    from models.desk.report import report_days, sla_report
    from models.desk.work import sla_policy
    from models.policy.config import Config
    from models.store.db import Store

    assert isinstance(store, Store)
    config = Config()
    zone = config.calendar.timezone
    first, last = report_days(now, zone, days=30)
    timings = []
    report = None
    for _ in range(runs):
        started = time.perf_counter()
        with store.session() as session:
            report = sla_report(
                session,
                first_day=first,
                last_day=last,
                zone=zone,
                now=now,
                policy=sla_policy(config),
            )
        timings.append(time.perf_counter() - started)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (scratch database)")
    args = parser.parse_args()

    from models.demo.demo import seed_bulk
    from models.store.db import Store

    backend = "postgresql" if args.pg else "sqlite"
    print(f"backend {backend}, report over the last 30 days, {args.runs} runs each")
    for count in args.tickets:
        with tempfile.TemporaryDirectory() as folder:
            url = (
                scratch_database(args.pg, "report_bench")
                if args.pg
                else f"sqlite:///{folder}/bench.db"
            )
            try:
                now = time.time()
                store = Store(url)
                started = time.perf_counter()
                seed_bulk(store, count, now=now, in_arrival_order=True)
                answered = answer_most(store, now)
                setup = time.perf_counter() - started
                p50, p95, report = time_report(store, now, args.runs)
                from models.desk.report import SlaReport

                assert isinstance(report, SlaReport)
                store.dispose()
                started = time.perf_counter()
                subprocess.run(
                    [*command(), "report", "--json", "--db", url],
                    env=clean_env(),
                    check=True,
                    capture_output=True,
                )
                cli = time.perf_counter() - started
                # the same process start and store opening without the report, for scale
                started = time.perf_counter()
                subprocess.run(
                    [*command(), "oncall", "--json", "--db", url],
                    env=clean_env(),
                    check=True,
                    capture_output=True,
                )
                baseline = time.perf_counter() - started
            finally:
                if args.pg:
                    drop_database(url, args.pg)
        print(
            f"{count:>7} tickets ({answered} answered, {report.breaches} breaches): "
            f"report p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
            f"`shiftdesk report --json` {cli * 1000:.0f} ms (`shiftdesk oncall --json` on the "
            f"same store: {baseline * 1000:.0f} ms); setup {setup:.1f} s"
        )


if __name__ == "__main__":
    main()
