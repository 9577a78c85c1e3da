"""Canned replies and signatures in the store (SQLite and PostgreSQL): validation, variables,
the optimistic lock, one audit event per write, and rendering that never fails."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.desk import canned
from models.desk.actions import Actor, NotFound
from models.desk.canned import (
    CannedConflict,
    CannedExists,
    CannedInvalid,
    CannedVariables,
    add_canned,
    check_body,
    edit_canned,
    get_canned,
    list_canned,
    remove_canned,
    render,
)
from models.store.db import Store
from models.store.tables import AuditEvent, CannedReply

ANA = Actor("ana@example.com", "Ana Lima")
BOB = Actor("bob@example.com")
T0 = dt.datetime(2026, 3, 4, 10, 30, tzinfo=ZoneInfo("America/Phoenix")).timestamp()


def _events(store: Store, action: str) -> list[dict[str, object]]:
    with store.session() as session:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).scalars()
        return [json.loads(row.detail or "{}") | {"actor": row.actor} for row in rows]


def _count(store: Store) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count()).select_from(CannedReply)).scalar_one())


def test_add_list_get_edit_remove(store: Store) -> None:
    added = add_canned(store, " RSAA request ", "Hello {customer},\nplease sign.", ANA, at=T0)
    assert (added.name, added.version, added.created_by) == ("RSAA request", 1, "ana@example.com")
    add_canned(store, "apology", "Sorry, {customer}.", BOB, at=T0)
    assert [c.name for c in list_canned(store)] == ["apology", "RSAA request"]
    assert get_canned(store, "rsaa REQUEST").id == added.id  # names ignore case

    edited = edit_canned(store, "RSAA request", BOB, body="New {ticket}", expected_version=1)
    assert (edited.body, edited.version, edited.created_by) == ("New {ticket}", 2, ANA.email)
    renamed = edit_canned(store, "rsaa request", BOB, new_name="RSAA")
    assert (renamed.name, renamed.version) == ("RSAA", 3)

    removed = remove_canned(store, "RSAA", ANA, expected_version=3)
    assert removed.body == "New {ticket}"
    assert [c.name for c in list_canned(store)] == ["apology"]
    with pytest.raises(NotFound, match="no canned reply named 'RSAA'"):
        get_canned(store, "RSAA")

    assert [e["name"] for e in _events(store, "canned_add")] == ["RSAA request", "apology"]
    edits = _events(store, "canned_edit")
    assert [(e["version"], e["renamed_from"]) for e in edits] == [(2, None), (3, "rsaa request")]
    assert _events(store, "canned_remove") == [
        {"actor": ANA.email, "canned": added.id, "name": "RSAA", "body": "New {ticket}"}
    ]


def test_a_stale_version_is_refused_and_nothing_changes(store: Store) -> None:
    add_canned(store, "legacy", "Please update to the latest version.", ANA)
    edit_canned(store, "legacy", BOB, body="Please update, {customer}.")
    with pytest.raises(CannedConflict, match=r"changed since you loaded it \(version 1, now 2\)"):
        edit_canned(store, "legacy", ANA, body="mine", expected_version=1)
    with pytest.raises(CannedConflict):
        remove_canned(store, "legacy", ANA, expected_version=1)
    kept = get_canned(store, "legacy")
    assert (kept.body, kept.version) == ("Please update, {customer}.", 2)
    assert len(_events(store, "canned_edit")) == 1 and not _events(store, "canned_remove")


def test_names_are_unique_ignoring_case(store: Store) -> None:
    add_canned(store, "Forum", "Ask the forum.", ANA)
    add_canned(store, "other", "Other.", ANA)
    with pytest.raises(CannedExists, match="'Forum' already exists"):
        add_canned(store, "forum", "again", BOB)
    with pytest.raises(CannedExists):
        edit_canned(store, "other", BOB, new_name="FORUM")
    assert _count(store) == 2 and len(_events(store, "canned_add")) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "the body is empty"),
        ("  \n\t ", "the body is empty"),
        ("x" * (canned.MAX_BODY_CHARS + 1), "too long"),
        ("Dear {name},", r"unknown variable \{name\} at line 1 column 6"),
        ("Hi\n{customer.name}", r"unknown variable \{customer.name\} at line 2 column 1"),
        ("{deadline:%Y}", "unknown variable"),
        ("{customer!r}", "unknown variable"),
        ("{}", "unknown variable"),
        ("a { b", "a lone '{' at line 1 column 3: write {{"),
        ("a } b", "a lone '}' at line 1 column 3: write }}"),
        ("{{customer}", "a lone '}'"),
        ("bell\x07", "control character at line 1 column 5"),
        ("esc \x1b[31m red", "control character"),
        ("the password is Hunter2!", "never stores credentials"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_written(
    store: Store, body: str, message: str
) -> None:
    with pytest.raises(CannedInvalid, match=message):
        add_canned(store, "x", body, ANA)
    assert _count(store) == 0 and not _events(store, "canned_add")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * 81, "too long"),
        ("two\nlines", "one line"),
        ("tab\there", "one line"),
        ("esc\x1b", "one line"),
        ("--body", "starts with '-'"),
    ],
)
def test_bad_names_are_refused(store: Store, name: str, message: str) -> None:
    with pytest.raises(CannedInvalid, match=message):
        add_canned(store, name, "body", ANA)
    assert _count(store) == 0


def test_edit_needs_something_to_change(store: Store) -> None:
    add_canned(store, "a", "body", ANA)
    with pytest.raises(CannedInvalid, match="nothing to change"):
        edit_canned(store, "a", ANA)
    with pytest.raises(CannedInvalid, match="unknown variable"):
        edit_canned(store, "a", ANA, body="{oops}")
    with pytest.raises(NotFound):
        edit_canned(store, "missing", ANA, body="x")
    assert get_canned(store, "a").version == 1


VARS = CannedVariables(
    customer="Chloé {ticket} Dubois",
    ticket=42,
    technician="Ana Lima",
    deadline_at=T0 + 4 * 3600,
    zone="Europe/Paris",
)


def test_render_fills_variables_and_keeps_customer_braces_literal() -> None:
    body = check_body("Dear {customer},\n#{{42}} is {ticket}; answer by {deadline}.\n{technician}")
    assert render(body, VARS) == (
        "Dear Chloé {ticket} Dubois,\n#{42} is #42; answer by Wednesday 4 March 2026, 22:30 CET."
        "\nAna Lima"
    )


def test_render_never_fails_on_a_body_stored_unchecked() -> None:
    assert render("{nope} { } {customer} }{", VARS) == "{nope} { } Chloé {ticket} Dubois }{"


def test_customer_text_is_made_safe() -> None:
    hostile = CannedVariables("Eve\x1b]0;pwned\x07\nSmith", 1, "Ana", T0, "UTC")
    assert render("{customer}", hostile) == "Eve␛]0;pwned␇ Smith"


def test_deadline_in_the_customers_zone_else_the_company_zone() -> None:
    def zone(customer_zone: str | None) -> str:
        return canned.variables_for(
            ticket=1,
            customer_name=None,
            requester_email="jo@example.com",
            customer_zone=customer_zone,
            company_zone="America/Phoenix",
            technician="Ana",
            deadline_at=T0,
        ).zone

    assert zone("Asia/Kolkata") == "Asia/Kolkata"
    assert zone("Mars/Olympus") == "America/Phoenix"
    assert zone(None) == "America/Phoenix"
    assert canned.deadline_text(T0, "America/Phoenix") == "Wednesday 4 March 2026, 10:30 MST"
    assert canned.deadline_text(T0, "Asia/Kolkata") == "Wednesday 4 March 2026, 23:00 IST"
    assert (
        canned.deadline_text(T0, "America/Sao_Paulo") == "Wednesday 4 March 2026, 14:30 UTC-03:00"
    )


BRACES = st.lists(
    st.sampled_from(["{customer}", "{ticket}", "{deadline}", "{{", "}}", "{", "}", "x", "\n"]),
    max_size=12,
).map("".join)


@given(st.one_of(BRACES, st.text(max_size=80)))
def test_checking_refuses_cleanly_and_rendering_never_fails(body: str) -> None:
    with contextlib.suppress(CannedInvalid):  # the only way a body is refused
        check_body(body)
    assert isinstance(render(body, VARS), str)


@given(st.text(max_size=60))
def test_any_customer_name_is_inserted_literally(name: str) -> None:
    variables = CannedVariables(name, 7, "Ana", T0, "UTC")
    body = check_body("Dear {customer}, {{ticket}} is {ticket}.")
    assert render(body, variables) == f"Dear {canned.safe_line(name)}, {{ticket}} is #7."


def test_signature_set_show_clear(store: Store) -> None:
    assert canned.get_signature(store, ANA) is None
    assert canned.clear_signature(store, ANA) is False
    stored = canned.set_signature(store, ANA, "\n\nAna Lima  \r\nSupport {team}\n\n")
    assert stored == "Ana Lima\nSupport {team}"  # literal: braces are no variables here
    assert canned.get_signature(store, Actor("ANA@example.com")) == stored
    assert canned.get_signature(store, BOB) is None
    assert canned.clear_signature(store, ANA) is True
    assert canned.get_signature(store, ANA) is None
    assert [e["replaced"] for e in _events(store, "signature_set")] == [False]
    assert len(_events(store, "signature_clear")) == 1


@pytest.mark.parametrize(
    ("signature", "message"),
    [("", "empty"), ("x" * 2001, "too long"), ("a\x1b", "control"), ("pwd=Secret123", "cred")],
)
def test_bad_signatures_are_refused(store: Store, signature: str, message: str) -> None:
    canned.set_signature(store, ANA, "kept")
    with pytest.raises(CannedInvalid, match=message):
        canned.set_signature(store, ANA, signature)
    assert canned.get_signature(store, ANA) == "kept"


def test_with_signature_appends_once() -> None:
    signed = canned.with_signature("Thanks!\n\n", "Ana\nACME")
    assert signed == "Thanks!\n\n-- \nAna\nACME\n"
    assert canned.with_signature(signed, "Ana\nACME") == signed
    assert canned.with_signature("Thanks!", None) == "Thanks!"
    assert canned.only_signature(canned.signature_block("Ana"), "Ana")
    assert canned.only_signature("  \n", None)
    assert not canned.only_signature("Hi" + canned.signature_block("Ana"), "Ana")


def test_the_deadline_never_promises_a_past_time() -> None:
    from models.clock.calendar import BusinessCalendar
    from models.clock.sla import SlaPolicy
    from models.policy.config import Config

    config = Config()
    policy = SlaPolicy(BusinessCalendar.from_config(config.calendar), config.sla)
    ahead = T0 + 3600
    assert canned.reply_deadline(ahead, T0, policy) == ahead
    for running in (None, T0 - 60):
        assert canned.reply_deadline(running, T0, policy) == policy.deadline("standard", T0)
        assert policy.deadline("standard", T0) > T0


def test_the_demo_canned_replies_pass_the_checks() -> None:
    from models.demo.demo import DEMO_CANNED

    for name, body in DEMO_CANNED:
        assert canned.check_name(name) == name
        assert canned.check_body(body) == body
    assert len({name.lower() for name, _ in DEMO_CANNED}) == len(DEMO_CANNED)
