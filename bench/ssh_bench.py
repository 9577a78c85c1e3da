"""`shiftdesk serve --ssh --demo` under 10 simultaneous viewers.

Starts the real server (the installed command; its fork server forks each console with the
imports done), opens N SSH sessions at once with asyncssh (a PTY
each, 120x40), and reports per session the time from asking for the session to the first frame
that shows the loaded queue; then, with every viewer idle, the CPU of the whole server (the
server process and every console) over an idle window, and the memory per console (RSS).
Goals: first frame <= 2 s each, idle CPU <= 5 % of one core in total.

    .venv/bin/python bench/ssh_bench.py [--sessions 10] [--idle 20] [--shared]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncssh

from bench._cli import clean_env, command
from tests.serve_support import QUEUE_LOADED, screen_text

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
                kids = [int(k) for k in text.split()]
                found += kids
                todo += kids
        except OSError:
            continue
    return found


def consoles_of(server: int) -> list[int]:
    """The server's console processes (not the fork server they are forked from)."""
    found = []
    for pid in descendants(server):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # a forked console keeps the fork server's command line, but not its parent
        if b"tui.serve.zygote" not in cmdline or _parent(pid) != server:
            found.append(pid)
    return found


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def private_mb(pid: int) -> float:
    """Memory only this process holds (USS): a forked console shares the rest with the fork
    server and its siblings, which RSS counts again for each."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    kb = sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Private_"))
    return kb / 1e3


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6
    except OSError:
        return 0.0


async def session(port: int, started: float, sessions: list[asyncssh.SSHClientProcess]) -> float:
    conn = await asyncssh.connect(
        "127.0.0.1", port, username="bench", known_hosts=None, client_keys=[], agent_path=None
    )
    process = await conn.create_process(
        term_type="xterm-256color", term_size=(120, 40), encoding=None
    )
    sessions.append(process)
    seen = b""
    regex = re.compile(QUEUE_LOADED)
    while not regex.search(screen_text(seen)):
        chunk = await process.stdout.read(65536)
        if not chunk:
            raise RuntimeError("the session ended before its first frame")
        seen += chunk
    first_frame = time.perf_counter() - started
    asyncio.get_running_loop().create_task(_drain(process))
    return first_frame


async def _drain(process: asyncssh.SSHClientProcess) -> None:
    while await process.stdout.read(65536):
        pass


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--shared", action="store_true", help="one shared demo world")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ssh-bench-"))
    config = work / "shiftdesk.toml"
    config.write_text("", encoding="utf-8")
    argv = [*command(), "--config", str(config), "serve", "--ssh", "127.0.0.1:0", "--demo"]
    argv += ["--host-key", str(work / "host_key"), "--max-sessions", str(args.sessions)]
    if args.shared:
        argv.append("--shared-demo")
    server = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, env={**clean_env(), "TMPDIR": str(work)}
    )
    assert server.stdout is not None
    line = (await server.stdout.readline()).decode()
    port = int(re.search(r":(\d+) ", line).group(1))  # type: ignore[union-attr]
    print(line.strip())
    processes: list[asyncssh.SSHClientProcess] = []
    server_before = cpu_seconds(server.pid)
    started = time.perf_counter()
    firsts = await asyncio.gather(
        *(session(port, started, processes) for _ in range(args.sessions))
    )
    print(
        f"{args.sessions} sessions opened at once on {os.cpu_count()} cores; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    consoles = consoles_of(server.pid)
    startup = [cpu_seconds(p) for p in consoles]
    print(
        "first frame (s): "
        + " ".join(f"{t:.2f}" for t in sorted(firsts))
        + f"  | median {statistics.median(firsts):.2f}, max {max(firsts):.2f}  (goal <= 2 s)"
    )
    print(
        f"CPU up to the last first frame: server {cpu_seconds(server.pid) - server_before:.2f} s; "
        f"each console {statistics.mean(startup):.3f} s (max {max(startup):.3f} s)"
    )
    await asyncio.sleep(3)  # the last loads settle
    consoles = consoles_of(server.pid)
    pids = [server.pid, *descendants(server.pid)]
    before = {p: cpu_seconds(p) for p in pids}
    t0 = time.perf_counter()
    await asyncio.sleep(args.idle)
    elapsed = time.perf_counter() - t0
    used = {p: cpu_seconds(p) - before[p] for p in pids}
    total = sum(used.values()) / elapsed * 100
    server_share = used[server.pid] / elapsed * 100
    per_console = [used[p] / elapsed * 100 for p in consoles]
    print(
        f"idle CPU over {elapsed:.0f} s: {total:.1f} % of one core in total (goal <= 5 %); "
        f"server {server_share:.2f} %, each console {statistics.mean(per_console):.2f} % "
        f"(max {max(per_console):.2f} %)"
    )
    rss = [rss_mb(p) for p in consoles]
    own = [private_mb(p) for p in consoles]
    print(
        f"RSS per console: mean {statistics.mean(rss):.0f} MB (max {max(rss):.0f} MB), of which "
        f"its own (USS) {statistics.mean(own):.0f} MB; server {rss_mb(server.pid):.0f} MB"
    )
    for process in processes:
        process.close()
    server.terminate()
    await server.wait()
    left = [p for p in consoles if _running(p)]
    for _ in range(100):  # consoles end on SIGTERM within a moment (zombies don't count)
        if not left:
            break
        await asyncio.sleep(0.05)
        left = [p for p in left if _running(p)]
    print(
        f"after shutdown: {len(left)} consoles left, work dir entries: {sorted(os.listdir(work))}"
    )


if __name__ == "__main__":
    asyncio.run(main())
