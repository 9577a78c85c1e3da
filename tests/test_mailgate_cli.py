"""`shiftdesk mailgate`, `purchase` and `import` as an MTA or a script runs them: a subprocess,
exit codes 0 / 65 / 75, one line on stderr, never a traceback, never Textual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.store.db import Store
from tests.intake_support import plain

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


def run(
    *args: str, stdin: bytes = b"", db: str, config: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}
    env["SHIFTDESK_CONFIG"] = str(config or ROOT / "tests" / "no-such-config.toml")
    if config is None:
        env.pop("SHIFTDESK_CONFIG")
    return subprocess.run(
        [sys.executable, "-m", "tui", *args, "--db", db],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    Store(url).dispose()
    return url


def test_new_then_reply(db: str) -> None:
    first = run("mailgate", stdin=plain(), db=db)
    assert first.returncode == 0, first.stderr
    assert first.stdout.decode().strip() == "ticket #1 new (not entitled)"
    reply = run("mailgate", stdin=plain("more", subject="Re: [#1] x", message_id="<m2@x>"), db=db)
    assert (reply.returncode, reply.stdout.decode().strip()) == (0, "ticket #1 reply")


def test_auto_reply_is_ignored_with_exit_0(db: str) -> None:
    result = run("mailgate", stdin=plain(Auto_Submitted="auto-replied"), db=db)
    assert (result.returncode, result.stdout.decode().strip()) == (0, "ignored: auto-reply")


@pytest.mark.parametrize("stdin", [b"", b"Subject: no sender\n\nhello\n"])
def test_unusable_is_65_with_one_line(db: str, stdin: bytes) -> None:
    result = run("mailgate", stdin=stdin, db=db)
    assert result.returncode == 65
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shiftdesk: unusable message: ")
    assert b"Traceback" not in result.stderr


def test_over_size_is_65(db: str) -> None:
    result = run("mailgate", "--max-size", "1000", stdin=plain("x" * 5000), db=db)
    assert result.returncode == 65 and b"limit" in result.stderr


def test_unreachable_store_is_75() -> None:
    result = run("mailgate", stdin=plain(), db=UNREACHABLE)
    assert result.returncode == 75
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert b"Traceback" not in result.stderr


def test_locked_store_is_75(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    Store(url).dispose()
    import sqlite3

    holder = sqlite3.connect(tmp_path / "locked.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        env_timeout = run("mailgate", stdin=plain(), db=url)
    finally:
        holder.rollback()
        holder.close()
    assert env_timeout.returncode == 75, env_timeout.stderr
    assert b"Traceback" not in env_timeout.stderr


def test_maildir_moves_messages(db: str, tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.a").write_bytes(plain())
    (maildir / "new" / "2.b").write_bytes(b"Subject: no sender\n\nhi\n")
    (maildir / "new" / "3.c").write_bytes(
        plain(Auto_Submitted="auto-generated", message_id="<b@x>")
    )
    (maildir / "new" / "4.d").write_bytes(plain("again", subject="[#1]", message_id="<r@x>"))
    result = run("mailgate", "--maildir", str(maildir), db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("2 stored, 1 ignored, 1 quarantined, 0 left in new/")
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == ["1.a:2,S", "3.c:2,S", "4.d:2,S"]
    assert list((maildir / "new").iterdir()) == []
    quarantine = maildir / ".quarantine"
    assert (quarantine / "2.b").exists()
    assert "no sender" in (quarantine / "2.b.reason").read_text()


def test_maildir_store_down_leaves_messages(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "1.a").write_bytes(plain())
    result = run("mailgate", "--maildir", str(maildir), db=UNREACHABLE)
    assert result.returncode == 75
    assert (maildir / "new" / "1.a").exists()


def test_import_and_purchase_commands(db: str, tmp_path: Path) -> None:
    customers = tmp_path / "c.csv"
    customers.write_text("email,name\njo@customer.example,Jo\nbad,Bad\n")
    bad = run("import", "customers", str(customers), db=db)
    assert bad.returncode == 65 and b"row 3:" in bad.stderr
    customers.write_text("email,name\njo@customer.example,Jo\n")
    dry = run("import", "customers", str(customers), "--dry-run", db=db)
    assert dry.returncode == 0 and b"1 created" in dry.stdout + dry.stderr
    real = run("import", "customers", str(customers), db=db)
    assert real.returncode == 0 and b"row 2: created jo@customer.example" in real.stdout
    body = tmp_path / "body.txt"
    body.write_text("Our server is down")
    added = run(
        "purchase",
        "add",
        "--kind",
        "emergency",
        "--customer",
        "jo@customer.example",
        "--subject",
        "Down",
        "--body-file",
        str(body),
        "--at",
        "2026-01-15T12:00Z",
        db=db,
    )
    assert (added.returncode, added.stdout.decode().strip()) == (0, "ticket #1 new (emergency)")
    unknown = run(
        "purchase",
        "add",
        "--kind",
        "training",
        "--customer",
        "jo@customer.example",
        "--license",
        "NOPE-NOPE-NOPE",
        "--subject",
        "x",
        db=db,
    )
    assert unknown.returncode == 65 and b"not known" in unknown.stderr


def test_gateway_does_not_import_textual(db: str, tmp_path: Path) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(plain())
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import tui.cli.core\n"
        "r = CliRunner().invoke(tui.cli.core.main, ['mailgate', '--db', sys.argv[1]],"
        " input=open(sys.argv[2], 'rb').read())\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, db, str(message)], cwd=ROOT, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "ok"
