"""The work commands' safety flags: --take-over, --follow-up, --allow-secret; close's RSAA
reminder; `show` with appointments and history sentences. Real store, CliRunner; and racing
`reply` processes without a version."""

from __future__ import annotations

import json
import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from models.desk import actions
from models.desk.triage import schedule_appointment
from models.store.db import Store
from models.store.tables import Customer, OutboxEntry, Rsaa, Ticket, TicketKind
from tui.cli.core import main

T0 = 1_773_158_400.0  # Tue 2026-03-10 16:00 UTC


def _ticket(url: str, kind: str = TicketKind.STANDARD) -> int:
    store = Store(url)
    number = actions.create_ticket(
        store,
        subject="Printer on fire",
        requester_email="jo@customer.example",
        received_at=T0,
        entitlement="license",
        kind=kind,
    )
    store.dispose()
    return number


def run(url: str, *args: str, who: str = "ana@example.com") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--db", url, "--as", who])
    return result.exit_code, result.stdout, result.stderr


def test_take_from_a_colleague_needs_take_over(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    assert run(sqlite_url, "take", str(number), who="bob@example.com")[0] == 0
    code, out, err = run(sqlite_url, "take", str(number))
    assert code == 1 and out == ""
    assert err == (
        f"shiftdesk: #{number} is assigned to bob@example.com: take it over only if you mean to"
        " (add --take-over)\n"
    )
    code, out, _ = run(sqlite_url, "take", str(number), "--take-over")
    assert code == 0 and "taken by ana@example.com" in out


def test_a_second_reply_needs_follow_up(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    assert (
        run(sqlite_url, "reply", str(number), "--body", "Try 9.4.3.", who="bob@example.com")[0] == 0
    )
    code, _, err = run(sqlite_url, "reply", str(number), "--body", "Restart it.")
    assert code == 1 and err.count("\n") == 1
    assert "already answered (bob@example.com replied at" in err and "--follow-up" in err
    code, out, _ = run(sqlite_url, "reply", str(number), "--body", "Restart it.", "--follow-up")
    assert code == 0 and "first response" not in out


@pytest.mark.parametrize("command", ["reply", "note"])
def test_a_credential_is_refused_unless_allowed(sqlite_url: str, command: str) -> None:
    number = _ticket(sqlite_url)
    body = "Log in as admin / Hunter2! and restart the spooler."
    code, _, err = run(sqlite_url, command, str(number), "--body", body)
    assert code == 65 and err.count("\n") == 1
    assert "seems to contain a user name and password" in err and "--allow-secret" in err
    assert "Hunter2" not in err
    code, _, _ = run(sqlite_url, command, str(number), "--body", body, "--allow-secret")
    assert code == 0
    code, out, _ = run(sqlite_url, "show", str(number))
    assert "despite the credential warning" in out


def test_close_with_an_active_rsaa_prints_the_reminder(sqlite_url: str) -> None:
    number = _ticket(sqlite_url)
    store = Store(sqlite_url)
    with store.transaction() as s:
        tech = actions.technician_for(s, actions.Actor("ana@example.com"))
        s.add(
            Rsaa(
                ticket_number=number,
                accepted_by_name="Jo",
                accepted_by_email="jo@customer.example",
                accepted_at=T0,
                server="srv01.customer.example",
                method="rdp",
                source_ip="198.51.100.7",
                temp_account="shiftdesk-support",
                recorded_by_id=tech.id or 0,
                recorded_at=T0,
            )
        )
    store.dispose()
    code, out, _ = run(sqlite_url, "close", str(number))
    assert code == 0
    assert out.splitlines() == [
        f"#{number} closed · its RSAA revoked (version 2)",
        "reminder: Remove the temporary account shiftdesk-support and the firewall rule for "
        "198.51.100.7 on srv01.customer.example.",
    ]


def test_show_lists_appointments_and_history_sentences(sqlite_url: str) -> None:
    number = _ticket(sqlite_url, TicketKind.TRAINING)
    store = Store(sqlite_url)
    with store.transaction() as s:
        customer = Customer(
            name="Jo", email="jo@customer.example", created_at=0.0, timezone="Asia/Kolkata"
        )
        s.add(customer)
        s.flush()
        ticket = s.get(Ticket, number)
        assert ticket is not None
        ticket.customer_id = customer.id
    schedule_appointment(
        store, number, actions.Actor("ana@example.com"), "2026-03-12 15:00", at=T0, note="demo"
    )
    store.dispose()
    code, out, _ = run(sqlite_url, "show", str(number))
    assert code == 0
    assert "session: Thu 2026-03-12 15:00 Asia/Kolkata, 60 min" in out
    assert "ana@example.com scheduled a session for Thu 2026-03-12 15:00 IST, 60 min." in out
    assert "{" not in out.split("--- history", 1)[1]
    code, out, _ = run(sqlite_url, "show", str(number), "--json")
    [appointment] = json.loads(out)["appointments"]
    assert appointment["customer_timezone"] == "Asia/Kolkata"
    assert appointment["note"] == "demo" and appointment["duration_minutes"] == 60


# --------------------------------------------------------------------------- racing processes

RACERS = 3


def _racer(db_url: str, email: str, number: int, barrier: Barrier, results: Any) -> None:
    runner = CliRunner()
    args = ["reply", str(number), "--body", f"answer from {email}", "--db", db_url, "--as", email]
    barrier.wait(timeout=60)
    outcome = runner.invoke(main, args)
    results.put((email, outcome.exit_code, outcome.stderr))


@pytest.mark.slow
def test_racing_reply_commands_mail_the_customer_once(db_url: str, tmp_path: Path) -> None:
    number = _ticket(db_url)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(RACERS)
    results = ctx.Queue()
    racers = [
        ctx.Process(target=_racer, args=(db_url, f"tech{i}@example.com", number, barrier, results))
        for i in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    try:
        outcomes = [results.get(timeout=120) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=30)
            if racer.is_alive():
                racer.kill()
    codes = sorted(code for _, code, _ in outcomes)
    assert codes == [0] + [1] * (RACERS - 1), outcomes
    assert all("already answered" in err for _, code, err in outcomes if code)
    store = Store(db_url)
    with store.session() as s:
        mails = s.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()
    store.dispose()
    assert mails == 1
