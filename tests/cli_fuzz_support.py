"""A seed-driven fuzzer for the command line: random commands, options, numbers (huge, negative,
not numbers), store URLs, config files (malformed TOML, wrong types, no hours), input files
(/dev/zero, /dev/urandom, binary, too big) and environment variables.

Each invocation runs the real `main` in-process through click's CliRunner (fast: ~100 in a few
seconds). A finding is: an exception that escaped as a traceback, the last-resort exit 70
("internal error"), an exit code other than 0/1/2/65/75, a failure reason that is not one line,
or an invocation that ran longer than `timeout` seconds. Used by tests/test_cli_fuzz.py (CI size)
and bench/cli_fuzz_bench.py (500 and the counts).
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from models.desk import actions
from models.store.db import Store
from tui.cli.core import main

ALLOWED_EXITS = {0, 1, 2, 65, 75}
# commands whose failure is documented as a report of several lines (one per bad row), and
# `sla --batch` (one JSON line out per line in, {"error": ...} for a bad one, then exit 65)
MULTI_LINE_REPORTS = ("import", "purchase")
HOSTILE = "Evil\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07\x9b31m\u202e"

NUMBERS = [
    "1",
    "2",
    "0",
    "-1",
    "-9223372036854775808",
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 40,
    "abc",
    "1e3",
    "1.5",
    "",
    " 1",
    "0x10",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() takes it
    HOSTILE,
]
TEXTS = ["hello", "", " ", "x" * 5000, HOSTILE, "ünïcødé ✓", "\x00nul", "line\nbreak", "-", "--"]
INSTANTS = [
    "2024-03-01T10:00",
    "2024-03-01T10:00:00Z",
    "2024-03-10T02:30",  # a DST gap in New York
    "not a date",
    "",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2024-13-45T99:99",
    "1e309",
    "2024-03-01T10:00+25:00",
]
CONFIGS = {
    "good": '[calendar]\ntimezone = "America/New_York"\n',
    "empty": "",
    "malformed": "[calendar\ntimezone = ",
    "wrong_type": "[calendar]\ntimezone = 5\n",
    "no_hours": "[calendar.hours]\n",
    "unknown_key": "[calendr]\nx = 1\n",
    "bad_zone": '[calendar]\ntimezone = "Mars/Olympus"\n',
    "bad_interval": '[calendar.hours]\nmon = ["25:00-17:00"]\n',
    "hours_not_list": '[calendar.hours]\nmon = "08:00-17:00"\n',
    "sla_type": '[sla]\nstandard = ["4h"]\n',
    "huge_number": "[smtp]\nport = 99999999999999999999999\n",
    "technician": f'technician = "{HOSTILE.encode("unicode_escape").decode()}"\n',
    "smtp_bad": '[smtp]\nhost = ""\nport = 0\n',
    "holidays_bad": '[calendar]\nholidays = ["2024-02-30", 5]\n',
}
IMPORT_KINDS = ["customers", "licenses", "hosted", "partners", "nosuchkind"]


@dataclass
class Outcome:
    args: list[str]
    env: dict[str, str]
    exit_code: int
    problem: str | None  # None: a one-line failure or a success
    seconds: float


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem]

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for outcome in self.outcomes:
            counts[f"exit {outcome.exit_code}"] += 1
            if outcome.problem:
                counts[outcome.problem.split(":", 1)[0]] += 1
        return counts


class Hang(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def on_alarm(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Fuzzer:
    """Builds the fixtures (stores, configs, files) in `folder`, then invocations from `seed`."""

    def __init__(self, folder: Path, seed: int, pg_url: str | None = None) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.store_url = f"sqlite:///{folder / 'store.db'}"
        store = Store(self.store_url)
        for i in range(3):
            actions.create_ticket(
                store,
                subject=f"fuzz {i} {HOSTILE}",
                requester_email=f"c{i}@customer.example",
                received_at=1_700_000_000.0 + i,
                entitlement="license",
            )
        store.dispose()
        junk = folder / "not-a-db.txt"
        junk.write_bytes(b"definitely not SQLite\n" * 100)
        (folder / "a-directory").mkdir()
        self.configs = {}
        for name, text in CONFIGS.items():
            path = folder / f"{name}.toml"
            path.write_text(text, encoding="utf-8")
            self.configs[name] = str(path)
        self.configs["binary"] = self._write("binary.toml", bytes(range(256)))
        self.configs["missing"] = str(folder / "missing.toml")
        self.configs["dev_zero"] = "/dev/zero"
        self.configs["directory"] = str(folder / "a-directory")
        self.urls = [
            self.store_url,
            self.store_url,
            str(folder / "store.db"),
            f"sqlite:///{folder / 'typo' / 'dir' / 'x.db'}",
            str(folder / "missing.db"),
            str(junk),
            str(folder / "a-directory"),
            "sqlite:////dev/zero",
            "/dev/null",
            "sqlite://",
            "mysql://nobody@127.0.0.1:1/x",
            "postgresql://nobody@127.0.0.1:1/x",
            "postgresql://x@[::1:5432/x",
            "postgresql://x@host:notaport/x",
            "::::",
            HOSTILE,
        ]
        if pg_url:
            self.urls.append(pg_url)
        customers = "email,name,organization\njo@c.example,Jo,Acme\n"
        self.files = {
            "dev_zero": "/dev/zero",
            "dev_urandom": "/dev/urandom",
            "dev_null": "/dev/null",
            "missing": str(folder / "missing.csv"),
            "directory": str(folder / "a-directory"),
            "binary": self._write("blob.bin", bytes(random.Random(1).randbytes(4096))),
            "big_text": self._write("big.txt", b"a" * 1_000_001),
            "empty": self._write("empty.csv", b""),
            "customers_csv": self._write("customers.csv", customers.encode()),
            "customers_bad": self._write(
                "customers-bad.csv", f"email,name\n{HOSTILE},x\n,\nx@y.z,\n".encode()
            ),
            "jsonl_types": self._write(
                "rows.jsonl",
                b'{"email": 5, "name": ["x"]}\n[1,2]\n{"key": "K", "purchased_on": "2024-99-01"}\n'
                b'{"customer_email": "jo@c.example", "starts_on": "2024-01-01", '
                b'"ends_on": "1999-01-01"}\n'
                + json.dumps(
                    {"kind": "emergency", "customer": "a@b.c", "subject": "s", "at": "x"}
                ).encode()
                + b"\n"
                + json.dumps({"renewals": "renewal:x:y", "key": 9e999}).encode()
                + b"\n",
            ),
            "latin1": self._write("latin1.csv", "email,name\nj@x.y,Jérôme\n".encode("latin-1")),
            "nul_csv": self._write("nul.csv", b"email,name\nj@x.y,\x00\x00\n"),
        }

    def _write(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        return str(path)

    # ------------------------------------------------------------------ generators

    def pick(self, items: list[str]) -> str:
        return self.rng.choice(items)

    def number(self) -> str:
        return self.pick(NUMBERS) if self.rng.random() < 0.6 else str(self.rng.randint(1, 4))

    def file(self) -> str:
        return self.pick(list(self.files.values()))

    def command(self) -> tuple[list[str], bytes | None]:
        """One subcommand with its arguments, and what stdin holds."""
        r = self.rng
        n = self.number
        text = self.pick(TEXTS)
        body = ["--body", text] if r.random() < 0.5 else ["--body-file", self.file()]
        stdin: bytes | None = None
        choice = r.randrange(21)
        if choice == 0:
            args = ["show", n()] + (["--json"] if r.random() < 0.5 else [])
        elif choice == 1:
            args = ["list"] + [o for o in ("--json", "--all") if r.random() < 0.5]
        elif choice == 2:
            args = ["take", n()]
            if r.random() < 0.5:  # assign: a known, an unknown, a hostile address, or nobody
                who = self.pick(["alex@shiftdesk.example", "ghost@x.example", text, "--nobody"])
                args = ["assign", n(), who] + (["--take-over"] if r.random() < 0.3 else [])
        elif choice == 3:
            args = ["note", n(), *body]
        elif choice == 4:
            args = ["reply", n(), *body]
        elif choice == 5:
            args = ["close", n()] + (["--reason", text] if r.random() < 0.5 else [])
        elif choice == 6:
            args = ["reopen", n()]
        elif choice == 7:
            args = [self.pick(["take", "note", "close"]), n(), "--expect-version", n()]
            if args[0] == "note":
                args += ["--body", "x"]
        elif choice == 8:
            args = ["rsaa", "list"] + [o for o in ("--json", "--active") if r.random() < 0.5]
        elif choice == 9:
            args = ["rsaa", "record", n(), "--name", text, "--email", self.pick(["a@b.c", text])]
            args += ["--server", self.pick(["10.0.0.5", text, "999.1.1.1"])]
            args += ["--method", self.pick(["rdp", "tool", "screen_share", "telnet"])]
            if r.random() < 0.5:
                args += ["--tool", text]
            if r.random() < 0.5:
                args += ["--source-ip", self.pick(["192.0.2.1", text, "::1"])]
            if r.random() < 0.5:
                args += ["--accepted-at", self.pick(INSTANTS)]
        elif choice == 10:
            args = ["rsaa", "revoke", n(), "--reason"]
            args += [self.pick(["work_finished", "customer_asked", "nope"])]
        elif choice == 11:
            args = ["sla", "--received", self.pick(INSTANTS)]
            if r.random() < 0.5:
                args += ["--at", self.pick(INSTANTS)]
            if r.random() < 0.3:
                args += ["--kind", self.pick(["standard", "emergency", "urgent"])]
        elif choice == 12:
            args = ["sla", "--batch"]
            lines = [
                json.dumps({"received": self.pick(INSTANTS), "at": self.pick(INSTANTS)}),
                "not json",
                "[1]",
                '{"kind": 5, "received": 1e999}',
                '{"received": "2024-01-01T00:00", "kind": "emergency", "x": 1}',
            ]
            stdin = "\n".join(r.sample(lines, 3)).encode()
        elif choice == 13:
            args = ["calendar", "preview", "--days", self.pick(["1", "14", "366", "0", "9" * 30])]
            if r.random() < 0.5:
                args += ["--from", self.pick(INSTANTS)]
        elif choice == 14:
            args = ["import", self.pick(IMPORT_KINDS), self.file()]
            if r.random() < 0.3:
                args.append("--dry-run")
        elif choice == 15:
            args = ["purchase", "import", self.file()]
        elif choice == 16:
            args = ["purchase", "add", "--kind", self.pick(["emergency", "training", "free"])]
            args += ["--customer", self.pick(["a@b.c", text]), "--subject", text]
            if r.random() < 0.5:
                args += ["--body-file", self.file()]
            if r.random() < 0.5:
                args += ["--at", self.pick(INSTANTS)]
        elif choice == 17:
            args = ["db", self.pick(["current", "upgrade"])]
            if args[1] == "upgrade" and r.random() < 0.5:
                args += ["--revision", self.pick(["head", "0001", "nope", "base", "+1"])]
        elif choice == 18:
            args = ["seed", "--tickets", self.pick(["1", "2", "0", "-5", "x", "9" * 30])]
            args += ["--seed", n()]
        elif choice == 19:
            args = ["mailgate", "--max-size", self.pick(["100", "0", "-1", "x", "9" * 30])]
            stdin = self.pick(
                [
                    "From: a@b.c\nSubject: hi\n\nbody\n",
                    "garbage",
                    "",
                    f"From: {HOSTILE}\nSubject: {HOSTILE}\n\n{HOSTILE}\n",
                ]
            ).encode()
        else:
            args = [self.pick(["outbox", "nosuchcommand", "--version", "--help", "list --x"])]
        return args, stdin

    def invocation(self) -> tuple[list[str], dict[str, str], bytes | None]:
        """Global options before and/or after the command, and environment variables."""
        r = self.rng
        args, stdin = self.command()
        before: list[str] = []
        env: dict[str, str] = {}
        # mostly the good store and config, so commands get past opening them
        url = self.store_url if r.random() < 0.6 else self.pick(self.urls)
        config = (
            self.configs["good"] if r.random() < 0.6 else self.pick(list(self.configs.values()))
        )
        technician = self.pick(
            ["ana@support.example"] * 4 + ["", "noat", HOSTILE, "a@b@c", " x@y.z "]
        )
        for option, value, var in (
            ("--db", url, "SHIFTDESK_DB"),
            ("--config", config, "SHIFTDESK_CONFIG"),
            ("--as", technician, "SHIFTDESK_TECHNICIAN"),
        ):
            where = r.random()
            if where < 0.3:
                before += [option, value]
            elif where < 0.6:
                args = [*args, option, value]
            elif where < 0.9:
                env[var] = value
            if r.random() < 0.1:  # and something else in the environment too
                env[var] = self.pick(self.urls if var == "SHIFTDESK_DB" else [value, "", "x"])
        return before + args, env, stdin


def run_one(
    args: list[str],
    env: dict[str, str],
    stdin: bytes | None,
    home: Path,
    timeout: float = 20.0,
) -> Outcome:
    """One invocation. The platform data and config directories point into `home`: an
    invocation without --db uses (and creates) the default store, which must never be the
    real user's."""
    base: dict[str, str | None] = {
        "SHIFTDESK_DB": None,
        "SHIFTDESK_CONFIG": None,
        "SHIFTDESK_TECHNICIAN": None,
        "XDG_DATA_HOME": str(home / "xdg-data"),
        "XDG_CONFIG_HOME": str(home / "xdg-config"),
    }
    started = time.perf_counter()
    problem: str | None = None
    try:
        with _deadline(timeout):
            result = CliRunner().invoke(
                main, args, env={**base, **env}, input=stdin, catch_exceptions=True
            )
    except Hang as exc:
        return Outcome(args, env, -1, f"hang: {exc}", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        if isinstance(result.exception, MemoryError):
            return Outcome(args, env, -1, "unbounded read: MemoryError", seconds)
        problem = f"traceback: {type(result.exception).__name__}: {result.exception}"
    elif code == 70:
        problem = f"internal error: {result.stderr.strip()}"
    elif code not in ALLOWED_EXITS:
        problem = f"exit code: {code}"
    elif code != 0 and not (set(args) & set(MULTI_LINE_REPORTS) or "--batch" in args):
        lines = result.stderr.strip().splitlines()
        if len(lines) != 1:
            problem = f"not one line: {lines[:4]!r}"
    if problem is None and "Traceback" in result.output:
        problem = "traceback: printed"
    return Outcome(args, env, code, problem, seconds)


@contextmanager
def memory_cap(extra_bytes: int = 2 << 30) -> Iterator[None]:
    """Cap this process's address space at its current size + `extra_bytes` for the block: an
    unbounded read (`--body-file /dev/zero`) then fails as a MemoryError the fuzzer reports,
    instead of the kernel's OOM killer picking a process on a shared machine. (A C-level read
    never returns to the interpreter, so the SIGALRM deadline alone cannot stop it.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_kb * 1024 + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def fuzz(folder: Path, seed: int, count: int, pg_url: str | None = None) -> Report:
    """`count` invocations from `seed`, run in `folder` (a relative --db such as `::::` given to
    `db upgrade` creates its file in the working directory)."""
    fuzzer = Fuzzer(folder, seed, pg_url)
    report = Report()
    with contextlib.chdir(folder), memory_cap():
        for _ in range(count):
            args, env, stdin = fuzzer.invocation()
            report.outcomes.append(run_one(args, env, stdin, folder))
    return report
