"""Issue 13, command line: explicit options beat the environment, one-line errors instead of
tracebacks, no store made by a typo, bounded reads, one JSON shape, no escape sequences from
customer text, private store files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from models.desk import actions
from models.store.db import Store
from models.store.tables import Customer
from tui.cli.core import main

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0
UTC_CONFIG = '[calendar]\ntimezone = "UTC"\n'

# OSC 0 (window title), OSC 52 (clipboard write), CSI (colour), BEL, 8-bit CSI/OSC/ST (C1),
# a bidi override, a backspace
HOSTILE = (
    "Evil\x1b]0;pwned\x07 \x1b]52;c;ZWNobyBoaQ==\x07 \x1b[31mred\x1b[0m "
    "\x9b31m \x9d0;x\x9c \x07bell \u202eesrever\x08"
)


def _bad_chars(text: str) -> list[str]:
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if (ord(c) < 0x20 and c not in "\n\t")
            or 0x7F <= ord(c) <= 0x9F
            or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        }
    )


def _invoke(args: list[str], env: dict[str, str] | None = None, **kw: object) -> Result:
    base = {"SHIFTDESK_DB": None, "SHIFTDESK_CONFIG": None, "SHIFTDESK_TECHNICIAN": None}
    return CliRunner().invoke(main, args, env={**base, **(env or {})}, **kw)  # type: ignore[arg-type]


def _one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def _ticket(url: str, **fields: object) -> int:
    store = Store(url)
    number = actions.create_ticket(
        store,
        subject=str(fields.pop("subject", "Printer on fire")),
        requester_email="jo@customer.example",
        received_at=T0,
        entitlement="license",
        **fields,
    )
    store.dispose()
    return number


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(UTC_CONFIG, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- options vs env


def test_explicit_db_before_the_subcommand_beats_shiftdesk_db(tmp_path: Path) -> None:
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _ticket(mine, subject="in mine")
    _ticket(other, subject="in other")
    result = _invoke(["--db", mine, "list", "--json", "--all"], {"SHIFTDESK_DB": other})
    assert result.exit_code == 0, result.output
    assert [row["subject"] for row in json.loads(result.stdout)] == ["in mine"]


def test_explicit_as_before_the_subcommand_beats_shiftdesk_technician(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    result = _invoke(
        ["--as", "me@x.example", "take", str(number), "--db", sqlite_url],
        {"SHIFTDESK_TECHNICIAN": "env@x.example"},
    )
    assert result.exit_code == 0, result.output
    assert "taken by me@x.example" in result.stdout


def test_explicit_config_before_the_subcommand_beats_shiftdesk_config(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[calendar]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(UTC_CONFIG, encoding="utf-8")
    result = _invoke(
        ["--config", str(mine), "sla", "--received", "2024-03-01T10:00", "--kind", "emergency"],
        {"SHIFTDESK_CONFIG": str(other)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["received"] == "2024-03-01T10:00:00+09:00"


def test_the_environment_still_fills_in(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    result = _invoke(
        ["take", str(number)], {"SHIFTDESK_DB": sqlite_url, "SHIFTDESK_TECHNICIAN": "e@x.example"}
    )
    assert result.exit_code == 0, result.output
    assert "taken by e@x.example" in result.stdout


# --------------------------------------------------------------------------- one-line errors


@pytest.mark.parametrize(
    "args",
    [
        ["show", str(2**63)],
        ["take", str(2**64), "--as", "a@b.example"],
        ["note", "1", "--body", "x", "--expect-version", str(2**63), "--as", "a@b.example"],
        ["rsaa", "revoke", str(2**63), "--reason", "work_finished", "--as", "a@b.example"],
        ["show", "0"],
    ],
)
def test_numbers_out_of_range_are_usage_errors(sqlite_url: str, args: list[str]) -> None:
    _ticket(sqlite_url)
    line = _one_line_error(_invoke([*args, "--db", sqlite_url]), 2)
    assert "range" in line


def test_a_file_that_is_not_a_database(tmp_path: Path, config: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"this is not a database\n" * 200)
    for args in (["list"], ["show", "1"], ["rsaa", "list"]):
        line = _one_line_error(_invoke([*args, "--db", str(junk), "--config", str(config)]), 2)
        assert "not a" in line and "database" in line, line
    assert junk.read_bytes() == b"this is not a database\n" * 200


def test_calendar_hours_without_days_is_a_config_error_for_list(
    sqlite_url: str, tmp_path: Path
) -> None:
    _ticket(sqlite_url)
    empty = tmp_path / "empty-hours.toml"
    empty.write_text("[calendar.hours]\n", encoding="utf-8")
    line = _one_line_error(_invoke(["list", "--db", sqlite_url, "--config", str(empty)]), 2)
    assert "calendar.hours" in line


def test_calendar_hours_without_days_stops_the_console_before_it_starts(
    sqlite_url: str, tmp_path: Path
) -> None:
    _ticket(sqlite_url)
    empty = tmp_path / "empty-hours.toml"
    empty.write_text("[calendar.hours]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--db", sqlite_url, "--config", str(empty), "--as", "a@b.c"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "shiftdesk: config error: calendar.hours: no business time in the next 366 days"
    ]


# --------------------------------------------------------------------------- store creation


def test_a_typo_in_the_db_path_creates_nothing(tmp_path: Path, config: Path) -> None:
    typo = tmp_path / "typo" / "dir" / "x.db"
    for args in (["list"], ["show", "1"], ["rsaa", "list"], ["db", "current"]):
        line = _one_line_error(
            _invoke([*args, "--db", f"sqlite:///{typo}", "--config", str(config)]), 2
        )
        assert "does not exist" in line, line
    assert not (tmp_path / "typo").exists()


def test_a_missing_file_in_an_existing_dir_is_not_created_either(
    tmp_path: Path, config: Path
) -> None:
    missing = tmp_path / "shiftdesk.db"
    line = _one_line_error(_invoke(["list", "--db", str(missing), "--config", str(config)]), 2)
    assert str(missing) in line and "db upgrade" in line
    assert not missing.exists()


def test_db_upgrade_and_seed_create_a_store_but_not_its_directory(tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    result = _invoke(["db", "upgrade", "--db", str(made)])
    assert result.exit_code == 0, result.output
    assert made.is_file()
    seeded = tmp_path / "seeded.db"
    assert _invoke(["seed", "--tickets", "3", "--db", str(seeded)]).exit_code == 0
    assert seeded.is_file()
    typo = tmp_path / "nope" / "x.db"
    line = _one_line_error(_invoke(["db", "upgrade", "--db", str(typo)]), 2)
    assert "does not exist" in line
    assert not typo.parent.exists()


# --------------------------------------------------------------------------- bounded reads


def _limit_memory() -> None:
    # a regression (an unbounded read of /dev/zero) fails with MemoryError within the limit
    # instead of eating the shared machine's memory until the timeout
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        cwd=ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_reply_body_file_dev_zero_is_refused_not_read_forever(
    sqlite_url: str, config: Path
) -> None:
    number = _ticket(sqlite_url)
    result = _cli(
        "reply",
        str(number),
        "--body-file",
        "/dev/zero",
        "--db",
        sqlite_url,
        "--config",
        str(config),
        "--as",
        "a@b.example",
        timeout=30,
    )
    assert result.returncode == 65, result.stderr
    assert b"larger than" in result.stderr
    assert b"Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/urandom").exists(), reason="needs /dev/urandom")
@pytest.mark.parametrize("kind", ["customers", "licenses"])
def test_import_dev_urandom_is_refused_not_read_forever(
    sqlite_url: str, config: Path, kind: str
) -> None:
    Store(sqlite_url).dispose()
    result = _cli("import", kind, "/dev/urandom", "--db", sqlite_url, timeout=60)
    assert result.returncode == 65, result.stderr
    assert b"larger than" in result.stderr
    assert b"Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_config_dev_zero_is_refused(sqlite_url: str) -> None:
    result = _cli("sla", "--received", "2024-01-01T10:00", "--config", "/dev/zero", timeout=30)
    assert result.returncode == 2, result.stderr
    assert b"larger than" in result.stderr


def test_reply_body_file_binary_is_one_line(sqlite_url: str, config: Path, tmp_path: Path) -> None:
    number = _ticket(sqlite_url)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    result = _invoke(
        ["reply", str(number), "--body-file", str(blob), "--db", sqlite_url, "--as", "a@b.c"],
        {"SHIFTDESK_CONFIG": str(config)},
    )
    assert "UTF-8" in _one_line_error(result, 65)


# --------------------------------------------------------------------------- one JSON shape


def test_list_and_rsaa_list_print_the_same_json_shape(sqlite_url: str, config: Path) -> None:
    env = {"SHIFTDESK_DB": sqlite_url, "SHIFTDESK_CONFIG": str(config)}
    Store(sqlite_url).dispose()
    for args in (["list", "--json"], ["rsaa", "list", "--json"]):
        result = _invoke(args, env)
        assert (result.exit_code, json.loads(result.stdout)) == (0, []), args
    number = _ticket(sqlite_url)
    record = ["rsaa", "record", str(number), "--name", "Jo", "--email", "jo@c.example"]
    record += ["--server", "10.0.0.5", "--method", "rdp", "--source-ip", "192.0.2.1"]
    record += ["--as", "a@b.example", "--accepted-at", "2023-11-14T22:15:00"]
    assert _invoke(record, env).exit_code == 0
    queue = json.loads(_invoke(["list", "--json", "--all"], env).stdout)
    rsaas = json.loads(_invoke(["rsaa", "list", "--json"], env).stdout)
    for rows in (queue, rsaas):
        assert isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict)
    assert queue[0]["received"] == "2023-11-14T22:13:20+00:00"
    assert rsaas[0]["granted"]["at"] == "2023-11-14T22:15:00+00:00"


# --------------------------------------------------------------------------- terminal safety


def test_no_escape_sequence_from_customer_text_reaches_the_terminal(
    sqlite_url: str, config: Path, tmp_path: Path
) -> None:
    env = {
        "SHIFTDESK_DB": sqlite_url,
        "SHIFTDESK_CONFIG": str(config),
        "SHIFTDESK_TECHNICIAN": "a@b.example",
    }
    Store(sqlite_url).dispose()
    customers = tmp_path / "customers.jsonl"
    customers.write_text(
        json.dumps({"email": "jo@customer.example", "name": HOSTILE, "organization": HOSTILE})
        + "\n",
        encoding="utf-8",
    )
    outputs = [_invoke(["import", "customers", str(customers)], env)]
    store = Store(sqlite_url)
    with store.session() as session:
        customer_id = session.execute(select(Customer.id)).scalar_one()
    store.dispose()
    number = _ticket(
        sqlite_url, subject=HOSTILE, body=HOSTILE, customer_id=customer_id, kind="standard"
    )
    record = ["rsaa", "record", str(number), "--name", HOSTILE, "--email", "jo@c.example"]
    record += ["--server", "10.0.0.5", "--method", "tool", "--tool", HOSTILE]
    record += ["--notes", HOSTILE, "--source-ip", "192.0.2.1"]
    bad_rows = tmp_path / "bad.jsonl"
    bad_rows.write_text(json.dumps({"email": HOSTILE, "name": HOSTILE}) + "\n", encoding="utf-8")
    for args in (
        record,
        ["rsaa", "list"],
        ["rsaa", "list", "--json"],
        ["list"],
        ["list", "--all", "--json"],
        ["show", str(number)],
        ["show", str(number), "--json"],
        ["--as", f"{HOSTILE}@x.example", "take", str(number)],  # before the close below
        ["note", str(number), "--body", HOSTILE],
        ["reply", str(number), "--body", HOSTILE],
        ["outbox"],
        ["import", "customers", str(bad_rows)],
        ["rsaa", "revoke", "1", "--reason", "work_finished", "--note", HOSTILE],
        ["close", str(number), "--reason", HOSTILE],
        ["show", str(number)],
        ["take", str(2**70)],
        ["--as", HOSTILE, "take", str(number)],
    ):
        outputs.append(_invoke(args, env))
    mail = f"From: {HOSTILE} <x@y.example>\nSubject: {HOSTILE}\n\n{HOSTILE}\n".encode()
    outputs.append(_invoke(["mailgate"], env, input=mail))
    outputs.append(_invoke(["mailgate"], env, input=HOSTILE.encode()))
    seen = "".join(result.stdout + result.stderr for result in outputs)
    assert "Evil" in seen  # the text is shown...
    assert _bad_chars(seen) == []  # ...but no control character reaches the terminal
    for result in outputs:
        assert "Traceback" not in result.output


# --------------------------------------------------------------------------- permissions


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    }
    for key in ("SHIFTDESK_DB", "SHIFTDESK_CONFIG"):
        env.pop(key, None)
    script = (
        "import os, sys; os.umask(0o002); sys.argv = ['shiftdesk', 'seed', '--tickets', '2'];"
        "from tui.cli.core import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "data" / "shiftdesk"
    assert _mode(folder) == 0o700
    db = folder / "shiftdesk.db"
    # a reader keeps the WAL and shared-memory files in place while we look at them
    import sqlite3

    reader = sqlite3.connect(db)
    reader.execute("SELECT count(*) FROM tickets").fetchone()
    try:
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        reader.close()


def test_db_upgrade_at_an_explicit_path_makes_a_private_file(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        result = _invoke(["db", "upgrade", "--db", str(tmp_path / "x.db")])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert _mode(tmp_path / "x.db") == 0o600


# --------------------------------------------------------------------------- fuzz findings


def test_calendar_preview_past_year_9999_is_a_usage_error(config: Path) -> None:
    result = _invoke(["calendar", "preview", "--from", "9999-12-31T23:59", "--config", str(config)])
    assert "--from" in _one_line_error(result, 2)


def test_purchase_at_year_9999_is_refused_so_the_queue_still_lists(
    sqlite_url: str, config: Path
) -> None:
    Store(sqlite_url).dispose()
    env = {"SHIFTDESK_DB": sqlite_url, "SHIFTDESK_CONFIG": str(config)}
    add = ["purchase", "add", "--kind", "emergency", "--customer", "a@b.example"]
    result = _invoke([*add, "--subject", "s", "--at", "9999-12-31T23:59"], env)
    assert "year" in _one_line_error(result, 65)
    assert _invoke(["list", "--json"], env).exit_code == 0


def test_db_upgrade_of_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all\n" * 100)
    for args in (["db", "upgrade"], ["db", "current"]):
        assert "not a" in _one_line_error(_invoke([*args, "--db", str(junk)]), 2)


def test_import_into_a_missing_store_is_a_usage_error_not_try_again(tmp_path: Path) -> None:
    rows = tmp_path / "customers.csv"
    rows.write_text("email,name\njo@c.example,Jo\n", encoding="utf-8")
    missing = tmp_path / "missing.db"
    line = _one_line_error(_invoke(["import", "customers", str(rows), "--db", str(missing)]), 2)
    assert "does not exist" in line


def test_a_store_from_a_newer_shiftdesk_is_one_line(sqlite_url: str, config: Path) -> None:
    """Found by the fuzzer: a store migrated by a newer version (unknown revision)."""
    from sqlalchemy import text

    store = Store(sqlite_url)
    with store.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    env = {"SHIFTDESK_DB": sqlite_url, "SHIFTDESK_CONFIG": str(config)}
    for args in (["list"], ["take", "1", "--as", "a@b.example"], ["rsaa", "list"]):
        assert "9999" in _one_line_error(_invoke(args, env), 1)
