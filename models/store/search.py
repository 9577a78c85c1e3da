"""Ticket search in the store: SQLite FTS5 / PostgreSQL full text (migration 0006).

Each ticket has one search document kept in step by triggers (see the migration): subject,
requester, customer name / email / organisation / addresses, license keys, every message body.
Open and closed tickets alike.

Query syntax (the same for the `/` box and `shiftdesk search`):
- `#N` alone: exactly ticket N (not #N0-#N9).
- otherwise words, all of which must appear in the ticket; case and accents are ignored;
- a word with punctuation is a phrase of its parts: `bob@acme.example`, `acme.example`,
  `HD-1234-ABCD` match those parts in that order, so an address or a license key typed exactly
  finds its tickets, and part of an address does too;
- `"two words"` is a phrase; a trailing `*` makes the last part a prefix (`print*`).

User text never reaches the FTS grammar: words are cut into letter/digit runs here and each run
is quoted, so no input can raise a syntax error; input with no letters or digits is refused with
a `SearchError` saying what to type.

Results are newest first (highest ticket number first), not by relevance: the newest matching
thread is nearly always the one a technician is after, and both indexes can stop after `limit`
hits in ticket-number order, where ranking by relevance has to score every match (a common word
matches most of the 100k tickets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from models.policy.sanitize import safe_line


class SearchError(ValueError):
    """The query has nothing to search for; the message says what to type."""


# what both backends treat as a word: letters and digits (FTS5 unicode61 splits on everything
# else, `_` included; the PostgreSQL document has its punctuation turned into spaces)
_RUN = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]*)"?|(\S+)')
_NUMBER = re.compile(r"#\s*(\d{1,18})")


@dataclass(frozen=True)
class Phrase:
    parts: tuple[str, ...]  # lower-case letter/digit runs, in order
    prefix: bool = False  # the last part is a prefix


@dataclass(frozen=True)
class ParsedQuery:
    number: int | None  # `#N`: exactly this ticket
    phrases: tuple[Phrase, ...]


EMPTY_HINT = "nothing to search for: type words, an email, a license key or #number"


def parse_query(text: str) -> ParsedQuery:
    """Cut `text` into phrases (raises SearchError when there is nothing to search for)."""
    stripped = text.strip()
    exact = _NUMBER.fullmatch(stripped)
    if exact:
        return ParsedQuery(int(exact.group(1)), ())
    phrases: list[Phrase] = []
    for match in _TERM.finditer(stripped):
        word = match.group(1) if match.group(1) is not None else match.group(2)
        parts = tuple(run.lower() for run in _RUN.findall(word))
        if parts:
            phrases.append(Phrase(parts, prefix=word.rstrip().endswith("*")))
    if not phrases:
        raise SearchError(EMPTY_HINT)
    return ParsedQuery(None, tuple(phrases))


def fts5_match(query: ParsedQuery) -> str:
    """The FTS5 MATCH expression: each phrase quoted (parts are letters and digits only)."""
    return " AND ".join(
        '"' + " ".join(phrase.parts) + '"' + ("*" if phrase.prefix else "")
        for phrase in query.phrases
    )


def pg_tsquery(query: ParsedQuery) -> str:
    """The to_tsquery('simple', ...) text: parts quoted as lexemes, `<->` within a phrase."""
    phrases = []
    for phrase in query.phrases:
        lexemes = [f"'{part}'" for part in phrase.parts]
        if phrase.prefix:
            lexemes[-1] += ":*"
        phrases.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(phrases)


@dataclass(frozen=True)
class SearchHit:
    number: int
    status: str
    subject: str
    customer: str
    snippet: str  # one line around the first match in a message body ("" if it is elsewhere)


@dataclass(frozen=True)
class SearchResult:
    numbers: list[int]  # newest first
    more: bool  # more than `limit` tickets matched


SQLITE_SEARCH = "SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
# always through the GIN index: with a small LIMIT the planner may walk the primary key backwards
# testing every document, which for a rare word is the whole table (365 ms at 100k tickets,
# against ~7 ms through the index)
PG_SEARCH = (
    "WITH hits AS MATERIALIZED (SELECT ticket_number FROM ticket_search"
    " WHERE document @@ to_tsquery('simple', %s))"
    " SELECT ticket_number FROM hits ORDER BY ticket_number DESC LIMIT %s"
)


def search_numbers(session: Session, text: str, *, limit: int = 500) -> SearchResult:
    """The matching ticket numbers, newest first, at most `limit` (raises SearchError)."""
    query = parse_query(text)
    cursor = session.connection().connection.cursor()
    postgres = session.get_bind().dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    try:
        if query.number is not None:
            cursor.execute(f"SELECT number FROM tickets WHERE number = {mark}", (query.number,))
        elif postgres:
            cursor.execute(PG_SEARCH, (pg_tsquery(query), limit + 1))
        else:
            cursor.execute(SQLITE_SEARCH, (fts5_match(query), limit + 1))
        numbers = [int(row[0]) for row in cursor.fetchall()]
    finally:
        cursor.close()
    return SearchResult(numbers[:limit], len(numbers) > limit)


def search(session: Session, text: str, *, limit: int = 20) -> tuple[list[SearchHit], bool]:
    """Hits with subject, customer and a snippet, newest first; and whether there were more."""
    found = search_numbers(session, text, limit=limit)
    if not found.numbers:
        return [], False
    query = parse_query(text)
    cursor = session.connection().connection.cursor()
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    marks = ", ".join([mark] * len(found.numbers))
    try:
        cursor.execute(
            "SELECT t.number, t.status, t.subject, coalesce(c.name, t.requester_email)"
            " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
            f" WHERE t.number IN ({marks})",
            found.numbers,
        )
        tickets: dict[int, tuple[Any, ...]] = {row[0]: row for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT ticket_number, body FROM messages WHERE ticket_number IN ({marks})"
            " ORDER BY id",
            found.numbers,
        )
        bodies: dict[int, list[str]] = {}
        for number, body in cursor.fetchall():
            bodies.setdefault(number, []).append(body)
    finally:
        cursor.close()
    hits = [
        SearchHit(
            number,
            tickets[number][1],
            tickets[number][2],
            tickets[number][3],
            snippet(bodies.get(number, []), query),
        )
        for number in found.numbers
        if number in tickets
    ]
    return hits, found.more


def snippet(bodies: list[str], query: ParsedQuery, width: int = 90) -> str:
    """One line of the first body where the first phrase's first part appears, about `width`
    characters around it (found here, not by the index: only the shown hits pay for it)."""
    if not query.phrases:
        return ""
    first = query.phrases[0].parts[0]
    pattern = re.compile(
        re.escape(first) if query.phrases[0].prefix else rf"(?<![^\W_]){re.escape(first)}",
        re.IGNORECASE,
    )
    for body in bodies:
        found = pattern.search(body)
        if found:
            start = max(found.start() - width // 3, 0)
            text = safe_line(body[start : start + width])
            return ("…" if start else "") + text + ("…" if start + width < len(body) else "")
    return ""


@contextmanager
def sqlite_bulk_load(session: Session) -> Iterator[Callable[[int, int], None]]:
    """For a bulk load into SQLite (`shiftdesk seed`): the search triggers are dropped for the
    transaction and put back as they were; the caller indexes each batch of new tickets once with
    the function yielded (`reindex(first, last)`), instead of a rebuild of the ticket's document
    per inserted row. All inside the caller's transaction (SQLite DDL is transactional), so no
    other writer ever sees the triggers missing."""
    triggers = session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'ticket_search_%'"
        )
    ).all()
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    restored = False

    def restore() -> None:
        nonlocal restored
        if not restored:
            for _name, sql in triggers:
                session.execute(text(sql))
            restored = True

    def reindex(first: int, last: int) -> None:
        # the ticket trigger (AFTER UPDATE OF subject) rebuilds each document once
        restore()
        session.execute(
            text("UPDATE tickets SET subject = subject WHERE number BETWEEN :a AND :b"),
            {"a": first, "b": last},
        )

    yield reindex
    restore()  # on an error the caller's rollback brings the triggers back


def schema_objects(name: str | None, kind: str, _parent: Any) -> bool:
    """For Alembic's comparison (`include_name`): the search index tables are made by migration
    0006 with raw SQL (an FTS5 table and its shadow tables, a tsvector table), not by models."""
    return not (
        kind == "table" and name is not None and name.startswith(("ticket_fts", "ticket_search"))
    )


__all__ = [
    "EMPTY_HINT",
    "ParsedQuery",
    "Phrase",
    "SearchError",
    "SearchHit",
    "SearchResult",
    "fts5_match",
    "parse_query",
    "pg_tsquery",
    "search",
    "search_numbers",
    "sqlite_bulk_load",
]
