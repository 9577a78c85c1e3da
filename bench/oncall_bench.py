"""On-call figure: time from an emergency committed by another process to the terminal bell of a
real console in a pty (the installed `shiftdesk`, 120x40), over `--arrivals` arrivals at random
intervals; SQLite, and PostgreSQL with `--pg URL`. Goal: p99 <= 1 s.

    .venv/bin/python bench/oncall_bench.py [--arrivals 50] [--pg URL]

The arriving process stamps each commit with time.time() right after COMMIT; a reader thread
stamps every chunk the console writes. The latency is the first bare BEL (not the end of an OSC
sequence) read after the commit. The console is focused (no desktop notification is sent).
"""

from __future__ import annotations

import argparse
import fcntl
import math
import os
import pty
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import clean_env, command  # noqa: E402
from bench.mailgate_bench import _drop_database, _scratch_database  # noqa: E402

# OSC ... (BEL | ST): a BEL that ends one is not the bell
_OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class PtyConsole:
    """`shiftdesk` in a pseudo-terminal; `bells_after(t)` = stamps of bare BELs read after t."""

    def __init__(self, url: str, workdir: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the console, as a technician would start it
            env = clean_env()
            env.pop("NO_COLOR", None)
            env.pop("TMUX", None)
            env.update(TERM="xterm-256color", SHIFTDESK_DB=url, HOME=str(workdir))
            env["SHIFTDESK_TECHNICIAN"] = "oncall@shiftdesk.example"
            args = command()
            os.execvpe(args[0], args, env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.pid, self.fd = pid, fd
        self.buffer = b""
        self.bells: list[float] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            stamp = time.time()
            pending += chunk
            # keep an unfinished escape sequence for the next chunk
            cut = pending.rfind(b"\x1b")
            tail = b""
            if cut != -1 and not _OSC.search(pending, cut) and len(pending) - cut < 512:
                pending, tail = pending[:cut], pending[cut:]
            bare = _OSC.sub(b"", pending).count(b"\x07")
            with self._lock:
                self.bells.extend([stamp] * bare)
                self.buffer += pending[-4096:]
            pending = tail

    def bells_after(self, at: float) -> list[float]:
        with self._lock:
            return [b for b in self.bells if b >= at]

    def close(self) -> None:
        os.write(self.fd, b"q")
        for _ in range(50):
            done, _status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


ARRIVER = """
import sys, time
from models.desk import actions
from models.store.db import Store
store = Store(sys.argv[1])
for line in sys.stdin:
    number = actions.create_ticket(store, subject="EMERGENCY: bench " + line.strip(),
        requester_email="ops@bench.example", received_at=time.time(), kind="emergency",
        entitlement="purchase")
    print(number, repr(time.time()), flush=True)
"""


def measure(url: str, arrivals: int, workdir: Path) -> list[float]:
    from models.store.db import Store

    Store(url).dispose()  # migrated before the console starts
    console = PtyConsole(url, workdir)
    arriver = subprocess.Popen(
        [sys.executable, "-c", ARRIVER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**clean_env(), "PYTHONPATH": str(ROOT)},
    )
    assert arriver.stdin is not None and arriver.stdout is not None
    latencies: list[float] = []
    try:
        time.sleep(4.0)  # the console is up and its change feed has a baseline
        rng = random.Random(5)
        for i in range(arrivals):
            arriver.stdin.write(f"{i}\n")
            arriver.stdin.flush()
            _number, committed = arriver.stdout.readline().split()
            committed_at = float(committed)
            deadline = time.time() + 10
            while not console.bells_after(committed_at) and time.time() < deadline:
                time.sleep(0.005)
            bells = console.bells_after(committed_at)
            if not bells:
                raise SystemExit(f"arrival {i}: no bell within 10 s")
            latencies.append(bells[0] - committed_at)
            time.sleep(rng.uniform(0.3, 1.2))  # not in step with the feed's poll
    finally:
        arriver.stdin.close()
        arriver.wait(timeout=10)
        console.close()
    return latencies


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p99 = ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)]  # nearest rank
    print(
        f"{label}: commit (another process) -> bell in a pty console, {len(ordered)} arrivals: "
        f"median {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms; goal p99 <= 1000 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrivals", type=int, default=50)
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL (a scratch database)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-"))
    try:
        report("SQLite", measure(f"sqlite:///{workdir / 'bench.db'}", args.arrivals, workdir))
        if args.pg:
            scratch = _scratch_database(args.pg)
            try:
                report("PostgreSQL", measure(scratch, args.arrivals, workdir))
            finally:
                _drop_database(args.pg, scratch)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
