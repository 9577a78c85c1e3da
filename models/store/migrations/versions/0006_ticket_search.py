"""full-text search over tickets: SQLite FTS5 / PostgreSQL tsvector, kept in step by triggers

One search document per ticket: its subject, the requester's address, the customer's name, email,
organisation and every address, the license keys of the ticket and of its customer, and every
message body (notes included). Triggers on tickets, messages, customers, customer_addresses and
licenses rebuild the documents a write touches, so no writer has to know about search.

SQLite: `ticket_fts`, an FTS5 table whose rowid is the ticket number (unicode61 splits
"bob@acme.example" and "HD-1234-ABCD" into words, so an address or a key is a phrase query).
PostgreSQL: `ticket_search` (ticket_number, document tsvector) with a GIN index; the document is
`to_tsvector('simple', ...)` of the same text with `@ . - _ + / :` turned into spaces first, so
both backends split addresses and keys the same way. The bodies are cut at 500,000 characters per
ticket there: a tsvector holds at most 1 MB.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ------------------------------------------------------------------ SQLite

# the document of the tickets `t` picked by a WHERE clause (c = its customer)
_SQLITE_DOCUMENT = """
SELECT t.number,
    coalesce(t.subject, '') || ' ' || coalesce(t.requester_email, '') || ' '
    || coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.organization, '')
    || ' ' || coalesce((SELECT group_concat(a.email, ' ') FROM customer_addresses a
                        WHERE a.customer_id = t.customer_id), '')
    || ' ' || coalesce((SELECT group_concat(l.key, ' ') FROM licenses l
                        WHERE l.id = t.license_id OR l.customer_id = t.customer_id), '')
    || ' ' || coalesce((SELECT group_concat(m.body, ' ') FROM messages m
                        WHERE m.ticket_number = t.number), '')
FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
"""


def _sqlite_refresh(where: str) -> str:
    """Statements (for a trigger body) that rebuild the documents of the tickets matching
    `where` (a condition on `t`): delete, then insert from the current rows."""
    return (
        f"DELETE FROM ticket_fts WHERE rowid IN (SELECT t.number FROM tickets t WHERE {where});\n"
        f"INSERT INTO ticket_fts (rowid, document) {_SQLITE_DOCUMENT} WHERE {where};"
    )


_SQLITE_TRIGGERS = {
    "ticket_search_ticket_insert": (
        "AFTER INSERT ON tickets",
        _sqlite_refresh("t.number = NEW.number"),
    ),
    # the version bump every action starts with changes none of these: no rebuild
    "ticket_search_ticket_update": (
        "AFTER UPDATE OF subject, requester_email, customer_id, license_id ON tickets",
        _sqlite_refresh("t.number = NEW.number"),
    ),
    "ticket_search_ticket_delete": (
        "AFTER DELETE ON tickets",
        "DELETE FROM ticket_fts WHERE rowid = OLD.number;",
    ),
    "ticket_search_message_insert": (
        "AFTER INSERT ON messages",
        _sqlite_refresh("t.number = NEW.ticket_number"),
    ),
    "ticket_search_message_update": (
        "AFTER UPDATE OF body, ticket_number ON messages",
        _sqlite_refresh("t.number IN (OLD.ticket_number, NEW.ticket_number)"),
    ),
    "ticket_search_message_delete": (
        "AFTER DELETE ON messages",
        _sqlite_refresh("t.number = OLD.ticket_number"),
    ),
    "ticket_search_customer_update": (
        "AFTER UPDATE OF name, email, organization ON customers",
        _sqlite_refresh("t.customer_id = NEW.id"),
    ),
    "ticket_search_address_insert": (
        "AFTER INSERT ON customer_addresses",
        _sqlite_refresh("t.customer_id = NEW.customer_id"),
    ),
    "ticket_search_address_update": (
        "AFTER UPDATE ON customer_addresses",
        _sqlite_refresh("t.customer_id IN (OLD.customer_id, NEW.customer_id)"),
    ),
    "ticket_search_address_delete": (
        "AFTER DELETE ON customer_addresses",
        _sqlite_refresh("t.customer_id = OLD.customer_id"),
    ),
    "ticket_search_license_insert": (  # no ticket can name a license not yet inserted
        "AFTER INSERT ON licenses",
        _sqlite_refresh("t.customer_id = NEW.customer_id"),
    ),
    "ticket_search_license_update": (
        "AFTER UPDATE OF key, customer_id ON licenses",
        _sqlite_refresh(
            "t.customer_id IN (OLD.customer_id, NEW.customer_id) OR t.license_id = NEW.id"
        ),
    ),
    "ticket_search_license_delete": (
        "AFTER DELETE ON licenses",
        _sqlite_refresh("t.customer_id = OLD.customer_id OR t.license_id = OLD.id"),
    ),
}

# ------------------------------------------------------------------ PostgreSQL

_PG_FUNCTIONS = r"""
-- plpgsql, not a SQL function: its statements' plans are cached across calls (a SQL function is
-- planned again on every trigger call, which tripled the cost of a message insert)
CREATE FUNCTION ticket_search_refresh(numbers integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_search (ticket_number, document)
    SELECT t.number, to_tsvector('simple', translate(concat_ws(' ',
        t.subject, t.requester_email, c.name, c.email, c.organization,
        (SELECT string_agg(a.email, ' ') FROM customer_addresses a
            WHERE a.customer_id = t.customer_id),
        (SELECT string_agg(l.key, ' ') FROM licenses l
            WHERE l.id = t.license_id OR l.customer_id = t.customer_id),
        left((SELECT string_agg(m.body, ' ' ORDER BY m.id) FROM messages m
            WHERE m.ticket_number = t.number), 500000)
    ), '@.-_+/:', '       '))
    FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
    WHERE t.number = ANY(numbers)
    ON CONFLICT (ticket_number) DO UPDATE SET document = EXCLUDED.document;
END $$;

CREATE FUNCTION ticket_search_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(ARRAY[NEW.number]);
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(ARRAY[OLD.ticket_number]);
    IF TG_OP = 'UPDATE' THEN
        PERFORM ticket_search_refresh(ARRAY[NEW.ticket_number]);
    END IF;
    RETURN NULL;
END $$;

-- inserts are statement triggers over the inserted rows: a bulk insert (seeding, an import)
-- rebuilds each touched ticket once per statement, in one planned INSERT ... SELECT
CREATE FUNCTION ticket_search_on_new_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(ARRAY(SELECT number FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_search_on_new_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(ARRAY(SELECT DISTINCT ticket_number FROM new_rows));
    RETURN NULL;
END $$;

-- customers, customer_addresses, licenses: every ticket of the customer (and of the license)
CREATE FUNCTION ticket_search_refresh_customers(customer_ids integer[], license_ids integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh(ARRAY(
        SELECT t.number FROM tickets t
        WHERE t.customer_id = ANY(customer_ids) OR t.license_id = ANY(license_ids)));
END $$;

CREATE FUNCTION ticket_search_on_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_refresh_customers(ARRAY[NEW.id], '{}');
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_search_on_address() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ticket_search_refresh_customers(ARRAY[OLD.customer_id], '{}');
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ticket_search_refresh_customers(ARRAY[NEW.customer_id], '{}');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ticket_search_on_license() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ticket_search_refresh_customers(ARRAY[OLD.customer_id], ARRAY[OLD.id]);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ticket_search_refresh_customers(ARRAY[NEW.customer_id], ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END $$;
"""

_EACH_ROW = "FOR EACH ROW"
_EACH_STATEMENT = "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"

# name: (table, events, for each, function)
_PG_TRIGGERS = {
    "ticket_search_ticket_insert": ("tickets", "INSERT", _EACH_STATEMENT, "on_new_tickets"),
    "ticket_search_ticket_update": (
        "tickets",
        "UPDATE OF subject, requester_email, customer_id, license_id",
        _EACH_ROW,
        "on_ticket",
    ),
    "ticket_search_message_insert": ("messages", "INSERT", _EACH_STATEMENT, "on_new_messages"),
    "ticket_search_message_change": (
        "messages",
        "DELETE OR UPDATE OF body, ticket_number",
        _EACH_ROW,
        "on_message",
    ),
    "ticket_search_customer": (
        "customers",
        "UPDATE OF name, email, organization",
        _EACH_ROW,
        "on_customer",
    ),
    "ticket_search_address": (
        "customer_addresses",
        "INSERT OR UPDATE OR DELETE",
        _EACH_ROW,
        "on_address",
    ),
    "ticket_search_license": (
        "licenses",
        "INSERT OR DELETE OR UPDATE OF key, customer_id",
        _EACH_ROW,
        "on_license",
    ),
}


def upgrade() -> None:
    # the license triggers find a license's tickets by it
    op.create_index("ix_tickets_license_id", "tickets", ["license_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE ticket_search ("
            " ticket_number integer PRIMARY KEY REFERENCES tickets (number) ON DELETE CASCADE,"
            " document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)")
        op.execute(_PG_FUNCTIONS)
        for name, (table, events, each, function) in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} AFTER {events} ON {table} {each}"
                f" EXECUTE FUNCTION ticket_search_{function}()"
            )
        op.execute("SELECT ticket_search_refresh(ARRAY(SELECT number FROM tickets))")
        return
    op.execute(
        "CREATE VIRTUAL TABLE ticket_fts USING fts5("
        "document, tokenize = 'unicode61 remove_diacritics 2')"
    )
    for name, (when, body) in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN\n{body}\nEND")
    op.execute(f"INSERT INTO ticket_fts (rowid, document) {_SQLITE_DOCUMENT}")


def downgrade() -> None:
    op.drop_index("ix_tickets_license_id", table_name="tickets")
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, *_rest) in _PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in (
            "ticket_search_on_license()",
            "ticket_search_on_address()",
            "ticket_search_on_customer()",
            "ticket_search_refresh_customers(integer[], integer[])",
            "ticket_search_on_new_messages()",
            "ticket_search_on_new_tickets()",
            "ticket_search_on_message()",
            "ticket_search_on_ticket()",
            "ticket_search_refresh(integer[])",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
        op.execute("DROP TABLE IF EXISTS ticket_search")
        return
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS ticket_fts")
