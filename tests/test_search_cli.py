"""`shiftdesk search`: JSON lines for scripts, newest first, exit codes, hostile text."""

from __future__ import annotations

import json

from click.testing import CliRunner

from models.desk import actions
from models.store.db import Store
from tui.cli.core import main


def _store(url: str) -> list[int]:
    store = Store(url)
    made = [
        actions.create_ticket(
            store,
            subject=subject,
            body=body,
            requester_email="ops@acme.example",
            received_at=1_700_000_000.0 + i,
        )
        for i, (subject, body) in enumerate(
            [
                ("Printer on fire", "Smoke from tray 2.\n\x1b[31mred\x1b[0m"),
                ("Scanner jam", "The printer next to it is fine."),
                ("Backup failed", "Nothing printed."),
            ]
        )
    ]
    store.dispose()
    return made


def test_json_array_newest_first_with_a_snippet(sqlite_url: str) -> None:
    first, second, _ = _store(sqlite_url)
    result = CliRunner().invoke(main, ["search", "printer", "--json", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)  # the one --json shape: an array
    assert [r["number"] for r in rows] == [second, first]
    assert rows[0]["snippet"] == "The printer next to it is fine."
    assert rows[1]["snippet"] == ""  # the match is in the subject
    assert set(rows[0]) == {"number", "status", "customer", "subject", "snippet"}


def test_limit_and_more_note(sqlite_url: str) -> None:
    newest = _store(sqlite_url)[-1]
    result = CliRunner().invoke(
        main, ["search", "acme.example", "--limit", "1", "--db", sqlite_url]
    )
    assert result.exit_code == 0
    assert result.stdout.startswith(f"#{newest} ")
    assert "more than 1 tickets match" in result.stderr


def test_text_output_shows_customer_text_literally(sqlite_url: str) -> None:
    _store(sqlite_url)
    result = CliRunner().invoke(main, ["search", "smoke", "--db", sqlite_url])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "␛[31mred" in result.output


def test_no_match_exits_1_and_punctuation_exits_2(sqlite_url: str) -> None:
    _store(sqlite_url)
    result = CliRunner().invoke(main, ["search", "zebra", "--db", sqlite_url])
    assert result.exit_code == 1
    assert result.stderr == "shiftdesk: no ticket matches 'zebra'\n"
    result = CliRunner().invoke(main, ["search", "zebra", "--json", "--db", sqlite_url])
    assert result.exit_code == 1 and json.loads(result.stdout) == []
    result = CliRunner().invoke(main, ["search", '"(*)"', "--db", sqlite_url])
    assert result.exit_code == 2
    assert result.stderr.startswith("shiftdesk: nothing to search for")
    assert len(result.stderr.splitlines()) == 1
