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

from models.tables import Entitlement, TicketStatus


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


_COLUMNS = (
    "number, kind, status, received_at, waiting_since, first_response_at, customer_id,"
    " requester_email, subject, phone_requested, assignee_id, entitlement, version"
)


class _Lookups:
    def __init__(self, cursor: Any, numbers: list[int] | None = None) -> None:
        cursor.execute("SELECT id, name FROM customers")
        self.customers: dict[int, str] = dict(cursor.fetchall())
        cursor.execute("SELECT id, email FROM technicians")
        self.technicians: dict[int, str] = dict(cursor.fetchall())
        cursor.execute("SELECT ticket_number FROM rsaas WHERE revoked_at IS NULL")
        self.rsaa: set[int] = {r[0] for r in cursor.fetchall()}

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
            )
            for r in raw
        ]


def _cursor(session: Session) -> Any:
    return session.connection().connection.cursor()


def _param(session: Session) -> str:
    return "%s" if session.get_bind().dialect.name == "postgresql" else "?"


def load_queue(
    session: Session, *, include_closed: bool = False, limit: int | None = None
) -> list[QueueRow]:
    """Open tickets (all tickets with include_closed), FIFO by received time."""
    cursor = _cursor(session)
    lookups = _Lookups(cursor)
    where = "" if include_closed else f"WHERE status <> '{TicketStatus.CLOSED}'"
    sql = f"SELECT {_COLUMNS} FROM tickets {where} ORDER BY received_at, number"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    cursor.execute(sql)
    rows = lookups.rows(cursor.fetchall())
    cursor.close()
    return rows


def load_rows(session: Session, numbers: Iterable[int]) -> list[QueueRow]:
    """The current rows for these tickets (for the change feed)."""
    wanted = sorted(set(numbers))
    cursor = _cursor(session)
    lookups = _Lookups(cursor)
    rows: list[QueueRow] = []
    mark = _param(session)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join([mark] * len(chunk))
        cursor.execute(f"SELECT {_COLUMNS} FROM tickets WHERE number IN ({marks})", chunk)
        rows.extend(lookups.rows(cursor.fetchall()))
    cursor.close()
    return rows


def is_waiting(row: QueueRow) -> bool:
    """Waiting for us: open and in the SLA queue (entitled)."""
    return row.status == TicketStatus.OPEN and row.entitlement != Entitlement.NONE
