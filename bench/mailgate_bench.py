"""Mail gateway figures: `shiftdesk mailgate` on one message (wall time including process start,
median of 10; goal <= 300 ms) and `shiftdesk mailgate --maildir` with 1,000 messages into SQLite
(goal >= 200 messages/s), on a store like a real one (`--customers`, `--tickets`); `--pg URL`
runs the same on PostgreSQL.

    .venv/bin/python bench/mailgate_bench.py [--runs 10] [--messages 1000] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import clean_env, command  # noqa: E402


def message(index: int, sender: str) -> bytes:
    """A plain new message (the single-message runs)."""
    msg = EmailMessage()
    msg["From"] = f"Customer {index} <{sender}>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"Problem number {index}"
    msg["Message-ID"] = f"<bench.{index}.{time.time_ns()}@example.org>"
    msg["Date"] = "Thu, 15 Jan 2026 12:00:00 -0700"
    msg.set_content(f"Something broke ({index}).\n" + "Details line.\n" * 20)
    return msg.as_bytes()


@dataclass
class World:
    senders: list[str]  # every customer's address
    keys: dict[str, list[str]]  # address -> that customer's license keys
    tickets: int  # tickets already in the store (numbers 1..tickets)


def seed(url: str, customers: int = 2000, tickets: int = 20000) -> World:
    """A store like a real one: the demo's customers in every entitlement state (active, lapsed,
    renewed M&S, hosted, partners, nobody), and `tickets` tickets already in it."""
    import random

    from sqlalchemy import select

    from models.demo.demo import build_world, seed_bulk
    from models.store.db import Store
    from models.store.tables import Customer, License

    store = Store(url)
    now = time.time()
    with store.transaction() as session:
        build_world(session, random.Random(7), now, customers=customers)
    seed_bulk(store, tickets, now=now)
    with store.transaction() as session:
        senders = [email for (email,) in session.execute(select(Customer.email)).all()]
        keys: dict[str, list[str]] = {}
        for email, key in session.execute(
            select(Customer.email, License.key).join(License, License.customer_id == Customer.id)
        ).all():
            keys.setdefault(email, []).append(key)
    store.dispose()
    return World(senders, keys, tickets)


def workload(world: World, count: int, seed: int = 11) -> list[bytes]:
    """`count` messages as a support mailbox gets them: mostly new tickets from customers (some
    naming a license key), a quarter replies (by `[#N]` or by In-Reply-To), strangers,
    HTML-only and multipart/alternative mail, attachments, and the odd auto-reply."""
    import random

    rng = random.Random(seed)
    sent: list[str] = []  # Message-IDs stored so far, for In-Reply-To threading
    out = []
    for index in range(count):
        roll = rng.random()
        sender = (
            f"stranger{index}@elsewhere.example"
            if roll < 0.1
            else world.senders[rng.randrange(len(world.senders))]
        )
        msg = EmailMessage()
        msg["From"] = f"Bench Sender {index} <{sender}>"
        msg["To"] = "support@example.com"
        msg["Message-ID"] = f"<bench.{index}.{time.time_ns()}@example.org>"
        msg["Date"] = "Thu, 15 Jan 2026 12:00:00 -0700"
        body = f"Something broke ({index}).\n" + "Details line with a few words in it.\n" * 20
        kind = rng.random()
        if kind < 0.12 and world.tickets:
            msg["Subject"] = f"Re: [#{rng.randint(1, world.tickets)}] still broken"
        elif kind < 0.25 and sent:
            parent = sent[rng.randrange(len(sent))]
            msg["Subject"] = "Re: our problem"
            msg["In-Reply-To"] = parent
            msg["References"] = parent
            if kind < 0.27:
                msg["Auto-Submitted"] = "auto-replied"
        else:
            msg["Subject"] = f"Problem number {index}"
            keys = world.keys.get(sender)
            if keys and rng.random() < 0.3:
                body += f"\nOur license key is {rng.choice(keys)}.\n"
            if rng.random() < 0.1:
                body += "\nCould you call me? My number is +1 555 0100.\n"
        msg.set_content(body)
        if rng.random() < 0.15:
            html = "<html><body>" + body.replace("\n", "<br>") + "</body></html>"
            msg.add_alternative(html, subtype="html")
        if rng.random() < 0.05:
            msg.add_attachment(
                b"log line\n" * 2000, maintype="text", subtype="plain", filename="server.log"
            )
        sent.append(msg["Message-ID"])
        out.append(msg.as_bytes())
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_single(
    world: World, url: str, runs: int, socket_path: Path | None = None, first: int = 0
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per run (CPU shows the cost when other work shares the machine)."""
    env = clean_env()
    if socket_path is not None:
        env["SHIFTDESK_MAILGATE_SOCKET"] = str(socket_path)
    times, cpu = [], []
    for index in range(first, first + runs):
        raw = message(index, world.senders[index % len(world.senders)])
        cpu_before = _children_cpu()
        started = time.perf_counter()
        result = subprocess.run(
            [*command(), "mailgate", "--db", url],
            input=raw,
            capture_output=True,
            env=env,
            check=False,
        )
        times.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - cpu_before)
        if result.returncode != 0:
            raise SystemExit(f"mailgate failed: {result.returncode} {result.stderr!r}")
    return times, cpu


