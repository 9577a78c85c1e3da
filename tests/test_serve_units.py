"""The pieces of `shiftdesk serve` that need no SSH connection: authorized keys, the host key,
per-session options and environment, the command's arguments."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest
from click.testing import CliRunner

from tui.cli.core import main
from tui.cli.serve import parse_address, parse_duration
from tui.serve.child import (
    ConsolePlan,
    DisplayOptions,
    SessionOptionError,
    child_environment,
    display_options,
)
from tui.serve.keys import AuthorizedKeys, KeyFileError, load_host_key, parse_authorized_keys
from tui.serve.ssh import WORK_PREFIX, clear_stale_work_dirs


def test_a_key_names_its_technician_by_option_or_by_comment() -> None:
    alex, sam, other = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(3))
    a = alex.export_public_key().decode().split()[:2]
    s = sam.export_public_key().decode().split()[:2]
    text = (
        "# the team\n\n"
        f'no-pty,technician="alex@company.example",from="10.0.0.1, 10.0.0.2" {a[0]} {a[1]} laptop\n'
        f"{s[0]} {s[1]} sam@company.example\n"
    )
    emails = parse_authorized_keys(text, "keys")
    assert emails == {
        alex.public_data: "alex@company.example",
        sam.public_data: "sam@company.example",
    }
    assert other.public_data not in emails


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("ssh-ed25519 AAAAnotakey alex@company.example", "keys:1: not a public key"),
        ("just some words", "keys:1: no key type and key found"),
    ],
)
def test_bad_key_lines_are_named(line: str, reason: str) -> None:
    with pytest.raises(KeyFileError, match=reason):
        parse_authorized_keys(line, "keys")


def test_a_key_without_a_technician_is_refused() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()
    with pytest.raises(KeyFileError, match='keys:1: no technician: add technician="EMAIL"'):
        parse_authorized_keys(f"{key[0]} {key[1]} my laptop", "keys")


def test_the_key_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    first, second = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(2))
    path = tmp_path / "authorized_keys"
    line = " ".join(first.export_public_key().decode().split()[:2])
    path.write_text(f"{line} alex@company.example\n", encoding="utf-8")
    keys = AuthorizedKeys.load(path)
    assert keys.technician(first) == "alex@company.example"
    assert keys.technician(second) is None
    line2 = " ".join(second.export_public_key().decode().split()[:2])
    path.write_text(f"{line} alex@company.example\n{line2} sam@company.example\n", "utf-8")
    assert keys.technician(second) == "sam@company.example"


def test_the_host_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ssh_host_ed25519_key"
    key = load_host_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_host_key(path).public_data == key.public_data  # the same key next time
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others: chmod 600"):
        load_host_key(path)


def test_session_options_from_the_command_and_the_environment() -> None:
    assert display_options(None, {}) == DisplayOptions(False, False)
    assert display_options("--ascii --no-color", {}) == DisplayOptions(True, True)
    assert display_options("", {"NO_COLOR": "", "SHIFTDESK_ASCII": "1"}) == DisplayOptions(
        True, True
    )
    assert display_options("--color", {"NO_COLOR": "1"}) == DisplayOptions(False, False)
    with pytest.raises(SessionOptionError, match="unknown option 'ls'"):
        display_options("ls", {})
    with pytest.raises(SessionOptionError, match="cannot read the options"):
        display_options('"unclosed', {})


def test_the_console_environment_is_the_sessions_own() -> None:
    server_env = {
        "PATH": "/usr/bin",
        "NO_COLOR": "1",  # the server's own: not every viewer's
        "SHIFTDESK_TECHNICIAN": "root@server",
        "TERM": "screen",
    }
    env = child_environment(
        "xterm-256color",
        100,
        30,
        DisplayOptions(ascii_flags=True),
        {"LANG": "C", "LD_PRELOAD": "/tmp/evil.so", "COLORTERM": "truecolor"},
        base=server_env,
    )
    assert env["TERM"] == "xterm-256color" and env["COLORTERM"] == "truecolor"
    assert (env["COLUMNS"], env["ROWS"]) == ("100", "30")
    assert env["SHIFTDESK_ASCII"] == "1" and "NO_COLOR" not in env
    assert "SHIFTDESK_TECHNICIAN" not in env and "LD_PRELOAD" not in env
    assert env["LANG"] == "C" and env["TEXTUAL_DRIVER"] == "tui.serve.driver:SessionDriver"


def test_the_console_command_per_mode(tmp_path: Path) -> None:
    demo = ConsolePlan(demo=True, python="py", at="open").argv("v-1@viewer.demo", tmp_path)
    assert demo == ["py", "-m", "tui", "demo", "--as", "v-1@viewer.demo", "--speed", "1.0",
                    "--store-dir", str(tmp_path), "--at", "open"]  # fmt: skip
    shared = ConsolePlan(demo=True, python="py", shared_dir=tmp_path, clock_offset=60.0)
    assert shared.argv("v@x", None)[-5:] == [
        "--store-dir", str(tmp_path), "--no-arrivals", "--clock-offset", "60.0"
    ]  # fmt: skip
    console = ConsolePlan(demo=False, db="sqlite:///x.db", python="py")
    assert console.argv("alex@company.example", None) == [
        "py", "-m", "tui", "--db", "sqlite:///x.db", "--as", "alex@company.example"
    ]  # fmt: skip


def test_addresses_and_durations() -> None:
    assert parse_address("2222", "--ssh") == ("", 2222)
    assert parse_address("127.0.0.1:2222", "--ssh") == ("127.0.0.1", 2222)
    assert parse_address("[::1]:2222", "--ssh") == ("::1", 2222)
    assert [parse_duration(t) for t in ("30m", "90s", "2h", "45", "0")] == [
        1800, 90, 7200, 45, 0
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["serve"], "nothing to serve: pass --ssh"),
        (["serve", "--ssh", "22x"], "is not [HOST:]PORT"),
        (["serve", "--ssh", "2222", "--shared-demo"], "--shared-demo needs --demo"),
        (["serve", "--ssh", "2222", "--idle-timeout", "soon"], "--idle-timeout: 'soon' is not"),
        (["serve", "--ssh", "2222", "--authorized-keys", "/nonexistent/keys"], "no authorized"),
        (["serve", "--web", "8000"], "--web without --demo needs --as EMAIL"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], reason: str) -> None:
    config = tmp_path / "shiftdesk.toml"
    config.write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config), *args], env={"SHIFTDESK_TECHNICIAN": None}
    )
    assert result.exit_code == 2, result.output
    assert reason in result.stderr and result.stderr.count("\n") == 1


def test_work_folders_of_dead_servers_are_cleared(tmp_path: Path) -> None:
    dead, alive, foreign = (tmp_path / f"{WORK_PREFIX}{n}" for n in ("dead", "alive", "x"))
    for folder in (dead, alive, foreign):
        (folder / "session-1").mkdir(parents=True)
    (dead / "server.pid").write_text(str(_dead_pid()))
    (alive / "server.pid").write_text(str(os.getpid()))
    assert clear_stale_work_dirs(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and foreign.exists()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lone_esc_is_reported_before_the_reader_goes_idle() -> None:
    """After input the reader keeps polling at Textual's pace until well past ESCDELAY: an Esc
    pending in the parser is resolved by the next poll (within ~0.2 s), so an Esc and a `q` typed
    half a second later stay two keys (with one idle 1 s poll right after the Esc, they arrived
    together and read as alt+q)."""
    from textual import constants

    from tui.serve.driver import BUSY_POLL, BUSY_WINDOW, IDLE_POLL, next_poll

    assert BUSY_WINDOW > constants.ESCAPE_DELAY + 2 * BUSY_POLL
    typed = 100.0
    polls = [typed]
    while polls[-1] < typed + BUSY_WINDOW:  # the reader's wake-ups after the key
        polls.append(polls[-1] + next_poll(polls[-1], typed))
    # a wake-up may come a hair before the parser's deadline: the one after it must be short too
    window = typed + constants.ESCAPE_DELAY, typed + constants.ESCAPE_DELAY + 2 * BUSY_POLL + 1e-6
    assert len([t for t in polls if window[0] <= t <= window[1]]) >= 2
    assert next_poll(typed + 0.05, typed) == BUSY_POLL
    assert next_poll(typed + BUSY_WINDOW + 0.01, typed) == IDLE_POLL  # idle again: 1 wake-up/s
