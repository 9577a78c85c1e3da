"""RSAA rules (models.desk.rsaa) on SQLite and PostgreSQL, and the form validators."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from models.desk import actions, rsaa
from models.desk.actions import ActionError, Actor, Conflict
from models.desk.rsaa import (
    RsaaForm,
    RsaaInvalid,
    active_rsaa,
    list_rsaas,
    record_rsaa,
    revoke_rsaa,
    rsaa_age_text,
    validate,
    validate_field,
)
from models.policy.config import CompanyConfig, Config
from models.store.db import Store

ALICE = Actor("alice@example.com", "Alice")
BOB = Actor("bob@example.com", "Bob")
T0 = 1_700_000_000.0


def _ticket(store: Store, *, phone: bool = False) -> int:
    number = actions.create_ticket(
        store, subject="Server down", requester_email="jo@customer.example", received_at=T0
    )
    if phone:
        with store.transaction() as s:
            s.execute(
                text("UPDATE tickets SET phone_escalated = :t WHERE number = :n"),
                {"t": True, "n": number},
            )
    return number


def _form(number: int, **changes: object) -> RsaaForm:
    fields: dict[str, object] = dict(
        ticket=number,
        accepted_by_name="Jo Customer",
        accepted_by_email="Jo@Customer.example",
        server="app01.customer.example",
        method="rdp",
        temp_account="shiftdesk-support",
    )
    fields.update(changes)
    return RsaaForm(**fields)  # type: ignore[arg-type]


def _audit(store: Store, number: int) -> list[tuple[str, dict]]:
    with store.session() as s:
        rows = s.execute(
            text("SELECT action, detail FROM audit_events WHERE ticket_number = :n ORDER BY id"),
            {"n": number},
        ).all()
    return [(a, json.loads(d) if d else {}) for a, d in rows]


def _counts(store: Store) -> tuple[int, int, int]:
    with store.session() as s:
        return (
            s.execute(text("SELECT count(*) FROM rsaas")).scalar_one(),
            s.execute(text("SELECT count(*) FROM audit_events")).scalar_one(),
            s.execute(text("SELECT count(*) FROM change_log")).scalar_one(),
        )


# --------------------------------------------------------------------------- rules


def test_record_stores_the_agreement_and_audits_it(store: Store) -> None:
    number = _ticket(store)
    row = record_rsaa(
        store, _form(number, accepted_at=T0 + 60), ALICE, at=T0 + 120, expected_version=1
    )
    assert row.id is not None and row.revoked_at is None
    assert row.accepted_by_email == "jo@customer.example"
    assert row.source_ip == CompanyConfig().source_ip
    assert row.accepted_at == T0 + 60 and row.recorded_at == T0 + 120
    assert active_rsaa(store, number) is not None
    with store.session() as s:
        assert active_rsaa(s, number) is not None
        assert s.execute(text("SELECT version FROM tickets")).scalar() == 2
    action, detail = _audit(store, number)[-1]
    assert action == "rsaa_record" and detail["rsaa"] == row.id and detail["server"] == row.server


def test_source_ip_comes_from_the_config_and_accepted_at_defaults_to_now(store: Store) -> None:
    number = _ticket(store)
    config = Config(company=CompanyConfig(source_ip="2001:db8::10"))
    row = record_rsaa(store, _form(number), ALICE, config=config, at=T0 + 5)
    assert row.source_ip == "2001:db8::10" and row.accepted_at == T0 + 5
    assert RsaaForm.blank(number, config).source_ip == "2001:db8::10"


def test_one_active_per_ticket_with_a_message_naming_it(store: Store) -> None:
    number = _ticket(store)
    first = record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    before = _counts(store)
    with pytest.raises(ActionError, match=rf"#{number} already has an active RSAA \(#{first.id}"):
        record_rsaa(store, _form(number, server="10.0.0.5"), BOB, at=T0 + 2)
    assert _counts(store) == before


def test_the_database_index_refusal_gets_the_same_message(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = _ticket(store)
    first = record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    real = rsaa._active_in_session
    calls = {"n": 0}

    def blind_first_time(session, ticket_number):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else real(session, ticket_number)

    monkeypatch.setattr(rsaa, "_active_in_session", blind_first_time)
    before = _counts(store)
    with pytest.raises(ActionError, match=rf"already has an active RSAA \(#{first.id}"):
        record_rsaa(store, _form(number), BOB, at=T0 + 2)
    assert _counts(store) == before


def test_closed_ticket_is_refused(store: Store) -> None:
    number = _ticket(store)
    actions.close(store, number, ALICE, at=T0 + 1)
    before = _counts(store)
    with pytest.raises(ActionError, match="is closed"):
        record_rsaa(store, _form(number), ALICE, at=T0 + 2)
    assert _counts(store) == before


def test_unknown_ticket_and_stale_version(store: Store) -> None:
    number = _ticket(store)
    with pytest.raises(actions.NotFound):
        record_rsaa(store, _form(number + 100), ALICE)
    actions.take(store, number, BOB, at=T0 + 1)
    with pytest.raises(Conflict, match=r"bob@example\.com took it"):
        record_rsaa(store, _form(number), ALICE, expected_version=1, at=T0 + 2)
    assert active_rsaa(store, number) is None


def test_screen_share_needs_phone_escalation(store: Store) -> None:
    plain, phoned = _ticket(store), _ticket(store, phone=True)
    form = _form(plain, method="screen_share", tool_name="Zoom")
    with pytest.raises(ActionError, match="escalated to phone"):
        record_rsaa(store, form, ALICE, at=T0 + 1)
    row = record_rsaa(
        store, _form(phoned, method="screen_share", tool_name="Zoom"), ALICE, at=T0 + 1
    )
    assert row.method == "screen_share" and row.tool_name == "Zoom"
    assert active_rsaa(store, plain) is None


def test_revoke_records_who_when_why_and_reminds(store: Store) -> None:
    number = _ticket(store)
    row = record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    assert row.id is not None
    result = revoke_rsaa(store, row.id, BOB, "customer_asked", note="asked by phone", at=T0 + 99)
    assert result.rsaa.revoked_at == T0 + 99 and result.rsaa.revoke_reason == "customer_asked"
    assert result.reminder == (
        "Remove the temporary account shiftdesk-support and the firewall rule for 203.0.113.10"
        " on app01.customer.example."
    )
    [listed] = list_rsaas(store)
    assert (listed.revoked_by, listed.recorded_by) == ("bob@example.com", "alice@example.com")
    assert list_rsaas(store, active_only=True) == []
    action, detail = _audit(store, number)[-1]
    assert action == "rsaa_revoke"
    assert detail == {"rsaa": row.id, "reason": "customer_asked", "note": "asked by phone"}
    # a new agreement may follow a revoked one
    record_rsaa(store, _form(number), ALICE, at=T0 + 100)


def test_revoking_twice_or_with_a_bad_reason_is_refused(store: Store) -> None:
    number = _ticket(store)
    row = record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    assert row.id is not None
    with pytest.raises(RsaaInvalid, match="reason"):
        revoke_rsaa(store, row.id, BOB, "bored")
    revoke_rsaa(store, row.id, BOB, "work_finished", at=T0 + 2)
    before = _counts(store)
    with pytest.raises(ActionError, match=r"already revoked .* by bob@example.com \(work_finished"):
        revoke_rsaa(store, row.id, ALICE, "customer_asked", at=T0 + 3)
    with pytest.raises(actions.NotFound):
        revoke_rsaa(store, 9999, ALICE, "customer_asked")
    with pytest.raises(RsaaInvalid, match="password"):
        revoke_rsaa(store, row.id, ALICE, "customer_asked", note="pwd=hunter2")
    assert _counts(store) == before


def test_close_revokes_in_the_same_transaction_and_reopen_never_revives(store: Store) -> None:
    number = _ticket(store)
    row = record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    actions.close(store, number, BOB, at=T0 + 50)
    [listed] = list_rsaas(store)
    assert listed.revoked_at == T0 + 50 and listed.revoke_reason == "ticket_closed"
    assert listed.revoked_by == "bob@example.com"
    actions.reopen(store, number, BOB, at=T0 + 60)
    assert active_rsaa(store, number) is None
    assert [a for a, _ in _audit(store, number)] == [
        "create",
        "rsaa_record",
        "rsaa_revoke",
        "close",
        "reopen",
    ]
    assert row.id is not None
    with pytest.raises(ActionError, match="already revoked"):
        revoke_rsaa(store, row.id, BOB, "work_finished")


def test_close_rolls_back_the_revoke_when_it_fails(store: Store) -> None:
    number = _ticket(store)
    record_rsaa(store, _form(number), ALICE, at=T0 + 1)
    with pytest.raises(Conflict):
        actions.close(store, number, BOB, expected_version=1)
    assert active_rsaa(store, number) is not None


def test_invalid_form_saves_nothing(store: Store) -> None:
    number = _ticket(store)
    before = _counts(store)
    with pytest.raises(RsaaInvalid) as info:
        record_rsaa(
            store,
            _form(number, server="http://x", accepted_by_email="nope", notes="password: hunter2"),
            ALICE,
        )
    assert set(info.value.errors) == {"server", "accepted_by_email", "notes"}
    assert "\n" not in str(info.value)
    with pytest.raises(RsaaInvalid, match="accepted before"):
        record_rsaa(store, _form(number, accepted_at=T0 - 3600), ALICE, at=T0 + 1)
    assert _counts(store) == before


def test_list_shows_customer_and_method(store: Store) -> None:
    number = _ticket(store, phone=True)
    record_rsaa(store, _form(number, method="tool", tool_name="AnyDesk"), ALICE, at=T0 + 1)
    [row] = list_rsaas(store)
    assert row.customer == "jo@customer.example" and row.method_text == "tool: AnyDesk"
    assert row.active and row.ticket == number and row.ticket_status == "open"


def test_age_text() -> None:
    row = rsaa.RsaaRow(
        id=1,
        ticket=1,
        ticket_status="open",
        customer="c",
        server="s",
        method="rdp",
        tool_name=None,
        source_ip="203.0.113.10",
        temp_account=None,
        accepted_by_name="n",
        accepted_by_email="e@x.example",
        accepted_at=T0,
        recorded_at=T0,
        recorded_by="t@x",
    )
    assert rsaa_age_text(row, T0 + 2 * 3600 + 10 * 60) == "active for 2h 10m"
    assert rsaa_age_text(row, T0 + 30) == "active for <1m"
    assert rsaa_age_text(row, T0 + 3 * 86400 + 4 * 3600) == "active for 3d 4h"
    revoked = rsaa.RsaaRow(**{**row.__dict__, "revoked_at": T0 + 60})
    assert rsaa_age_text(revoked, T0 + 60 + 42 * 60) == "revoked 42m ago"


# --------------------------------------------------------------------------- validators


@pytest.mark.parametrize(
    "host",
    [
        "srv01",
        "app01.customer.example",
        "a-b.example.com.",
        "10.0.0.5",
        "203.0.113.10",
        "2001:db8::5",
        "[2001:db8::5]",
        "::1",
        "fe80::1",
    ],
)
def test_good_hosts(host: str) -> None:
    assert validate_field("server", host) is None


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("", "enter"),
        ("srv 01", "not a valid host name"),
        ("-srv", "not a valid host name"),
        ("srv_01", "not a valid host name"),
        ("rdp://srv01", "not a URL"),
        ("srv01:3389", "port"),
        ("999.1.1.1", "IPv4"),
        ("10.0.0", "IPv4"),
        ("2001:db8:::5", "IPv6"),
        ("a" * 64, "host name"),
    ],
)
def test_bad_hosts(host: str, fragment: str) -> None:
    error = validate_field("server", host)
    assert error is not None and fragment in error


@pytest.mark.parametrize("email", ["jo@customer.example", "Jo.Smith+it@mail.customer.co.uk"])
def test_good_emails(email: str) -> None:
    assert validate_field("accepted_by_email", email) is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "jo",
        "jo@",
        "@customer.example",
        "jo@customer",
        "jo smith@customer.example",
        "jo@@customer.example",
        "jo@-bad.example",
    ],
)
def test_bad_emails(email: str) -> None:
    assert validate_field("accepted_by_email", email) is not None


@pytest.mark.parametrize("ip", ["203.0.113.10", "10.0.0.1", "2001:db8::10", "::1"])
def test_good_ips(ip: str) -> None:
    assert validate_field("source_ip", ip) is None


@pytest.mark.parametrize(
    "ip", ["", "203.0.113", "256.0.0.1", "2001:db8::g", "example.com", "10.0.0.0/24"]
)
def test_bad_ips(ip: str) -> None:
    assert validate_field("source_ip", ip) is not None


@pytest.mark.parametrize(
    "notes",
    [
        "password: hunter2",
        "Password=abc",
        "pwd=secret",
        "pass Hunter2!",
        "the password is tiger",
        "login admin / pass 1234",
        "PIN: 4321",
        "kennwort: geheim",
        "pw=x",
    ],
)
def test_password_looking_notes_are_rejected(notes: str) -> None:
    error = validate_field("notes", notes)
    assert error is not None and "never stores credentials" in error


@pytest.mark.parametrize(
    "notes",
    [
        "",
        "Customer will pass the ticket to their IT team",
        "password reset is on them",
        "Use the VPN first; firewall opened for our IP",
        None,
    ],
)
def test_ordinary_notes_are_fine(notes: str | None) -> None:
    assert validate_field("notes", notes) is None


@pytest.mark.parametrize(
    "account", ["shiftdesk-support", "CORP\\shiftdesk", "svc.help$", "tech@corp.example", None, ""]
)
def test_good_temp_accounts(account: str | None) -> None:
    assert validate_field("temp_account", account) is None


@pytest.mark.parametrize(
    ("account", "fragment"),
    [
        ("admin:hunter2", "no password"),
        ("admin pass123", "no password"),
        ("admin password=x", "no password"),
        ("-rf", "plausible"),
        ("a" * 105, "longer"),
    ],
)
def test_bad_temp_accounts(account: str, fragment: str) -> None:
    error = validate_field("temp_account", account)
    assert error is not None and fragment in error


def test_cross_field_rules_and_unknown_fields() -> None:
    assert validate(_form(1)) == {}
    assert "tool_name" in validate(_form(1, method="tool"))
    assert "tool_name" in validate(_form(1, method="screen_share", tool_name="  "))
    assert validate(_form(1, method="tool", tool_name="TeamViewer")) == {}
    assert "method" in validate(_form(1, method="ssh"))
    assert "accepted_at" in validate(_form(1, accepted_at=T0 + 3600), now=T0)
    assert validate(_form(1, accepted_at=T0 + 60), now=T0) == {}
    assert validate_field("ticket", 0) is not None
    assert validate_field("accepted_by_name", "  ") is not None
    with pytest.raises(KeyError):
        validate_field("password", "x")
    assert not hasattr(RsaaForm(1, "a", "b", "c", "rdp"), "password")
