"""Queue figures in a real pseudo-terminal at 120x40.

For 100 and 100,000 open tickets: time from process start to the first frame showing tickets,
idle CPU while ticking (share of one core), bytes/s written to the terminal, peak RSS.

    .venv/bin/python bench/queue_bench.py [--tickets 100 100000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(rb"#\d+ ")


def seed(path: Path, tickets: int, worst: bool) -> None:
    from sqlalchemy import text

    from models.demo.demo import seed_bulk
    from models.store.db import Store

    store = Store(f"sqlite:///{path}")
    now = time.time()
    seed_bulk(store, tickets, now=now)
    if worst:
        # every ticket an emergency under an hour old: every visible countdown changes each second
        with store.transaction() as session:
            session.execute(
                text(
                    "UPDATE tickets SET kind = 'emergency',"
                    " received_at = :now - 120 - (number % 3000),"
                    " waiting_since = :now - 120 - (number % 3000)"
                ),
                {"now": now},
            )
    store.dispose()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(db: Path, seconds: float) -> dict[str, float]:
    env = dict(
        os.environ,
        TERM="xterm-256color",
        COLUMNS="120",
        LINES="40",
        SHIFTDESK_TECHNICIAN="bench@shiftdesk.example",
    )
    env.pop("NO_COLOR", None)
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "tui", "--db", f"sqlite:///{db}"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    buffer = b""
    first_frame = float("nan")
    deadline = started + 30
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            buffer += chunk
            if ROW.search(buffer):
                first_frame = time.perf_counter() - started
                break
    # let the full load and first ticks settle, then measure steady ticking
    settle_until = time.perf_counter() + 6
    while time.perf_counter() < settle_until:
        if select.select([fd], [], [], 0.05)[0]:
            os.read(fd, 65536)
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    written = 0
    while time.perf_counter() - t0 < seconds:
        if select.select([fd], [], [], 0.05)[0]:
            written += len(os.read(fd, 65536))
    elapsed = time.perf_counter() - t0
    cpu = (cpu_seconds(pid) - cpu0) / elapsed
    rss = peak_rss_mb(pid)
    os.write(fd, b"q")
    end = time.perf_counter() + 5
    while time.perf_counter() < end:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if select.select([fd], [], [], 0.05)[0]:
            with contextlib.suppress(OSError):
                os.read(fd, 65536)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    os.close(fd)
    return {
        "first_frame_s": first_frame,
        "cpu_share": cpu,
        "bytes_per_s": written / elapsed,
        "peak_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--worst",
        action="store_true",
        help="every ticket an emergency < 1 h old (every countdown ticks each second)",
    )
    args = parser.parse_args()
    results = {}
    print(
        "scenario:",
        "worst case (all countdowns tick each second)"
        if args.worst
        else "seeded tickets received over the last 30 days",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.tickets:
            db = Path(tmp) / f"q{count}.db"
            seed(db, count, args.worst)
            results[count] = measure(db, args.seconds)
            r = results[count]
            print(
                f"{count:>7} tickets: first frame {r['first_frame_s']:.2f} s · idle CPU "
                f"{r['cpu_share'] * 100:.1f}% of a core · {r['bytes_per_s']:.0f} B/s to the "
                f"terminal · peak RSS {r['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    if len(results) >= 2:
        small, large = min(results), max(results)
        ratio = results[large]["cpu_share"] / max(results[small]["cpu_share"], 1e-9)
        print(f"idle CPU ratio {large}/{small}: {ratio:.2f}x (goal ≤ 1.5x)")
    print("goals: first frame ≤ 1.5 s, ≤ 1,500 B/s, peak RSS ≤ 250 MB")


if __name__ == "__main__":
    main()
