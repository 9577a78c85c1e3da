"""Outbox delivery rate to a local SMTP server (aiosmtpd on 127.0.0.1).

Queues 2,000 replies through `work.reply` (message + outbox entry each), then times
`deliver_all_due` (one SMTP connection per batch, one claim and one "sent" transaction per
message). Goal: >= 50 messages/s.

    .venv/bin/python bench/outbox_bench.py [--messages 2000] [--batch 100] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller

from models.desk import actions, work
from models.desk.actions import Actor
from models.mail.outbox import deliver_all_due, outbox_status
from models.policy.config import Config, SmtpConfig
from models.store.db import Store


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--db", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    port = free_port()
    smtp = SmtpConfig(host="127.0.0.1", port=port, from_address="support@bench.example")
    config = Config(smtp=smtp)
    actor = Actor("bench@example.com")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        now = time.time()
        for n in range(args.messages):
            number = actions.create_ticket(
                store,
                subject=f"Question {n}",
                requester_email=f"customer{n}@example.com",
                received_at=now - 600,
                body="help",
                rfc_message_id=f"<q{n}@example.com>",
            )
            work.reply(store, number, actor, f"Answer {n}\n" * 20, at=now, config=config)
        print(
            f"queued {args.messages:,} replies in {time.perf_counter() - started:.1f} s"
            f" ({store.dialect})"
        )

        handler = Counter()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            t0 = time.perf_counter()
            report = asyncio.run(deliver_all_due(store, smtp, batch=args.batch))
            elapsed = time.perf_counter() - t0
        finally:
            controller.stop()
        waiting, _ = outbox_status(store)
        store.dispose()
    print(
        f"delivered {report.sent:,} (server received {handler.received:,}, still waiting "
        f"{waiting}) in {elapsed:.2f} s: {report.sent / elapsed:.0f} messages/s (goal >= 50)"
    )


if __name__ == "__main__":
    main()
