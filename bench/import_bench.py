"""Import from the licensing system: `shiftdesk import customers` then `import licenses` with N
rows each (every customer has a second address; every license a renewal), into a new SQLite
store, then the same customers file again (all unchanged). Wall time of each command, including
process start. The issue sets no figure; before addresses were looked up through their indexes
(equality on the stored lower-case form) a 20,000-row customer import took 3 min 46 s.

    .venv/bin/python bench/import_bench.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._cli import clean_env, command


def write_files(workdir: Path, rows: int) -> tuple[Path, Path]:
    customers, licenses = workdir / "customers.csv", workdir / "licenses.csv"
    with customers.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "name", "organization", "timezone", "other_emails"])
        for i in range(rows):
            domain = f"corp{i % 300}.example"
            out.writerow(
                [
                    f"user{i}@{domain}",
                    f"User {i}",
                    f"Corp {i % 300}",
                    "Europe/Berlin",
                    f"alt{i}@{domain}",
                ]
            )
    with licenses.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["key", "customer_email", "product", "product_latest_version", "version_in_use",
             "purchased_on", "renewals"]
        )  # fmt: skip
        for i in range(rows):
            out.writerow(
                [f"ACME-{i:06d}-KEYS", f"user{i}@corp{i % 300}.example", "Helpdesk", "9.4.2",
                 "9.4.1", "2025-05-01", "renewal:2026-05-01:2027-04-30"]
            )  # fmt: skip
    return customers, licenses


def timed(args: list[str]) -> tuple[float, str]:
    env = clean_env()
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[1:3])} failed: {result.stderr.decode().strip()}")
    return elapsed, result.stdout.decode().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        customers, licenses = write_files(workdir, args.rows)
        db = ["--db", f"sqlite:///{workdir / 'bench.db'}"]
        for label, file, kind in (
            ("customers (new)", customers, "customers"),
            ("licenses (new)", licenses, "licenses"),
            ("customers (again, unchanged)", customers, "customers"),
        ):
            elapsed, summary = timed([*command(), "import", kind, str(file), *db])
            print(
                f"import {label}, {args.rows} rows: {elapsed:.1f} s = "
                f"{args.rows / elapsed:.0f} rows/s ({summary})"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
