"""`shiftdesk sla` and `shiftdesk calendar preview`, run for real (subprocess) and via CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.cli.core import main

PHOENIX_TOML = """
[calendar]
timezone = "America/Phoenix"
holidays = ["2024-05-27"]
holiday_country = ""
"""

NEW_YORK_TOML = """
[calendar]
timezone = "America/New_York"
"""


@pytest.fixture
def phoenix(tmp_path: Path) -> Path:
    path = tmp_path / "phoenix.toml"
    path.write_text(PHOENIX_TOML, encoding="utf-8")
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, env={"SHIFTDESK_CONFIG": None})
    return result.exit_code, result.stdout, result.stderr


def test_issue_example_as_a_real_process(phoenix: Path) -> None:
    result = run(
        "sla", "--config", str(phoenix),
        "--received", "2024-03-01T16:00", "--at", "2024-03-02T12:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "kind": "standard",
        "received": "2024-03-01T16:00:00-07:00",
        "at": "2024-03-02T12:00:00-07:00",
        "deadline": "2024-03-04T11:00:00-07:00",
        "remaining_seconds": 10800,
        "paused": True,
        "resumes_at": "2024-03-04T08:00:00-07:00",
        "breached": False,
    }


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        ("2024-03-04T13:00", "2024-03-05T08:00:00-07:00"),
        ("2024-05-24T15:00-07:00", "2024-05-28T10:00:00-07:00"),
        ("2024-05-24T22:00Z", "2024-05-28T10:00:00-07:00"),
    ],
)
def test_deadlines(phoenix: Path, received: str, deadline: str) -> None:
    code, out, _err = invoke("sla", "--config", str(phoenix), "--received", received)
    assert code == 0
    assert json.loads(out)["deadline"] == deadline


def test_new_york_and_emergency(tmp_path: Path) -> None:
    config = tmp_path / "ny.toml"
    config.write_text(NEW_YORK_TOML, encoding="utf-8")
    code, out, _ = invoke("--config", str(config), "sla", "--received", "2024-03-08T15:00-05:00")
    assert code == 0 and json.loads(out)["deadline"] == "2024-03-11T10:00:00-04:00"
    code, out, _ = invoke(
        "sla", "--config", str(config), "--kind", "emergency",
        "--received", "2024-11-03T01:30-04:00", "--at", "2024-11-03T01:15-05:00",
    )  # fmt: skip
    state = json.loads(out)
    assert code == 0
    assert state["deadline"] == "2024-11-03T01:30:00-05:00"
    assert state["remaining_seconds"] == 900
    assert state["paused"] is False and state["resumes_at"] is None


def test_fractional_remaining_is_a_float(phoenix: Path) -> None:
    code, out, _ = invoke(
        "sla", "--config", str(phoenix),
        "--received", "2024-03-04T09:00:00.5", "--at", "2024-03-04T10:00",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["remaining_seconds"] == 10800.5


def test_at_defaults_to_now(phoenix: Path) -> None:
    code, out, _ = invoke("sla", "--config", str(phoenix), "--received", "2024-03-04T09:00")
    state = json.loads(out)
    assert code == 0 and state["breached"] is True and state["at"] > "2025"


@pytest.mark.parametrize(
    "args",
    [
        ["--received", "not-a-time"],
        ["--received", "2024-03-04T09:00", "--at", "2024-02-30T09:00"],
        [],
        ["--received", "2024-03-04T09:00", "--kind", "urgent"],
        ["--batch", "--received", "2024-03-04T09:00"],
    ],
)
def test_bad_input_is_one_line_exit_2(phoenix: Path, args: list[str]) -> None:
    code, out, err = invoke("sla", "--config", str(phoenix), *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


def test_bad_received_in_a_real_process(phoenix: Path) -> None:
    result = run("sla", "--config", str(phoenix), "--received", "2024-13-01T09:00")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("shiftdesk: --received: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[calendar.hours]\nmon = ["25:00-17:00"]\n', encoding="utf-8")
    result = run("sla", "--config", str(bad), "--received", "2024-03-04T09:00")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "shiftdesk: config error: calendar.hours.mon[0]: '25:00-17:00' is not a time"
    )
    closed = tmp_path / "closed.toml"
    closed.write_text("[calendar.hours]\n", encoding="utf-8")
    code, _out, err = invoke("sla", "--config", str(closed), "--received", "2024-03-04T09:00")
    assert code == 2 and "calendar.hours: no business time in the next 366 days" in err


def test_batch_in_order_with_errors(phoenix: Path) -> None:
    lines = [
        {"kind": "standard", "received": "2024-03-01T16:00", "at": "2024-03-02T12:00"},
        "this is not json",
        {"kind": "urgent", "received": "2024-03-01T16:00", "at": "2024-03-02T12:00"},
        {"kind": "emergency", "received": "2024-03-01T16:00", "at": "2024-03-01T16:30"},
        {"kind": "standard", "received": "yesterday"},
        {"kind": "standard"},
        {"kind": "standard", "received": "2024-05-24T15:00", "at": "2024-05-28T10:00:01"},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    result = run("sla", "--batch", "--config", str(phoenix), stdin=stdin + "\n")
    assert result.returncode == 65
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["remaining_seconds"] == 10800 and out[0]["paused"] is True
    assert set(out[1]) == {"error"}
    assert "kind" in out[2]["error"]
    assert out[3]["remaining_seconds"] == 1800 and out[3]["deadline"] == "2024-03-01T17:00:00-07:00"
    assert set(out[4]) == {"error"} and set(out[5]) == {"error"}
    assert out[6]["breached"] is True and out[6]["remaining_seconds"] == -1


def test_batch_all_good_exits_0(phoenix: Path) -> None:
    stdin = json.dumps({"kind": "standard", "received": "2024-03-04T13:00"}) + "\n\n"
    code, out, _ = invoke("sla", "--batch", "--config", str(phoenix), stdin=stdin)
    assert code == 0
    assert json.loads(out)["deadline"] == "2024-03-05T08:00:00-07:00"


def test_calendar_preview_lists_days_dst_and_warnings(tmp_path: Path) -> None:
    config = tmp_path / "preview.toml"
    config.write_text(
        """
[calendar]
timezone = "America/New_York"
holidays = ["2024-03-09"]
[calendar.hours]
mon = ["08:00-17:00"]
tue = ["08:00-17:00", "16:00-23:59"]
fri = ["22:00-06:00"]
[calendar.overrides]
"2024-03-11" = ["08:00-12:00", "13:00-17:00"]
""",
        encoding="utf-8",
    )
    code, out, _ = invoke(
        "calendar", "preview", "--config", str(config), "--from", "2024-03-04", "--days", "14"
    )
    assert code == 0, out
    assert "Mon 2024-03-04  08:00–17:00" in out
    assert "Fri 2024-03-08  22:00–24:00" in out  # Saturday is a holiday
    assert "Fri 2024-03-15  22:00–Sat 06:00" in out
    assert "Sat 2024-03-09" in out and "company holiday" in out
    assert "2024-03-10 03:00  UTC offset -05:00 -> -04:00" in out
    assert "tue[1] ends at 23:59" in out
    assert "overlapping" in out
    assert "lunch break" in out
    assert "2024-03-09 is a Saturday, closed anyway" in out
    assert "Public holidays: US from the zone America/New_York" in out
    assert out.count("\n") > 14


def test_sla_module_does_not_import_textual() -> None:
    code = "import sys, tui.cli.sla; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
