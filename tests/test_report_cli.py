"""`shiftdesk report`: text, --json, --csv, ranges and bad input (one line, exit 2)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.desk import actions, work
from models.desk.actions import Actor
from models.store.db import Store
from tests.test_report import CONFIG, TUESDAY, at
from tui.cli.core import main

ALICE = Actor("alice@example.com", "Alice <b>[red]")
PHOENIX_TOML = """
[calendar]
timezone = "America/Phoenix"
holiday_country = ""
"""


@pytest.fixture
def setup(tmp_path: Path, sqlite_url: str) -> list[str]:
    """A store with one standard ticket answered on 2026-03-10 (90 business minutes) and one
    emergency answered 30 minutes after it arrived, two hours ago; the shared options."""
    config = tmp_path / "phoenix.toml"
    config.write_text(PHOENIX_TOML, encoding="utf-8")
    store = Store(sqlite_url)
    standard = actions.create_ticket(
        store,
        subject="Crash",
        requester_email="jo@customer.example",
        received_at=at(TUESDAY, 9),
        body="It crashes.",
        entitlement="license",
    )
    work.reply(store, standard, ALICE, "On it.", at=at(TUESDAY, 10, 30), config=CONFIG)
    received = time.time() - 3 * 3600
    emergency = actions.create_ticket(
        store,
        subject="Down",
        requester_email="jo@customer.example",
        received_at=received,
        body="Down.",
        kind="emergency",
        entitlement="purchase",
    )
    work.reply(store, emergency, ALICE, "Calling you.", at=received + 1800, config=CONFIG)
    store.dispose()
    return ["--db", sqlite_url, "--config", str(config)]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"SHIFTDESK_CONFIG": None})
    return result.exit_code, result.stdout, result.stderr


def test_json_for_a_range(setup: list[str]) -> None:
    code, out, err = invoke(
        "report", "--from", "2026-03-10", "--to", "2026-03-10", "--json", *setup
    )
    assert code == 0, err
    record = json.loads(out)
    assert (record["from"], record["to"], record["zone"]) == (
        "2026-03-10",
        "2026-03-10",
        "America/Phoenix",
    )
    assert record["standard"]["responses"] == 1
    assert record["standard"]["median_minutes"] == 90
    assert record["standard"]["met_percent"] == 100.0
    assert record["emergency"]["responses"] == 0
    assert record["technicians"][0]["email"] == "alice@example.com"
    assert [day["day"] for day in record["days"]] == ["2026-03-10"]
    assert set(record) == {
        "from",
        "to",
        "zone",
        "generated_at",
        "standard",
        "emergency",
        "breaches",
        "technicians",
        "days",
    }


def test_default_is_the_last_30_days(setup: list[str]) -> None:
    code, out, _ = invoke("report", "--json", *setup)
    assert code == 0
    record = json.loads(out)
    assert len(record["days"]) == 30
    assert record["emergency"]["responses"] == 1
    assert record["emergency"]["median_minutes"] == 30
    assert record["standard"]["responses"] == 0  # March is long gone


def test_csv(setup: list[str]) -> None:
    code, out, _ = invoke("report", "--days", "7", "--csv", *setup)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["section", "key", "responses"]
    kinds = {row[1]: row for row in rows if row[0] == "kind"}
    assert kinds["emergency"][2:6] == ["1", "1", "0", "100.0"]
    assert [row[1] for row in rows if row[0] == "technician"] == ["alice@example.com"]
    assert len([row for row in rows if row[0] == "day"]) == 7


def test_text_shows_names_literally(setup: list[str]) -> None:
    code, out, _ = invoke("report", "--from", "2026-03-10", "--to", "2026-03-10", *setup)
    assert code == 0
    assert "SLA report 2026-03-10 to 2026-03-10" in out
    assert "Alice <b>[red]" in out  # a name is text, never markup
    assert "\x1b" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-02-30"], "--from: '2026-02-30' is not a date"),
        (["--to", "yesterday"], "--to: 'yesterday' is not a date"),
        (["--from", "2026-03-10", "--to", "2026-03-01"], "ends (2026-03-01) before it starts"),
        (["--from", "2024-01-01", "--to", "2026-01-01"], "at most 366 days"),
        (["--days", "7", "--from", "2026-03-01"], "not both"),
        (["--days", "0"], "--days"),
        (["--json", "--csv"], "one of --json and --csv"),
    ],
)
def test_bad_input_is_one_line_exit_2(setup: list[str], args: list[str], message: str) -> None:
    code, out, err = invoke("report", *args, *setup)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_a_missing_store_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = invoke("report", "--db", f"sqlite:///{missing}")
    assert code == 2 and "nope.db" in err
    assert not missing.exists()
