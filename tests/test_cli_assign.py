"""`shiftdesk assign N EMAIL|--nobody`: real store, CliRunner, both backends. Bad input is one
line and a non-zero exit (2 usage, 65 unknown technician, 1 refused), nothing half-written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from models.desk import actions
from models.desk.detail import ticket_detail
from models.store.db import Store
from tui.cli.core import main

T0 = 1_773_158_400.0


def _ticket(url: str) -> int:
    store = Store(url)
    number = actions.create_ticket(
        store,
        subject="Printer on fire",
        requester_email="jo@customer.example",
        received_at=T0,
        entitlement="license",
    )
    with actions.action(store) as session:  # bob and kim have used shiftdesk before
        actions.technician_for(session, actions.Actor("bob@example.com"))
        actions.technician_for(session, actions.Actor("kim@example.com"))
    store.dispose()
    return number


def run(url: str, *args: str, who: str = "ana@example.com") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--db", url, "--as", who])
    return result.exit_code, result.stdout, result.stderr


def _state(url: str, number: int) -> tuple[str | None, int, int]:
    store = Store(url)
    try:
        detail = ticket_detail(store, number)
        return detail.assignee, detail.version, len(detail.audit)
    finally:
        store.dispose()


def test_assign_and_unassign(db_url: str) -> None:
    number = _ticket(db_url)
    code, out, err = run(db_url, "assign", str(number), "Bob@Example.com", "--expect-version", "1")
    assert (code, err) == (0, "")
    assert out == f"#{number} assigned to bob@example.com by ana@example.com (version 2)\n"
    # bob's now: ana needs --take-over, to reassign or to unassign
    code, out, err = run(db_url, "assign", str(number), "kim@example.com")
    assert code == 1 and out == ""
    assert err == (
        f"shiftdesk: #{number} is assigned to bob@example.com: reassign it only if you mean to"
        " (add --take-over)\n"
    )
    code, out, _ = run(db_url, "assign", str(number), "--nobody", who="bob@example.com")
    assert code == 0 and out.startswith(f"#{number} unassigned by bob@example.com")
    assert _state(db_url, number)[0] is None
    code, _, err = run(db_url, "assign", str(number), "--nobody")
    assert code == 1 and err == f"shiftdesk: #{number} is not assigned to anyone\n"


def test_a_stale_version_and_take_over(db_url: str) -> None:
    number = _ticket(db_url)
    assert run(db_url, "assign", str(number), "bob@example.com")[0] == 0
    code, _, err = run(db_url, "assign", str(number), "kim@example.com", "--expect-version", "1")
    assert code == 1 and "changed since you loaded it: ana@example.com reassigned it" in err
    code, out, _ = run(
        db_url, "assign", str(number), "kim@example.com", "--take-over", "--expect-version", "2"
    )
    assert code == 0 and "assigned to kim@example.com" in out
    assert _state(db_url, number)[:2] == ("kim@example.com", 3)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ghost@example.com"], 65, "no technician ghost@example.com in this store"),
        ([], 2, "give the technician's EMAIL or --nobody (not both)"),
        (["bob@example.com", "--nobody"], 2, "give the technician's EMAIL or --nobody"),
        (["bob"], 2, "'bob' is not an email address"),
        (["bob@exa\x1bmple.com"], 2, "is not an email address"),
        (["bob@example.com", "--expect-version", "x"], 2, "Invalid value"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    sqlite_url: str, args: list[str], code: int, message: str
) -> None:
    number = _ticket(sqlite_url)
    before = _state(sqlite_url, number)
    got, out, err = run(sqlite_url, "assign", str(number), *args)
    assert got == code and out == ""
    assert message in err
    assert "\x1b" not in err
    if code != 2 or "Invalid value" not in err:
        assert err.count("\n") == 1
    assert _state(sqlite_url, number) == before


def test_no_such_ticket(sqlite_url: str) -> None:
    _ticket(sqlite_url)
    code, _, err = run(sqlite_url, "assign", "999", "bob@example.com")
    assert code == 1 and err == "shiftdesk: there is no ticket #999\n"


def test_an_unreachable_store_exits_75(tmp_path: object) -> None:
    code, _, err = run("postgresql://nobody@127.0.0.1:1/none", "assign", "1", "bob@example.com")
    assert code == 75 and err.startswith("shiftdesk: ")
