"""SQLModel tables. Times are UTC epoch seconds (float): fast to load, compare and feed the clock.

Every ticket change goes through models.actions (one transaction, an audit event, a change-log
row, and the ticket's `version` bumped for optimistic locking).
"""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from sqlalchemy import Column, Index, LargeBinary, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class, for the hot paths that skip the ORM (the mail
    gateway): a prepared Core statement costs ~50 µs where an ORM query costs ~300 µs."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


class TicketKind(StrEnum):
    STANDARD = "standard"
    EMERGENCY = "emergency"
    INSTALLATION = "installation"
    TRAINING = "training"


class TicketStatus(StrEnum):
    OPEN = "open"  # waiting for us
    ANSWERED = "answered"  # waiting for the customer
    CLOSED = "closed"


class Entitlement(StrEnum):
    LICENSE = "license"  # a license with active M&S
    HOSTED = "hosted"  # hosted helpdesk subscription
    PARTNER = "partner"
    PURCHASE = "purchase"  # bought per incident (emergency / installation / training)
    ACCEPTED = "accepted"  # not entitled, accepted anyway by a technician
    NONE = "none"  # not entitled: kept, out of the SLA queue


class MessageDirection(StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(index=True, unique=True)  # primary address, lower case
    organization: str | None = None
    timezone: str | None = None  # IANA zone, for calls and appointments
    created_at: float


class CustomerAddress(SQLModel, table=True):
    """Every address a customer writes from (the primary one included), lower case."""

    __tablename__ = "customer_addresses"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True, ondelete="CASCADE")
    email: str = Field(unique=True)


class Product(SQLModel, table=True):
    __tablename__ = "products"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    latest_version: str


class License(SQLModel, table=True):
    __tablename__ = "licenses"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    version_in_use: str
    purchased_on: str  # ISO date
    ms_expires_on: str  # ISO date: last day covered, the latest of its M&S terms


class MsTerm(SQLModel, table=True):
    """One period of Maintenance and Support: a purchase's 12 months, a renewal, a reinstatement."""

    __tablename__ = "ms_terms"
    id: int | None = Field(default=None, primary_key=True)
    license_id: int = Field(foreign_key="licenses.id", index=True, ondelete="CASCADE")
    kind: str  # purchase | renewal | reinstatement
    starts_on: str  # ISO date, first day covered
    ends_on: str  # ISO date, last day covered


class HostedSubscription(SQLModel, table=True):
    __tablename__ = "hosted_subscriptions"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    starts_on: str
    ends_on: str | None = None  # last day covered; None = running


class Partnership(SQLModel, table=True):
    __tablename__ = "partnerships"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    starts_on: str
    ends_on: str | None = None
    tier: str | None = None


class Technician(SQLModel, table=True):
    __tablename__ = "technicians"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str
    signature: str | None = Field(default=None, sa_column=Column(Text))  # under every reply


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_received", "status", "received_at"),
        Index("ix_tickets_received", "received_at"),
        Index("ix_tickets_first_response_at", "first_response_at"),
    )
    number: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=TicketKind.STANDARD)
    status: str = Field(default=TicketStatus.OPEN)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    requester_email: str  # who wrote in, lower case
    # indexed for the search triggers: a license's key change re-indexes its tickets
    license_id: int | None = Field(default=None, foreign_key="licenses.id", index=True)
    entitlement: str = Field(default=Entitlement.NONE)
    entitlement_note: str | None = None  # why (e.g. "M&S lapsed on 2026-03-01")
    received_at: float
    waiting_since: float | None = None  # last customer message we have not answered
    first_response_at: float | None = None
    first_response_met: bool | None = None
    # what the first response was measured against when it was recorded (the SLA report reads
    # these, never today's config): its deadline, the minutes it took on its clock (business
    # minutes for standard tickets, wall minutes for emergencies) and who sent it
    first_response_deadline: float | None = None
    first_response_minutes: float | None = None
    first_response_by_id: int | None = None  # technicians.id
    assignee_id: int | None = Field(default=None, foreign_key="technicians.id", index=True)
    phone_requested: bool = False
    phone_escalated: bool = False  # a technician granted phone support
    refund_requested: bool = False  # emergency reclassified as standard
    closed_at: float | None = None
    updated_at: float
    version: int = 1
    # on-call: an open emergency alerts every console until acknowledged (or answered)
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None  # technician email


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True, ondelete="CASCADE")
    direction: str  # in | out | note
    author: str  # email of the customer or the technician
    technician_id: int | None = Field(default=None, foreign_key="technicians.id")
    created_at: float
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    rfc_message_id: str | None = Field(default=None, index=True)  # "<...@...>" as in the header
    in_reply_to: str | None = None
    references: str | None = Field(default=None, sa_column=Column(Text))
    headers: str | None = Field(default=None, sa_column=Column(Text))  # JSON, shown literally


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True, ondelete="CASCADE")
    filename: str
    content_type: str
    size: int
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # up to a limit


