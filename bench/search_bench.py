"""Search figures: p50/p95 of `models.store.search.search_numbers` for several query shapes on a
store of 100k tickets with 300k messages (goal: <= 200 ms), SQLite by default, `--pg URL` on
PostgreSQL (a scratch database is made and dropped). Also the seeding time, i.e. what the index
triggers cost a bulk insert.

    .venv/bin/python bench/search_bench.py [--tickets 100000] [--replies 2] [--runs 30] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli import drop_database, scratch_database  # noqa: E402


def shapes(store: object) -> dict[str, str]:
    """One query of each shape, picked from the seeded data."""
    from sqlalchemy import text

    from models.store.db import Store

    assert isinstance(store, Store)
    with store.session() as session:
        email, name = session.execute(
            text("SELECT email, name FROM customers ORDER BY id LIMIT 1 OFFSET 7")
        ).one()
        key = session.execute(
            text("SELECT key FROM licenses ORDER BY id LIMIT 1 OFFSET 3")
        ).scalar()
        body = session.execute(
            text("SELECT body FROM messages WHERE body LIKE '%INC%' ORDER BY id DESC LIMIT 1")
        ).scalar()
        top = session.execute(text("SELECT max(number) FROM tickets")).scalar()
    match = re.search(r"INC\d+", body or "")
    return {
        "rare word (one ticket)": match.group() if match else "zzzz",
        "common word": "the",
        "two words": "ldap timeout",
        "two words, rarely together": "ldap upload",
        "phrase": '"operation timed out"',
        "prefix": "notif*",
        "license key": str(key),
        "email": str(email),
        "part of an email": str(email).split("@", 1)[1],
        "customer name": str(name),
        "#N": f"#{int(top or 1) // 2}",
        "no match": "xylophonequartz",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--replies", type=int, default=2, help="extra messages per ticket")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (scratch database)")
    args = parser.parse_args()

    from models.demo.demo import seed_bulk
    from models.store.db import Store
    from models.store.search import search_numbers

    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    url = (
        scratch_database(args.pg, "search_bench")
        if args.pg
        else f"sqlite:///{workdir / 'bench.db'}"
    )
    try:
        store = Store(url)
        started = time.perf_counter()
        seed_bulk(store, args.tickets, now=time.time(), replies=args.replies)
        seeded = time.perf_counter() - started
        if store.dialect == "postgresql":
            with store.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        with store.session() as session:
            from sqlalchemy import text

            messages = session.execute(text("SELECT count(*) FROM messages")).scalar()
        print(
            f"{store.dialect}: seeded {args.tickets} tickets, {messages} messages in {seeded:.1f} s"
            f" (index triggers included); load average {os.getloadavg()[0]:.2f}"
            f" on {os.cpu_count()} CPUs"
        )
        for label, query in shapes(store).items():
            for limit in (20, 1000):  # the CLI's default; the console's `/`
                times = []
                found = 0
                with store.session() as session:
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        result = search_numbers(session, query, limit=limit)
                        times.append(time.perf_counter() - t0)
                        found = len(result.numbers)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(
                    f"  {label:<24} {query[:28]!r:<32} limit {limit:<5} hits {found:<5}"
                    f" p50 {statistics.median(times) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
                )
        store.dispose()
    finally:
        if args.pg:
            drop_database(url, args.pg)


if __name__ == "__main__":
    main()
