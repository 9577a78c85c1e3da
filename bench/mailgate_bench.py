"""Mail gateway figures: `shiftdesk mailgate` on one message (wall time including process start,
median of 10; goal <= 300 ms) and `shiftdesk mailgate --maildir` with 1,000 messages into SQLite
(goal >= 200 messages/s).

    .venv/bin/python bench/mailgate_bench.py [--runs 10] [--messages 1000]
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
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def command() -> list[str]:
    script = Path(sys.executable).with_name("shiftdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def message(index: int, reply_to: int | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {index % 50} <customer{index % 50}@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"Re: [#{reply_to}] more" if reply_to else f"Problem number {index}"
    msg["Message-ID"] = f"<bench.{index}.{time.time_ns()}@example.org>"
    msg["Date"] = "Thu, 15 Jan 2026 12:00:00 -0700"
    msg.set_content(f"Something broke ({index}).\n" + "Details line.\n" * 20)
    return msg.as_bytes()


def seed(url: str) -> None:
    from models.db import Store
    from models.tables import Customer, CustomerAddress

    store = Store(url)
    with store.transaction() as session:
        for n in range(50):
            customer = Customer(
                name=f"Customer {n}", email=f"customer{n}@example.org", created_at=0.0
            )
            session.add(customer)
            session.flush()
            assert customer.id is not None
            session.add(CustomerAddress(customer_id=customer.id, email=customer.email))
    store.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_single(
    url: str, runs: int, socket_path: Path | None = None, first: int = 0
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per run (CPU shows the cost when other work shares the machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
    if socket_path is not None:
        env["SHIFTDESK_MAILGATE_SOCKET"] = str(socket_path)
    times, cpu = [], []
    for index in range(first, first + runs):
        raw = message(index)
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


def bench_maildir(url: str, workdir: Path, count: int) -> tuple[float, float, str]:
    maildir = workdir / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        reply = (index % 5) + 1 if index % 4 == 3 else None  # a quarter are replies
        (maildir / "new" / f"{index:06d}.bench").write_bytes(message(1000 + index, reply))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
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
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mailgate-bench-"))
    try:
        url = f"sqlite:///{workdir / 'bench.db'}"
        seed(url)
        load = os.getloadavg()[0]
        print(f"load average before: {load:.2f} on {os.cpu_count()} CPUs")
        times, cpu = bench_single(url, args.runs)
        print(f"command: {' '.join(command())} mailgate --db sqlite:///...")
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
            times, cpu = bench_single(url, args.runs, socket_path, first=500)
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
        print(
            f"mailgate --socket (resident gateway: mailgate --serve), one message, {args.runs} "
            f"runs: median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f},"
            f" max {max(times) * 1000:.0f}); goal <= 300 ms;"
            f" client CPU median {statistics.median(cpu) * 1000:.0f} ms"
        )
        elapsed, maildir_cpu, summary = bench_maildir(url, workdir, args.messages)
        print(
            f"mailgate --maildir, {args.messages} messages: {elapsed:.2f} s wall including process "
            f"start = {args.messages / elapsed:.0f} messages/s; goal >= 200; "
            f"CPU {maildir_cpu:.2f} s = {args.messages / maildir_cpu:.0f} messages per CPU-second"
            f" ({summary})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
