"""`shiftdesk canned` and `shiftdesk signature`, and the signature under `shiftdesk reply`:
real SQLite store, CliRunner; bad input is one line, the right exit code, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from models.desk import actions
from models.desk.detail import ticket_detail
from models.store.db import Store
from models.store.tables import AuditEvent, CannedReply
from tui.cli.core import main

T0 = 1_773_158_400.0


def run(url: str, *args: str, who: str = "ana@example.com", stdin: str | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, [*args, "--db", url, "--as", who], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _rows(url: str) -> tuple[int, int]:
    store = Store(url)
    with store.session() as session:
        canned = session.execute(select(func.count()).select_from(CannedReply)).scalar_one()
        events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    store.dispose()
    return int(canned), int(events)


def test_add_list_show_edit_remove(sqlite_url: str, tmp_path: Path) -> None:
    Store(sqlite_url).dispose()
    body = tmp_path / "forum.txt"
    body.write_text("Hello {customer},\r\nplease ask the community forum.\n", encoding="utf-8")
    assert run(sqlite_url, "canned", "list") == (
        0,
        "no canned replies (add one: shiftdesk canned add NAME --body-file FILE)\n",
        "",
    )
    assert run(sqlite_url, "canned", "add", "forum", "--body-file", str(body)) == (
        0,
        "canned reply 'forum' added (version 1)\n",
        "",
    )
    assert (
        run(sqlite_url, "canned", "add", "RSAA", "--body-file", "-", stdin="Sign it, {customer}")[0]
        == 0
    )
    code, out, _ = run(sqlite_url, "canned", "list")
    assert code == 0
    assert out.splitlines() == [
        "forum  v1   please ask the community forum.",  # the greeting says nothing
        "RSAA   v1   Sign it, {customer}",
    ]
    code, out, _ = run(sqlite_url, "canned", "list", "--json")
    listed = json.loads(out)
    assert [c["name"] for c in listed] == ["forum", "RSAA"]
    assert listed[0]["body"] == "Hello {customer},\nplease ask the community forum.\n"
    assert set(listed[0]) == {"id", "name", "body", "version", "created_by", "updated_at"}
    assert listed[0]["created_by"] == "ana@example.com"

    code, out, _ = run(sqlite_url, "canned", "show", "FORUM")
    assert code == 0
    assert out == (
        "forum · version 1 · by ana@example.com\n\n"
        "Hello {customer},\nplease ask the community forum.\n"
    )
    assert json.loads(run(sqlite_url, "canned", "show", "rsaa", "--json")[1])["version"] == 1

    assert run(sqlite_url, "canned", "edit", "rsaa", "--body", "New", "--expect-version", "1") == (
        0,
        "canned reply 'RSAA' saved (version 2)\n",
        "",
    )
    code, _, err = run(
        sqlite_url, "canned", "edit", "rsaa", "--body", "Old", "--expect-version", "1"
    )
    assert code == 1
    assert err == (
        "shiftdesk: canned reply 'RSAA' changed since you loaded it (version 1, now 2): "
        "show it again, then edit\n"
    )
    assert run(sqlite_url, "canned", "edit", "rsaa", "--rename", "RSAA request")[0] == 0
    assert run(sqlite_url, "canned", "remove", "RSAA request", who="bob@example.com") == (
        0,
        "canned reply 'RSAA request' removed\n",
        "",
    )
    assert [c["name"] for c in json.loads(run(sqlite_url, "canned", "list", "--json")[1])] == [
        "forum"
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["add", "x", "--body", "Dear {name}"], 65, "unknown variable {name} at line 1 column 6"),
        (["add", "x", "--body", "a { b"], 65, "a lone '{' at line 1 column 3"),
        (["add", "x", "--body", "   "], 65, "the body is empty"),
        (["add", "x", "--body", "x" * 20_001], 65, "too long"),
        (["add", "x", "--body", "ring \x07"], 65, "control character"),
        (["add", "x", "--body", "password: Hunter2!"], 65, "never stores credentials"),
        (["add", "", "--body", "x"], 65, "the name is empty"),
        (["add", "x"], 2, "give the text with --body TEXT or --body-file FILE"),
        (["add", "x", "--body", "a", "--body-file", "-"], 2, "--body TEXT or --body-file"),
        (["add", "x", "--body-file", "/nonexistent/f"], 2, "cannot read /nonexistent/f"),
        (["edit", "x"], 2, "--rename NEW"),
        (["edit", "missing", "--body", "x"], 1, "no canned reply named 'missing'"),
        (["remove", "missing"], 1, "no canned reply named 'missing'"),
        (["show", "\x1b[2Jmissing"], 1, "no canned reply named '␛[2Jmissing'"),
        (["edit", "x", "--body", "y", "--expect-version", "-1"], 2, "--expect-version"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    sqlite_url: str, args: list[str], code: int, message: str
) -> None:
    Store(sqlite_url).dispose()
    before = _rows(sqlite_url)
    got, out, err = run(sqlite_url, "canned", *args)
    assert (got, out) == (code, "")
    assert err.count("\n") == 1 and err.startswith("shiftdesk: ") and message in err
    assert _rows(sqlite_url) == before


def test_a_binary_body_file_is_bad_data(sqlite_url: str, tmp_path: Path) -> None:
    Store(sqlite_url).dispose()
    blob = tmp_path / "blob"
    blob.write_bytes(b"\xff\xfe\x00")
    code, _, err = run(sqlite_url, "canned", "add", "x", "--body-file", str(blob))
    assert code == 65 and "is not UTF-8 text" in err


def test_a_taken_name_is_refused(sqlite_url: str) -> None:
    Store(sqlite_url).dispose()
    assert run(sqlite_url, "canned", "add", "Forum", "--body", "a")[0] == 0
    assert run(sqlite_url, "canned", "add", "forum", "--body", "b") == (
        1,
        "",
        "shiftdesk: a canned reply named 'Forum' already exists (edit it instead)\n",
    )


def test_stored_text_is_shown_without_control_sequences(sqlite_url: str) -> None:
    """A body put into the store some other way: `show` never sends its ESC to the terminal."""
    store = Store(sqlite_url)
    with store.transaction() as session:
        session.add(CannedReply(name="evil", body="\x1b]0;owned\x07 {x", updated_at=T0))
    store.dispose()
    code, out, _ = run(sqlite_url, "canned", "show", "evil")
    assert code == 0 and "\x1b" not in out and "␛]0;owned␇ {x" in out
    code, out, _ = run(sqlite_url, "canned", "list")
    assert "\x1b" not in out and "\x07" not in out


def test_signature_show_set_clear(sqlite_url: str) -> None:
    Store(sqlite_url).dispose()
    assert run(sqlite_url, "signature") == (
        0,
        "ana@example.com has no signature (set one: shiftdesk signature set --body TEXT)\n",
        "",
    )
    assert run(sqlite_url, "signature", "set", "--body-file", "-", stdin="Ana Lima\nACME\n\n") == (
        0,
        "signature of ana@example.com saved\n",
        "",
    )
    assert run(sqlite_url, "signature", "show") == (0, "Ana Lima\nACME\n", "")
    assert run(sqlite_url, "signature")[1] == "Ana Lima\nACME\n"
    code, _, err = run(sqlite_url, "signature", "set", "--body", "\x1b[31m")
    assert code == 65 and "control character" in err
    assert run(sqlite_url, "signature", "show")[1] == "Ana Lima\nACME\n"  # kept
    assert run(sqlite_url, "signature", "clear") == (
        0,
        "signature of ana@example.com removed\n",
        "",
    )
    assert run(sqlite_url, "signature", "clear")[1] == "signature of ana@example.com was not set\n"
    code, _, err = run(sqlite_url, "signature", "set")
    assert code == 2 and "--body TEXT or --body-file" in err


def _ticket(url: str) -> int:
    store = Store(url)
    number = actions.create_ticket(
        store,
        subject="Printer",
        requester_email="jo@customer.example",
        received_at=T0,
        entitlement="license",
    )
    store.dispose()
    return number


def _last_body(url: str, number: int) -> str:
    store = Store(url)
    try:
        return ticket_detail(store, number).messages[-1].body
    finally:
        store.dispose()


def test_reply_appends_the_signature_unless_told_not_to(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    assert run(sqlite_url, "signature", "set", "--body", "Ana\nACME support")[0] == 0
    assert run(sqlite_url, "reply", str(number), "--body", "Fixed in 9.4.2.")[0] == 0
    assert _last_body(sqlite_url, number) == "Fixed in 9.4.2.\n\n-- \nAna\nACME support\n"
    # a text that already ends with it gets it once; --no-signature leaves the text alone
    signed = "Also this.\n\n-- \nAna\nACME support"
    assert run(sqlite_url, "reply", str(number), "--follow-up", "--body", signed)[0] == 0
    assert _last_body(sqlite_url, number) == signed
    assert (
        run(sqlite_url, "reply", str(number), "--follow-up", "--no-signature", "--body", "Bye")[0]
        == 0
    )
    assert _last_body(sqlite_url, number) == "Bye"
    # an empty text is still refused: never a signature alone
    code, _, err = run(sqlite_url, "reply", str(number), "--follow-up", "--body", " ")
    assert code == 1 and "the reply is empty" in err
    # a colleague without a signature sends the text as typed
    code, _, _ = run(
        sqlite_url, "reply", str(number), "--follow-up", "--body", "Hi", who="bob@x.example"
    )
    assert code == 0 and _last_body(sqlite_url, number) == "Hi"


@pytest.mark.parametrize(
    ("source", "code"),
    [("/dev/zero", 65), ("/dev/urandom", 65), ("big", 65), ("directory", 2), ("empty", 65)],
)
@pytest.mark.parametrize("command", [["canned", "add", "x"], ["signature", "set"]])
def test_hostile_body_files_end_in_one_line(
    sqlite_url: str, tmp_path: Path, source: str, code: int, command: list[str]
) -> None:
    """Bounded reads: /dev/zero and a runaway file end in one line, never fill the memory."""
    if source.startswith("/dev/") and not Path(source).exists():
        pytest.skip(f"needs {source}")
    Store(sqlite_url).dispose()
    paths = {"big": tmp_path / "big.txt", "directory": tmp_path, "empty": tmp_path / "e.txt"}
    paths["big"].write_bytes(b"a" * 1_000_001)
    paths["empty"].write_bytes(b"")
    before = _rows(sqlite_url)
    got, out, err = run(sqlite_url, *command, "--body-file", str(paths.get(source, source)))
    assert (got, out) == (code, "") and err.count("\n") == 1
    assert _rows(sqlite_url) == before
