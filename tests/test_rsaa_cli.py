"""`shiftdesk rsaa` through click's CliRunner: JSON shape, table, one-line errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.desk import actions
from models.store.db import Store
from tui.cli.core import main

T0 = 1_700_000_000.0


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "shiftdesk.toml"
    config.write_text('[calendar]\ntimezone = "UTC"\n', encoding="utf-8")
    return {
        "SHIFTDESK_DB": db_url,
        "SHIFTDESK_CONFIG": str(config),
        "SHIFTDESK_TECHNICIAN": "alice@example.com",
    }


def _ticket(db_url: str) -> int:
    store = Store(db_url)
    number = actions.create_ticket(
        store, subject="Server down", requester_email="jo@customer.example", received_at=T0
    )
    store.dispose()
    return number


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["rsaa", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_record_list_revoke_roundtrip(env: dict[str, str], db_url: str) -> None:
    number = _ticket(db_url)
    code, out, err = _run(
        env,
        "record",
        str(number),
        "--name",
        "Jo",
        "--email",
        "jo@c.example",
        "--server",
        "10.0.0.5",
        "--method",
        "tool",
        "--tool",
        "AnyDesk",
        "--temp-account",
        "shiftdesk-support",
        "--accepted-at",
        "2023-11-14T22:15:00",
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"recorded RSAA #1 on #{number}: tool (AnyDesk) to 10.0.0.5")

    code, out, _ = _run(env, "list", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert set(row) == {
        "id",
        "ticket",
        "ticket_status",
        "customer",
        "server",
        "method",
        "tool",
        "source_ip",
        "temp_account",
        "active",
        "accepted_by",
        "granted",
        "revoked",
    }
    assert row["ticket"] == number and row["active"] is True and row["revoked"] is None
    assert row["granted"] == {"at": "2023-11-14T22:15:00+00:00", "by": "alice@example.com"}
    assert row["accepted_by"] == {"name": "Jo", "email": "jo@c.example"}
    assert row["source_ip"] == "203.0.113.10" and row["tool"] == "AnyDesk"

    code, out, _ = _run(env, "list")
    assert code == 0 and "tool: AnyDesk" in out and "active" in out and "SERVER" in out

    code, out, _ = _run(env, "revoke", "1", "--reason", "work_finished", "--as", "bob@example.com")
    assert code == 0
    assert (
        "Remove the temporary account shiftdesk-support and the firewall rule for"
        " 203.0.113.10 on 10.0.0.5" in out
    )

    code, out, _ = _run(env, "list", "--json", "--active")
    assert (code, json.loads(out)) == (0, [])
    [row] = json.loads(_run(env, "list", "--json")[1])
    assert row["revoked"]["by"] == "bob@example.com"
    assert row["revoked"]["reason"] == "work_finished"


def test_empty_list(env: dict[str, str]) -> None:
    assert _run(env, "list", "--json")[:2] == (0, "[]\n")
    assert _run(env, "list")[:2] == (0, "no agreements\n")


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--email", "jo@c", "--server", "srv01", "--method", "rdp"], 65, "accepted_by_email"),
        (["--email", "jo@c.example", "--server", "srv 1", "--method", "rdp"], 65, "server"),
        (["--email", "jo@c.example", "--server", "srv1", "--method", "tool"], 65, "tool_name"),
        (
            [
                "--email",
                "jo@c.example",
                "--server",
                "srv1",
                "--method",
                "rdp",
                "--notes",
                "password: hunter2",
            ],
            65,
            "never stores credentials",
        ),
        (
            [
                "--email",
                "jo@c.example",
                "--server",
                "srv1",
                "--method",
                "rdp",
                "--accepted-at",
                "yesterday",
            ],
            65,
            "ISO 8601",
        ),
        (
            [
                "--email",
                "jo@c.example",
                "--server",
                "srv1",
                "--method",
                "screen_share",
                "--tool",
                "Zoom",
            ],
            1,
            "escalated to phone",
        ),
    ],
)
def test_bad_record_input_exits_non_zero_with_one_line(
    env: dict[str, str], db_url: str, args: list[str], code: int, fragment: str
) -> None:
    number = _ticket(db_url)
    result_code, out, err = _run(env, "record", str(number), "--name", "Jo", *args)
    assert result_code == code and out == ""
    assert err.count("\n") == 1 and err.startswith("shiftdesk: ") and fragment in err
    assert json.loads(_run(env, "list", "--json")[1]) == []


def test_refusals_are_one_line(env: dict[str, str], db_url: str) -> None:
    number = _ticket(db_url)
    record = [
        "record",
        str(number),
        "--name",
        "Jo",
        "--email",
        "jo@c.example",
        "--server",
        "srv1",
        "--method",
        "rdp",
    ]
    assert _run(env, *record)[0] == 0
    code, _, err = _run(env, *record)
    assert code == 1 and err.count("\n") == 1 and "already has an active RSAA (#1" in err
    assert _run(env, "revoke", "1", "--reason", "customer_asked")[0] == 0
    code, _, err = _run(env, "revoke", "1", "--reason", "customer_asked")
    assert code == 1 and "already revoked" in err and err.count("\n") == 1
    code, _, err = _run(env, "revoke", "99", "--reason", "customer_asked")
    assert code == 1 and "no RSAA #99" in err


def test_missing_technician_is_one_line(env: dict[str, str], db_url: str) -> None:
    env = {**env, "SHIFTDESK_TECHNICIAN": ""}
    code, _, err = _run(env, "revoke", "1", "--reason", "customer_asked")
    assert code == 2 and err == (
        "shiftdesk: no technician: pass --as EMAIL, set SHIFTDESK_TECHNICIAN or the config's "
        "technician\n"
    )


def test_the_configs_technician_acts_when_none_is_given(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    """Like the console, the CLI falls back to `technician` in the config."""
    number = _ticket(db_url)
    config = tmp_path / "with-technician.toml"
    config.write_text(
        'technician = "carol@example.com"\n[calendar]\ntimezone = "UTC"\n', encoding="utf-8"
    )
    env = {**env, "SHIFTDESK_TECHNICIAN": "", "SHIFTDESK_CONFIG": str(config)}
    code, out, err = _run(
        env, "record", str(number), "--name", "Jo", "--email", "jo@customer.example",
        "--server", "srv1.customer.example", "--method", "rdp",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = _run(env, "list", "--json")
    assert json.loads(out)[0]["granted"]["by"] == "carol@example.com"


def test_unreachable_store_exits_75(env: dict[str, str]) -> None:
    env = {**env, "SHIFTDESK_DB": "postgresql://nobody@127.0.0.1:1/none"}
    code, _, err = _run(env, "list", "--json")
    assert code == 75 and err.count("\n") == 1 and "unreachable" in err