class Draft(SQLModel, table=True):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("ticket_number", "technician_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", ondelete="CASCADE")
    technician_id: int = Field(foreign_key="technicians.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: float


class OutboxEntry(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # the gateway's "one auto-reply a day per address" check
        Index("ix_outbox_to_address_created", "to_address", "created_at"),
        # the gateway's global auto-reply cap (auto-replies in the last hour)
        Index("ix_outbox_kind_created", "kind", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int | None = Field(default=None, foreign_key="tickets.number", index=True)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    kind: str = "reply"  # reply | autoreply
    to_address: str
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    rfc_message_id: str = Field(unique=True)  # made at enqueue time: retries reuse it
    in_reply_to: str | None = None
    references: str | None = Field(default=None, sa_column=Column(Text))
    status: str = "queued"  # queued | sent | failed (permanent)
    attempts: int = 0
    next_attempt_at: float
    # a delivery worker's lease: nobody else sends this message before then (models.outbox)
    claimed_until: float | None = None
    last_error: str | None = None
    created_at: float
    sent_at: float | None = None


class PhoneDecision(SQLModel, table=True):
    __tablename__ = "phone_decisions"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True)
    decision: str  # granted | declined
    technician_id: int = Field(foreign_key="technicians.id")
    phone_number: str | None = None
    scheduled_at: float | None = None
    customer_timezone: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: float


class PhoneCall(SQLModel, table=True):
    __tablename__ = "phone_calls"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True)
    technician_id: int = Field(foreign_key="technicians.id")
    called_at: float
    duration_seconds: int
    notes: str = Field(sa_column=Column(Text, nullable=False))
    counts_as_first_response: bool = False


class Rsaa(SQLModel, table=True):
    """Remote Server Access Agreement: one ticket, never moved or reused. No credentials, ever."""

    __tablename__ = "rsaas"
    __table_args__ = (
        # at most one active agreement per ticket, enforced by the database on both backends
        Index(
            "uq_rsaas_one_active_per_ticket",
            "ticket_number",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True)
    accepted_by_name: str
    accepted_by_email: str
    accepted_at: float
    server: str
    method: str  # rdp | tool | screen_share
    tool_name: str | None = None
    source_ip: str
    temp_account: str | None = None
    notes: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by_id: int = Field(foreign_key="technicians.id")
    recorded_at: float
    revoked_at: float | None = None
    revoked_by_id: int | None = Field(default=None, foreign_key="technicians.id")
    revoke_reason: str | None = None  # customer_asked | work_finished | ticket_closed


class Appointment(SQLModel, table=True):
    """A scheduled installation / training session (or call), in the customer's zone."""

    __tablename__ = "appointments"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True)
    technician_id: int = Field(foreign_key="technicians.id")
    starts_at: float
    customer_timezone: str
    duration_minutes: int = 60
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: float


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int | None = Field(default=None, index=True)
    actor: str  # technician email, customer email, or "system"
    action: str
    detail: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    process: str  # host:pid:program
    created_at: float


class ChangeLog(SQLModel, table=True):
    """Append-only feed of changed tickets; readers remember the last id they saw."""

    __tablename__ = "change_log"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(index=True)
    changed_at: float


class CannedReply(SQLModel, table=True):
    """A reusable reply body with {customer}, {ticket}, {technician} and {deadline} variables."""

    __tablename__ = "canned_replies"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="technicians.id")
    updated_at: float
    version: int = 1


class Presence(SQLModel, table=True):
    """Which ticket a console has open right now ("viewing now" on colleagues' rows); a row
    counts until `expires_at`, and each console renews or removes its own (keyed by console)."""

    __tablename__ = "presence"
    id: int | None = Field(default=None, primary_key=True)
    technician_id: int = Field(foreign_key="technicians.id")
    ticket_number: int = Field(index=True)
    console: str = Field(unique=True)  # host:pid:random, one per running console
    expires_at: float
