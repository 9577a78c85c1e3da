"""The command line: shared options before or after the subcommand, env vars, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.desk import actions
from models.store.db import Store
from tui.cli.core import main

ROOT = Path(__file__).resolve().parent.parent


def _store_with_ticket(url: str) -> int:
    store = Store(url)
    number = actions.create_ticket(
        store,
        subject="Printer on fire",
        requester_email="a@b.example",
        received_at=1_700_000_000.0,
        entitlement="license",
    )
    store.dispose()
    return number


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_db_option_before_after_or_from_env(sqlite_url: str, where: str) -> None:
    number = _store_with_ticket(sqlite_url)
    env = {}
    if where == "before":
        args = ["--db", sqlite_url, "list", "--json", "--all"]
    elif where == "after":
        args = ["list", "--json", "--all", "--db", sqlite_url]
    else:
        args, env = ["list", "--json", "--all"], {"SHIFTDESK_DB": sqlite_url}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)  # one JSON array (docs/config.md, "JSON output")
    assert [r["number"] for r in rows] == [number]
    assert rows[0]["subject"] == "Printer on fire"


def test_as_option_after_the_subcommand_wins(sqlite_url: str) -> None:
    number = _store_with_ticket(sqlite_url)
    result = CliRunner().invoke(
        main,
        [
            "--as",
            "first@x.example",
            "take",
            str(number),
            "--db",
            sqlite_url,
            "--as",
            "second@x.example",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "second@x.example" in result.output


def test_version_and_help() -> None:
    runner = CliRunner()
    assert "shiftdesk" in runner.invoke(main, ["--version"]).output
    for command in ["list", "show", "seed", "demo", "sla", "rsaa", "mailgate", "db", "outbox"]:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "--db" in result.output or command in ("db", "rsaa")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["show", "424242"], 1),
        (["show", "notanumber"], 2),
        (["seed", "--tickets", "0"], 2),
        (["nosuchcommand"], 2),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    sqlite_url: str, args: list[str], code: int
) -> None:
    Store(sqlite_url).dispose()  # an explicit --db must exist (only `db upgrade`/`seed` create)
    result = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", sqlite_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "SHIFTDESK_CONFIG": ""},
    )
    assert result.returncode == code
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreachable_store_exits_75() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "list", "--db", "postgresql://postgres@127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 75
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_seed_fills_a_store(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["seed", "--tickets", "250", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    store = Store(sqlite_url)
    with store.session() as session:
        from models.desk.queue import load_queue

        assert len(load_queue(session)) == 250
    store.dispose()


def test_every_command_module_command_is_registered() -> None:
    import importlib
    import pkgutil

    import click

    import tui.cli
    from tui.cli.core import LAZY_COMMANDS

    registered = {(m, a) for m, a in LAZY_COMMANDS.values()}
    seen = 0
    for info in pkgutil.iter_modules(tui.cli.__path__):
        if info.name == "core":  # the `shiftdesk` group itself and its helpers
            continue
        module = importlib.import_module(f"tui.cli.{info.name}")
        for attribute, value in vars(module).items():
            callback = getattr(value, "callback", None)
            if (
                isinstance(value, click.Command)
                and getattr(callback, "__module__", "") == module.__name__
            ):
                top_level = not any(
                    isinstance(group, click.Group) and value in group.commands.values()
                    for group in vars(module).values()
                )
                if top_level:
                    seen += 1
                    assert (module.__name__, attribute) in registered, attribute
    assert seen == len(registered)
