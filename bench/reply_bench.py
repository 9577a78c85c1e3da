"""Reply latency with 100,000 tickets in the store.

Seeds the tickets in bulk (models.demo.demo.seed_bulk: core executemany), then times `work.reply`
from call to commit on random open tickets, and the reply plus re-reading the detail pane's read
model (`ticket_detail`), which is what the TUI does after ctrl+s. Goal: <= 100 ms.

    .venv/bin/python bench/reply_bench.py [--tickets 100000] [--replies 200] [--db URL]

Without --db it uses a fresh SQLite file in a temporary directory. With a PostgreSQL URL the
database should be empty (it is seeded).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlmodel import col

from models.demo.demo import seed_bulk
from models.desk import detail, work
from models.desk.actions import Actor
from models.policy.config import Config
from models.store.db import Store
from models.store.tables import Ticket


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--db", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(url)
        started = time.perf_counter()
        seed_bulk(store, args.tickets, now=time.time())
        print(
            f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s"
            f" ({store.dialect})"
        )

        config = Config()
        actor = Actor("bench@example.com", "Bench")
        with store.session() as session:
            numbers = [
                row[0]
                for row in session.execute(
                    select(col(Ticket.number)).where(col(Ticket.status) == "open")
                ).all()
            ]
        picks = random.Random(7).sample(numbers, min(args.replies, len(numbers)))
        work.reply(store, picks[0], actor, "warm-up", config=config)  # calendar, pool
        commit_ms: list[float] = []
        shown_ms: list[float] = []
        for number in picks[1:]:
            version = detail.ticket_detail(store, number).version
            t0 = time.perf_counter()
            work.reply(
                store, number, actor, "Please try 9.4.3.", expected_version=version, config=config
            )
            t1 = time.perf_counter()
            detail.ticket_detail(store, number)
            t2 = time.perf_counter()
            commit_ms.append((t1 - t0) * 1000)
            shown_ms.append((t2 - t0) * 1000)
        store.dispose()

    for label, values in (("reply committed", commit_ms), ("reply + detail reloaded", shown_ms)):
        print(
            f"{label:<24} median {statistics.median(values):6.1f} ms   "
            f"p95 {percentile(values, 0.95):6.1f} ms   max {max(values):6.1f} ms   "
            f"(n={len(values)}, goal <= 100 ms)"
        )


if __name__ == "__main__":
    main()
