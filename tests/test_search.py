"""Ticket search in the store (models.store.search, migration 0006), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from models.desk import actions, work
from models.desk.actions import Actor
from models.store.db import Store
from models.store.search import (
    EMPTY_HINT,
    SearchError,
    fts5_match,
    parse_query,
    pg_tsquery,
    search,
    search_numbers,
)
from models.store.tables import Customer, CustomerAddress, License, Product

ME = Actor("alex@shiftdesk.example", "Alex Rivera")
NOW = 1_772_000_000.0


def _world(store: Store) -> dict[str, int]:
    """Two customers, one with a license; a few tickets, one of them closed."""
    with store.transaction() as session:
        acme = Customer(
            name="Bob Åkesson",
            email="bob@acme.example",
            organization="Acme Rockets",
            created_at=NOW,
        )
        other = Customer(
            name="Carol Diaz", email="carol@zenith.example", organization="Zenith", created_at=NOW
        )
        product = Product(name="Helpdesk Server", latest_version="9.4.2")
        session.add_all([acme, other, product])
        session.flush()
        assert acme.id and other.id and product.id
        session.add_all(
            [
                CustomerAddress(customer_id=acme.id, email="bob@acme.example"),
                CustomerAddress(customer_id=other.id, email="carol@zenith.example"),
                License(
                    key="HD-7Q2X-99KL-0042",
                    customer_id=acme.id,
                    product_id=product.id,
                    version_in_use="9.4.2",
                    purchased_on="2025-01-01",
                    ms_expires_on="2026-12-31",
                ),
            ]
        )
        ids = {"acme": acme.id, "other": other.id}

    def ticket(subject: str, body: str, customer: str, email: str, at: float) -> int:
        return actions.create_ticket(
            store,
            subject=subject,
            body=body,
            requester_email=email,
            customer_id=ids[customer],
            received_at=at,
            entitlement="license",
        )

    made = {
        "ldap": ticket(
            "LDAP sync fails", "The nightly sync hits a timeout.", "acme", "bob@acme.example", NOW
        ),
        "printer": ticket(
            "Printer queue stuck",
            "Spooler shows 'paper jam' forever.",
            "other",
            "carol@zenith.example",
            NOW + 10,
        ),
        "closed": ticket(
            "Old upgrade question",
            "Can we skip 8.x when upgrading? quokka",
            "other",
            "carol@zenith.example",
            NOW + 20,
        ),
    }
    actions.close(store, made["closed"], ME, at=NOW + 30)
    return made


def numbers(store: Store, query: str, limit: int = 500) -> list[int]:
    with store.session() as session:
        return search_numbers(session, query, limit=limit).numbers


def test_finds_every_field_open_and_closed(store: Store) -> None:
    t = _world(store)
    assert numbers(store, "ldap") == [t["ldap"]]  # subject, any case
    assert numbers(store, "spooler") == [t["printer"]]  # body
    assert numbers(store, "quokka") == [t["closed"]]  # a closed ticket's body
    assert numbers(store, "åkesson") == [t["ldap"]]  # customer name
    # accents are folded on SQLite (unicode61); PostgreSQL's 'simple' config keeps them
    assert numbers(store, "Akesson") == ([t["ldap"]] if store.dialect == "sqlite" else [])
    assert numbers(store, "rockets") == [t["ldap"]]  # organisation
    assert numbers(store, "bob@acme.example") == [t["ldap"]]  # email typed exactly
    assert numbers(store, "acme.example") == [t["ldap"]]  # part of an address
    assert numbers(store, "HD-7Q2X-99KL-0042") == [t["ldap"]]  # license key typed exactly
    assert numbers(store, "hd-7q2x-99kl-0042") == [t["ldap"]]
    assert numbers(store, "zenith") == [t["closed"], t["printer"]]  # newest first
    assert numbers(store, "zenith spooler") == [t["printer"]]  # every word, across fields
    assert numbers(store, '"paper jam"') == [t["printer"]]
    assert numbers(store, '"jam paper"') == []
    assert numbers(store, "spool*") == [t["printer"]]
    assert numbers(store, "spool") == []  # whole words unless `*`
    assert numbers(store, "nowhere") == []


def test_hash_number_is_that_ticket_exactly(store: Store) -> None:
    made = [
        actions.create_ticket(
            store, subject=f"t{i}", requester_email="x@y.example", received_at=NOW + i
        )
        for i in range(12)
    ]
    assert made[0] == 1 and made[-1] == 12
    assert numbers(store, "#1") == [1]  # not #10, #11, #12
    assert numbers(store, " # 12 ") == [12]
    assert numbers(store, "#99") == []


def test_index_follows_every_writer(store: Store) -> None:
    t = _world(store)
    work.note(store, t["printer"], ME, "Spoke to them: firmware wombat issue", at=NOW + 40)
    assert numbers(store, "wombat") == [t["printer"]]
    with store.transaction() as session:
        session.execute(text("UPDATE customers SET name = 'Roberta Smith' WHERE name LIKE 'Bob%'"))
    assert numbers(store, "roberta") == [t["ldap"]]
    assert numbers(store, "akesson") == []
    with store.transaction() as session:
        customer_id = session.execute(
            text("SELECT id FROM customers WHERE email = 'carol@zenith.example'")
        ).scalar_one()
        session.add(CustomerAddress(customer_id=customer_id, email="cd@branch.example"))
    assert numbers(store, "cd@branch.example") == [t["closed"], t["printer"]]
    with store.transaction() as session:
        session.execute(text("UPDATE licenses SET key = 'HD-NEW0-0000-0001'"))
    assert numbers(store, "HD-NEW0-0000-0001") == [t["ldap"]]
    assert numbers(store, "HD-7Q2X-99KL-0042") == []
    with store.transaction() as session:
        session.execute(text("DELETE FROM messages WHERE body LIKE '%wombat%'"))
    assert numbers(store, "wombat") == []
    # an action's version bump leaves the index alone, and the ticket still found
    actions.take(store, t["ldap"], ME, at=NOW + 50)
    assert numbers(store, "ldap") == [t["ldap"]]


def test_a_bulk_seed_is_indexed_and_leaves_the_index_live(store: Store) -> None:
    from models.demo.demo import seed_bulk

    made = seed_bulk(store, 30, now=NOW, batch=12, replies=2)  # three batches
    assert made == 30
    with store.session() as session:
        every = list(session.execute(text("SELECT number FROM tickets ORDER BY number")).scalars())
        bodies = session.execute(text("SELECT ticket_number, body FROM messages")).all()
    refs = [(number, body) for number, body in bodies if "INC" in body]
    assert len(every) == 30 and len(bodies) == 90 and len({n for n, _ in refs}) > 10
    for number, body in refs:  # a seeded reply may name a rare INC<number * 7> reference
        assert f"INC{number * 7}" in body
        assert numbers(store, f"INC{number * 7}") == [number]
    # the triggers are back (SQLite drops them while loading): later writes are indexed
    later = actions.create_ticket(
        store, subject="platypus after the seed", requester_email="x@y.example", received_at=NOW
    )
    work.note(store, every[0], ME, "a numbat in the logs", at=NOW + 1)
    assert numbers(store, "platypus") == [later]
    assert numbers(store, "numbat") == [every[0]]


def test_limit_says_there_were_more_and_hits_carry_a_snippet(store: Store) -> None:
    for i in range(5):
        actions.create_ticket(
            store,
            subject=f"Ticket {i}",
            body=f"Line one.\nThe backup job failed again, run {i}.\nBye",
            requester_email="x@y.example",
            received_at=NOW + i,
        )
    with store.session() as session:
        found = search_numbers(session, "backup", limit=3)
        hits, more = search(session, "backup failed", limit=2)
    assert found.numbers == [5, 4, 3] and found.more
    assert [h.number for h in hits] == [5, 4] and more
    assert "backup job failed again, run 4" in hits[0].snippet
    assert "\n" not in hits[0].snippet


HOSTILE = [
    '"',
    '""',
    'a"b',
    "AND",
    "OR NOT",
    "NEAR(a b)",
    "document:ldap",
    "(ldap",
    "ldap)",
    "^ldap",
    "ldap*",
    "*",
    "'",
    "\\",
    "a & b | !c",
    "ldap:*",
    "a <-> b",
    "x'); DROP TABLE tickets; --",
    "{document}: x",
    "+-",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_break_the_grammar(store: Store, query: str) -> None:
    _world(store)
    try:
        numbers(store, query)
    except SearchError as exc:
        assert str(exc) == EMPTY_HINT
    with store.session() as session:  # the store is intact
        assert session.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 3


@pytest.mark.parametrize("query", ["", "   ", "...", "#", "@-@", '"  "', "*", "_"])
def test_nothing_to_search_for_is_a_clear_refusal(query: str) -> None:
    with pytest.raises(SearchError, match="nothing to search for"):
        parse_query(query)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_text_parses_to_quoted_letters_and_digits(query: str) -> None:
    try:
        parsed = parse_query(query)
    except SearchError:
        return
    for phrase in parsed.phrases:
        assert phrase.parts and all(part.isalnum() for part in phrase.parts)
    if parsed.number is None:
        assert fts5_match(parsed).count('"') == 2 * len(parsed.phrases)
        assert "'" not in "".join(p for ph in parsed.phrases for p in ph.parts)
        assert pg_tsquery(parsed)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30))
def test_any_text_is_a_query_the_store_accepts(store: Store, query: str) -> None:
    """Whatever is typed: hits or a SearchError, never a database error (both backends)."""
    with contextlib.suppress(SearchError):
        numbers(store, query.replace("\x00", ""))


def test_search_uses_the_index(store: Store) -> None:
    """Speed figures live in bench/search_bench.py; here: the query the code runs reads the
    search index (the GIN index on PostgreSQL, even where a scan looks cheaper)."""
    from models.store.search import PG_SEARCH, SQLITE_SEARCH

    _world(store)
    with store.session() as session:
        cursor = session.connection().connection.cursor()
        if store.dialect == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # 3 tickets: a scan is cheaper
            cursor.execute("EXPLAIN " + PG_SEARCH, ("'ldap'", 10))
            assert "ix_ticket_search_document" in str(cursor.fetchall())
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + SQLITE_SEARCH, ('"ldap"', 10))
            assert "VIRTUAL TABLE INDEX" in str(cursor.fetchall())