def bench_maildir(world: World, url: str, workdir: Path, count: int) -> tuple[float, float, str]:
    maildir = workdir / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(workload(world, count)):
        (maildir / "new" / f"{index:06d}.bench").write_bytes(raw)
    env = clean_env()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [*command(), "mailgate", "--maildir", str(maildir), "--db", url],
        capture_output=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"mailgate --maildir failed: {result.returncode} {result.stderr!r}")
    return elapsed, cpu, result.stdout.decode().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=2000, help="customers in the store")
    parser.add_argument("--tickets", type=int, default=20000, help="tickets already in the store")
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="run on PostgreSQL instead: a server URL (a scratch database is made and dropped), "
        "e.g. postgresql://postgres@127.0.0.1:5432/postgres",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mailgate-bench-"))
    scratch = None
    try:
        if args.pg:
            scratch = _scratch_database(args.pg)
            url = scratch
        else:
            url = f"sqlite:///{workdir / 'bench.db'}"
        world = seed(url, args.customers, args.tickets)
        load = os.getloadavg()[0]
        print(f"load average before: {load:.2f} on {os.cpu_count()} CPUs")
        times, cpu = bench_single(world, url, args.runs)
        print(f"command: {' '.join(command())} mailgate --db {url.split(':')[0]}:...")
        print(
            f"mailgate, one message, {args.runs} runs: median {statistics.median(times) * 1000:.0f}"
            f" ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); goal <= 300 ms;"
            f" CPU median {statistics.median(cpu) * 1000:.0f} ms"
        )
        socket_path = workdir / "mailgate.sock"
        daemon = subprocess.Popen(
            [*command(), "mailgate", "--serve", "--socket", str(socket_path), "--db", url],
            stderr=subprocess.PIPE,
        )
        assert daemon.stderr is not None
        daemon.stderr.readline()  # "listening on ..."
        try:
            times, cpu = bench_single(world, url, args.runs, socket_path, first=500)
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
        print(
            f"mailgate --socket (resident gateway: mailgate --serve), one message, {args.runs} "
            f"runs: median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f},"
            f" max {max(times) * 1000:.0f}); goal <= 300 ms;"
            f" client CPU median {statistics.median(cpu) * 1000:.0f} ms"
        )
        elapsed, maildir_cpu, summary = bench_maildir(world, url, workdir, args.messages)
        print(
            f"mailgate --maildir, {args.messages} messages: {elapsed:.2f} s wall including process "
            f"start = {args.messages / elapsed:.0f} messages/s; goal >= 200; "
            f"CPU {maildir_cpu:.2f} s = {args.messages / maildir_cpu:.0f} messages per CPU-second"
            f" ({summary})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.pg and scratch:
            _drop_database(args.pg, scratch)


def _admin(server: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    from models.store.db import normalize_url

    return create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")


def _scratch_database(server: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.store.db import normalize_url

    name = f"shiftdesk_bench_{os.getpid()}"
    engine = _admin(server)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(normalize_url(server)).set(database=name).render_as_string(hide_password=False)


def _drop_database(server: str, url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = _admin(server)
    with engine.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
