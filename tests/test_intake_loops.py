"""Loop safety at the gateway (RFC 3834): which mail becomes a ticket, which gets the "not
entitled" auto-reply, the global auto-reply cap, and the headers our auto-replies carry. Store
tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.mail.intake import IntakeResult, receive
from models.mail.outbox import build_email
from models.policy.config import Config, SmtpConfig
from models.store.db import Store
from models.store.tables import AuditEvent, OutboxEntry, Ticket
from tests.intake_support import CONFIG, RECEIVED, plain, seed

STRANGER = "Pat Stranger <pat@nowhere.example>"


def _receive(
    store: Store, raw: bytes, config: Config = CONFIG, at: float = RECEIVED
) -> IntakeResult:
    return receive(store, config, raw, received_at=at)


def _count(store: Store, table: type, *where: object) -> int:
    with store.session() as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _autoreplies(store: Store) -> list[OutboxEntry]:
    with store.session() as s:
        return list(
            s.execute(select(OutboxEntry).where(col(OutboxEntry.kind) == "autoreply")).scalars()
        )


def _skips(store: Store) -> list[str]:
    with store.session() as s:
        rows = s.execute(
            select(col(AuditEvent.detail)).where(col(AuditEvent.action) == "autoreply_skipped")
        ).scalars()
        return [
            json.loads(row)["reason"] if isinstance(row, str) else row["reason"] for row in rows
        ]


# a person may have written these: a ticket, but never an automatic answer
NO_AUTOREPLY = {
    "list-id": (plain(sender=STRANGER, List_Id="<users.lists.example>"), "list mail (List-Id)"),
    "precedence-bulk": (plain(sender=STRANGER, Precedence="bulk"), "Precedence: bulk"),
    "precedence-list": (plain(sender=STRANGER, Precedence="list"), "Precedence: list"),
    "suppress": (
        plain(sender=STRANGER, X_Auto_Response_Suppress="DR, RN, NRN, OOF, AutoReply"),
        "X-Auto-Response-Suppress",
    ),
    "noreply": (plain(sender="Shop <noreply@shop.example>"), "no-reply sender"),
    "do-not-reply": (plain(sender="do-not-reply@shop.example"), "no-reply sender"),
    "list-request": (plain(sender="users-request@lists.example"), "no-reply sender"),
}


@pytest.mark.parametrize("case", sorted(NO_AUTOREPLY))
def test_mail_nothing_may_answer_is_a_ticket_without_an_autoreply(store: Store, case: str) -> None:
    raw, reason = NO_AUTOREPLY[case]
    seed(store)
    result = _receive(store, raw)
    assert result.outcome == "new" and result.ticket_number is not None  # customer mail kept
    assert reason in (result.reason or "") and "no auto-reply" in result.line()
    assert _autoreplies(store) == []
    [skip] = _skips(store)
    assert reason in skip


# machine-made mail: never a ticket, never answered
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (plain(sender=STRANGER, subject="Automatic reply: Crash on save"), "out-of-office"),
        (plain(sender=STRANGER, subject="Out of Office: Crash on save"), "out-of-office"),
        (plain(sender=STRANGER, subject="Abwesenheitsnotiz: Crash"), "out-of-office"),
        (plain(sender=STRANGER, subject="Pat Stranger is out of the office."), "out-of-office"),
        (plain(sender=STRANGER, X_Loop="support@example.com"), "X-Loop"),
        (plain(sender=STRANGER, X_Loop="Support@Example.com (shiftdesk)"), "X-Loop"),
    ],
    ids=["automatic-reply", "out-of-office", "abwesenheitsnotiz", "lotus", "x-loop", "x-loop-2"],
)
def test_machine_mail_and_our_own_loop_make_no_ticket(
    store: Store, raw: bytes, reason: str
) -> None:
    seed(store)
    result = _receive(store, raw)
    assert result.outcome == "ignored" and reason in (result.reason or "")
    assert _count(store, Ticket) == 0 and _autoreplies(store) == []


def test_a_subject_that_merely_mentions_the_office_is_a_customers_message(store: Store) -> None:
    seed(store)
    result = _receive(store, plain(sender=STRANGER, subject="Out of office laptop won't boot"))
    assert result.outcome == "new" and len(_autoreplies(store)) == 1


def test_autoreply_goes_to_the_return_path(store: Store) -> None:
    seed(store)
    _receive(store, plain(sender=STRANGER, Return_Path="<bounce-7@mx.nowhere.example>"))
    [auto] = _autoreplies(store)
    assert auto.to_address == "bounce-7@mx.nowhere.example"


def test_spoofed_senders_get_at_most_the_hourly_cap(store: Store) -> None:
    seed(store)
    config = replace(CONFIG, smtp=replace(CONFIG.smtp, autoreply_per_hour=5))
    results: list[IntakeResult] = []
    for n in range(12):
        raw = plain(sender=f"victim{n}@spoofed.example", message_id=f"<spoof{n}@x.example>")
        results.append(_receive(store, raw, config, at=RECEIVED + n))
    assert all(r.outcome == "new" for r in results)  # every message is still a ticket
    assert len(_autoreplies(store)) == 5
    capped = [r for r in results if "cap of 5" in (r.reason or "")]
    assert len(capped) == 7 and len(_skips(store)) == 7
    # an hour after the first ones went out, the cap has room again
    later = _receive(
        store, plain(sender="late@spoofed.example", message_id="<late@x>"), config, RECEIVED + 3601
    )
    assert "no auto-reply" not in later.line() and len(_autoreplies(store)) == 6


def test_cap_zero_turns_auto_replies_off(store: Store) -> None:
    seed(store)
    config = replace(CONFIG, smtp=replace(CONFIG.smtp, autoreply_per_hour=0))
    result = _receive(store, plain(sender=STRANGER), config)
    assert result.outcome == "new" and "auto-replies are off" in (result.reason or "")
    assert _autoreplies(store) == []


def test_our_autoreply_carries_auto_submitted_and_our_x_loop(store: Store) -> None:
    seed(store)
    _receive(store, plain(sender=STRANGER))
    [auto] = _autoreplies(store)
    mail = build_email(auto, "Example Support <Support@Example.com>")
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Loop"] == "support@example.com"
    assert mail["In-Reply-To"] == "<m1@customer.example>"
    # and when it comes back (an autoresponder keeping headers), it is dropped as a loop
    echoed = plain(sender=STRANGER, message_id="<echo@x>", X_Loop=str(mail["X-Loop"]))
    assert _receive(store, echoed).outcome == "ignored"


def test_config_rejects_a_bad_cap(tmp_path: Path) -> None:
    from models.policy.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text("[smtp]\nautoreply_per_hour = -1\n")
    with pytest.raises(ConfigError, match=r"smtp\.autoreply_per_hour"):
        load_config(path)
    path.write_text("[smtp]\nautoreply_per_hour = 3\n")
    assert load_config(path).smtp == replace(SmtpConfig(), autoreply_per_hour=3)


def test_a_hundred_spoofed_senders_get_the_default_cap_of_twenty(store: Store) -> None:
    """The issue's figure: 100 spoofed senders got 100 auto-replies."""
    seed(store)
    assert CONFIG.smtp.autoreply_per_hour == 20
    for n in range(100):
        raw = plain(sender=f"victim{n}@spoofed.example", message_id=f"<s{n}@x.example>")
        assert _receive(store, raw, at=RECEIVED + n).outcome == "new"
    assert len(_autoreplies(store)) == 20 and len(_skips(store)) == 80
