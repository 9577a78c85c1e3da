"""kill -9 probe: a process runs CLI actions (take, note, reply, close, reopen, rsaa record) in a
loop and is killed at random moments; counts the actions it confirmed and any that were lost,
duplicated or half-written (tests/crash_support.py says what is checked). Goal: 0 lost, 0
duplicated, 0 half-written.

    .venv/bin/python bench/crash_bench.py [--rounds 40] [--db URL] [--seed 1] [--max-actions 40]

Without --db it uses a fresh SQLite file; with a PostgreSQL URL (e.g.
postgresql://postgres@127.0.0.1:5432/postgres) it creates and drops a scratch database there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.store.db import Store, normalize_url
from tests.crash_support import probe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--db", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-actions", type=int, default=40, help="kill after 1..N finished actions"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text('[calendar]\ntimezone = "UTC"\n', encoding="utf-8")
        admin = None
        if args.db:
            admin = create_engine(normalize_url(args.db), isolation_level="AUTOCOMMIT")
            name = f"shiftdesk_crash_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(normalize_url(args.db)).set(database=name)
            store_url = url.render_as_string(hide_password=False)
        else:
            store_url = f"sqlite:///{Path(tmp) / 'crash.db'}"
        Store(store_url).dispose()
        started = time.perf_counter()
        try:
            tally = probe(store_url, config, args.rounds, args.seed, args.max_actions)
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    backend = "postgresql" if args.db else "sqlite"
    print(f"{backend}: {tally.line()} ({time.perf_counter() - started:.0f} s)")
    print("  by action:exit code: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.by_op.items())))
    for problem in tally.half_written[:10]:
        print(f"  half-written: {problem}")
    return 0 if tally.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
