"""Fuzz the command line: N random invocations (commands, options, huge/negative/non-numeric
numbers, store URLs, malformed configs, /dev/zero and binary files, environment variables) and
count the outcomes. Goal: 0 tracebacks, 0 internal errors, 0 multi-line reasons, 0 hangs.

    .venv/bin/python bench/cli_fuzz_bench.py [--count 500] [--seed 1] [--pg URL] [--show 10]

In-process through click's CliRunner (tests/cli_fuzz_support.py says what counts as a finding).
--pg SERVER_URL adds a PostgreSQL store to the URLs tried: a scratch database created on that
server and dropped afterwards (never the database the URL names: commands migrate and write).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.store.db import Store, normalize_url
from tests.cli_fuzz_support import fuzz


@contextmanager
def scratch_pg(server_url: str | None) -> Iterator[str | None]:
    if not server_url:
        yield None
        return
    admin = create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"shiftdesk_fuzz_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalize_url(server_url)).set(database=name)
    store_url = url.render_as_string(hide_password=False)
    try:
        Store(store_url).dispose()
        yield store_url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", help="a PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--show", type=int, default=10, help="findings to print")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, scratch_pg(args.pg) as pg_url:
        report = fuzz(Path(tmp), args.seed, args.count, pg_url)
    elapsed = time.perf_counter() - started
    counts = report.counts()
    exits = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k.startswith("exit"))
    kinds = ("traceback", "internal error", "not one line", "exit code", "hang", "unbounded read")
    print(f"{args.count} invocations in {elapsed:.1f} s (seed {args.seed}): {exits}")
    print("findings: " + ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in kinds))
    for outcome in report.problems[: args.show]:
        print(f"  {outcome.problem[:160]!r} <- {outcome.args}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
