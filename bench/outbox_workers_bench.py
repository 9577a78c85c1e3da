"""Duplicates under concurrent outbox workers (goal: 0).

A real SMTP server (aiosmtpd on 127.0.0.1) that takes `--delay` seconds per message, so a batch
takes far longer than a lease; `--workers` processes flush the same outbox at once, starting
`--stagger` seconds apart, each with `deliver_all_due` in a loop until nothing is left. Leases are
made as short as the code allows (SMTP timeout `--timeout`, LEASE_EXTRA_SECONDS = 0). The server
counts deliveries per Message-ID.

    .venv/bin/python bench/outbox_workers_bench.py [--messages 300] [--workers 4] [--pg URL]
    .venv/bin/python bench/outbox_workers_bench.py --code /tmp/old-tree   # another checkout

`--code` runs the workers (and the queueing) from another source tree, e.g. the commit before
per-message claims: `git archive 5e96f29 | tar -x -C /tmp/old-tree`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mailgate_bench import _drop_database, _scratch_database  # noqa: E402

QUEUE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from models.store.db import Store
from models.mail.outbox import enqueue
store = Store(sys.argv[2])
with store.transaction() as s:
    for n in range(int(sys.argv[3])):
        enqueue(s, to_address=f"c{n}@bench.example", subject=f"s{n}", body="b",
                at=time.time() - 1)
store.dispose()
"""

WORKER = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
from sqlalchemy import func, select
from models.mail import outbox
from models.policy.config import SmtpConfig
from models.store.db import Store
from models.store.tables import OutboxEntry
outbox.LEASE_EXTRA_SECONDS = 0.0
url, port, timeout, batch = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
smtp = SmtpConfig(host="127.0.0.1", port=port, from_address="s@bench.example",
                  timeout_seconds=timeout)
store = Store(url)
sent, stop_at = 0, time.time() + 300
while time.time() < stop_at:
    sent += asyncio.run(outbox.deliver_all_due(store, smtp, batch=batch)).sent
    with store.session() as s:
        left = s.execute(select(func.count()).select_from(OutboxEntry)
                         .where(OutboxEntry.status == "queued")).scalar_one()
    if not left:
        break
    time.sleep(0.05)
store.dispose()
print(sent)
"""


class SlowCounter:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        with self.lock:
            self.ids[str(message_from_bytes(envelope.content)["Message-ID"])] += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.02, help="SMTP seconds per message")
    parser.add_argument("--timeout", type=float, default=0.2, help="SMTP timeout (sets leases)")
    parser.add_argument("--stagger", type=float, default=0.7, help="seconds between starts")
    parser.add_argument(
        "--pg", metavar="URL", help="a PostgreSQL server: runs in a scratch database on it"
    )
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree of the workers")
    args = parser.parse_args()
    code = str(args.code.resolve())
    port = free_port()
    handler = SlowCounter(args.delay)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = _scratch_database(args.pg) if args.pg else f"sqlite:///{Path(tmp) / 'outbox.db'}"
        subprocess.run([sys.executable, "-c", QUEUE, code, url, str(args.messages)], check=True)
        started = time.perf_counter()
        workers = []
        for index in range(args.workers):
            if index:
                time.sleep(args.stagger)
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        WORKER,
                        code,
                        url,
                        str(port),
                        str(args.timeout),
                        str(args.batch),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        reported = [int((w.communicate()[0] or "0").strip() or 0) for w in workers]
        elapsed = time.perf_counter() - started
        if args.pg:
            _drop_database(args.pg, url)
    controller.stop()
    deliveries = sum(handler.ids.values())
    duplicated = sum(1 for n in handler.ids.values() if n > 1)
    print(
        f"{args.messages} messages, {args.workers} workers ({url.split(':')[0]}), "
        f"{args.delay * 1000:.0f} ms per message, batch {args.batch}: "
        f"{deliveries} deliveries of {len(handler.ids)} Message-IDs in {elapsed:.1f} s "
        f"(workers reported {reported})"
    )
    extra = deliveries - len(handler.ids)
    print(f"duplicated Message-IDs: {duplicated} (goal 0), extra deliveries: {extra}")


if __name__ == "__main__":
    main()
