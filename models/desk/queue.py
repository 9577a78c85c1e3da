"""Read models for the queue: plain row tuples (no ORM objects).

Loading 100k ORM objects costs ~1.3 s; a joined SQLAlchemy select ~1.4 s here. So the queue
reads the tickets table alone through the raw DB-API cursor and resolves customers, technicians
and active RSAAs from small lookup dicts. `load_queue(limit=...)` reads the oldest rows first
through the received_at index so the first frame never waits for the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from models.store.tables import TicketStatus


class QueueRow(NamedTuple):
    number: int
    kind: str
    status: str
    received_at: float
    waiting_since: float | None
    first_response_at: float | None
    customer: str  # customer name, else the requester's address
    subject: str
    phone_requested: bool
    rsaa_active: bool
    assignee: str | None  # technician email
    entitlement: str
    version: int
    acknowledged_at: float | None = None  # on-call: an emergency stops alerting once set


_COLUMNS = (
    "number, kind, status, received_at, waiting_since, first_response_at, customer_id,"
    " requester_email, subject, phone_requested, assignee_id, entitlement, version,"
    " acknowledged_at"
)


_SMALL = 2000  # up to this many rows, look up only the customers and RSAAs they reference


class _Lookups:
    """Customer names, technician emails and active RSAAs for a batch of ticket rows: the whole
    tables for a full load, only what the rows reference for a small one (the first frame, a
    change-feed batch), so a large customer base doesn't cost every arriving ticket."""

    def __init__(self, cursor: Any, mark: str, raw: list[tuple[Any, ...]]) -> None:
        cursor.execute("SELECT id, email FROM technicians")
        self.technicians: dict[int, str] = dict(cursor.fetchall())
        if len(raw) > _SMALL:
            cursor.execute("SELECT id, name FROM customers")
            self.customers: dict[int, str] = dict(cursor.fetchall())
            cursor.execute("SELECT ticket_number FROM rsaas WHERE revoked_at IS NULL")
            self.rsaa: set[int] = {r[0] for r in cursor.fetchall()}
            return
        self.customers = {}
        self.rsaa = set()
        customer_ids = sorted({r[6] for r in raw if r[6] is not None})
        for chunk in _chunks(customer_ids):
            cursor.execute(
                f"SELECT id, name FROM customers WHERE id IN ({_marks(mark, chunk)})", chunk
            )
            self.customers.update(cursor.fetchall())
        for chunk in _chunks(sorted({r[0] for r in raw})):
            cursor.execute(
                "SELECT ticket_number FROM rsaas WHERE revoked_at IS NULL"
                f" AND ticket_number IN ({_marks(mark, chunk)})",
                chunk,
            )
            self.rsaa.update(r[0] for r in cursor.fetchall())

    def rows(self, raw: Iterable[tuple[Any, ...]]) -> list[QueueRow]:
        customers, technicians, rsaa = self.customers, self.technicians, self.rsaa
        return [
            QueueRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                customers.get(r[6]) or r[7] if r[6] is not None else r[7],
                r[8],
                bool(r[9]),
                r[0] in rsaa,
                technicians.get(r[10]) if r[10] is not None else None,
                r[11],
                r[12],
                r[13],
            )
            for r in raw
        ]


def _cursor(session: Session) -> Any:
    return session.connection().connection.cursor()


def _param(session: Session) -> str:
    return "%s" if session.get_bind().dialect.name == "postgresql" else "?"


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _marks(mark: str, chunk: list[int]) -> str:
    return ", ".join([mark] * len(chunk))


def load_queue(
    session: Session, *, include_closed: bool = False, limit: int | None = None
) -> list[QueueRow]:
    """Open tickets (all tickets with include_closed), FIFO by received time."""
    cursor = _cursor(session)
    where = "" if include_closed else f"WHERE status <> '{TicketStatus.CLOSED}'"
    sql = f"SELECT {_COLUMNS} FROM tickets {where} ORDER BY received_at, number"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    cursor.execute(sql)
    raw = cursor.fetchall()
    rows = _Lookups(cursor, _param(session), raw).rows(raw)
    cursor.close()
    return rows


def load_rows(session: Session, numbers: Iterable[int]) -> list[QueueRow]:
    """The current rows for these tickets (for the change feed)."""
    cursor = _cursor(session)
    mark = _param(session)
    raw: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(set(numbers))):
        cursor.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE number IN ({_marks(mark, chunk)})", chunk
        )
        raw.extend(cursor.fetchall())
    rows = _Lookups(cursor, mark, raw).rows(raw)
    cursor.close()
    return rows
