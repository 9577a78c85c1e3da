"""Presence ("viewing now"): what reading it costs a console, and how long a colleague's open
takes to reach another console's reader — against the alternative of a change-log row per
presence change. SQLite (a temp file), and PostgreSQL with `--pg URL`.

    .venv/bin/python bench/presence_bench.py [--tickets 20000] [--consoles 50] [--pg URL]

Printed:
- `live_viewers` (the read each console does after any commit, and every 5 s): median µs with
  `--consoles` live rows;
- the alternative's reader cost per presence change: `load_rows` of the ticket (every console)
  plus `ticket_detail` (each console that has that ticket open), median µs;
- presence.show (one write; a renewal is the same statement): median µs;
- latency from a `presence.show` commit in one thread to a reader (ChangeFeed + live_viewers,
  polling as the queue screen does) seeing it: median and max ms over 30 opens.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mailgate_bench import _drop_database, _scratch_database  # noqa: E402
from models.demo.demo import seed_bulk  # noqa: E402
from models.desk import presence  # noqa: E402
from models.desk.actions import Actor  # noqa: E402
from models.desk.detail import ticket_detail  # noqa: E402
from models.desk.queue import load_rows  # noqa: E402
from models.store.changes import ChangeFeed  # noqa: E402
from models.store.db import Store  # noqa: E402

READER = Actor("reader@shiftdesk.example", "Reader")
VIEWER = Actor("viewer@shiftdesk.example", "Viewer")


def _median_us(run: Callable[[], object], times: int = 200) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def _latency(store: Store, numbers: list[int], opens: int = 30) -> list[float]:
    """ms from a presence.show commit to the reader's live_viewers showing it (the reader
    polls as QueueScreen.watch_changes does: feed.poll(0.5), then presence if woke)."""
    seen: dict[int, float] = {}
    stop = threading.Event()

    def reader() -> None:
        feed = ChangeFeed(Store(store.url))
        try:
            while not stop.is_set():
                feed.poll(timeout=0.5)
                if feed.woke:
                    feed.woke = False
                    for number in presence.live_viewers(feed.store, time.time(), READER.email):
                        seen.setdefault(number, time.perf_counter())
                elif feed.store.dialect != "postgresql":
                    time.sleep(0.5)
        finally:
            feed.close()
            feed.store.dispose()

    rng = random.Random(5)
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(1.0)
    latencies = []
    for number in numbers[:opens]:
        time.sleep(rng.uniform(0.2, 0.8))  # opens land anywhere in the reader's poll cycle
        presence.show(store, "bench-viewer", VIEWER, number, time.time())
        committed = time.perf_counter()
        deadline = committed + 5
        while number not in seen and time.perf_counter() < deadline:
            time.sleep(0.005)
        latencies.append((seen.get(number, deadline) - committed) * 1000)
    stop.set()
    thread.join(3)
    return latencies


def run(url: str, tickets: int, consoles: int) -> None:
    store = Store(url)
    seed_bulk(store, tickets, now=time.time(), seed=3)
    now = time.time()
    numbers = list(range(1, min(tickets, 200) + 1))
    for i in range(consoles):
        presence.show(store, f"console-{i}", Actor(f"tech{i}@shiftdesk.example"), numbers[i], now)
    print(f"{store.dialect}: {tickets} tickets, {consoles} live presence rows")
    read = _median_us(lambda: presence.live_viewers(store, time.time(), READER.email))
    print(f"  live_viewers (each console, after any commit / every 5 s): {read:8.0f} µs")

    def rows() -> object:
        with store.session() as session:
            return load_rows(session, [numbers[0]])

    row_us = _median_us(rows)
    detail_us = _median_us(lambda: ticket_detail(store, numbers[0]), times=50)
    print(f"  alternative, per change and console: load_rows {row_us:8.0f} µs")
    print(f"  alternative, per change and console with it open: ticket_detail {detail_us:8.0f} µs")
    write = _median_us(
        lambda: presence.show(store, "console-0", Actor("tech0@shiftdesk.example"), 1, now),
        times=50,
    )
    print(f"  presence.show (open / switch / renewal): {write:8.0f} µs")
    latencies = _latency(store, numbers[consoles:] or numbers)
    print(
        f"  open -> another console's reader: median {statistics.median(latencies):.0f} ms,"
        f" max {max(latencies):.0f} ms ({len(latencies)} opens)"
    )
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--pg", metavar="URL", help="also PostgreSQL (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.tickets, args.consoles)
    if args.pg:
        url = _scratch_database(args.pg)
        try:
            run(url, args.tickets, args.consoles)
        finally:
            _drop_database(args.pg, url)


if __name__ == "__main__":
    main()
