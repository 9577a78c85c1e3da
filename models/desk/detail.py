"""The read model of one ticket, for the detail pane and `shiftdesk show --json`."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlmodel import col

from models.desk.actions import _PAST, NotFound
from models.store.db import Store
from models.store.tables import (
    Appointment,
    Attachment,
    AuditEvent,
    Customer,
    License,
    Message,
    OutboxEntry,
    PhoneCall,
    PhoneDecision,
    Product,
    Rsaa,
    Technician,
    Ticket,
)

# --------------------------------------------------------------------------- the detail read model


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    name: str
    email: str
    organization: str | None
    timezone: str | None


@dataclass(frozen=True)
class LicenseInfo:
    id: int
    key: str
    product: str
    latest_version: str
    version_in_use: str
    purchased_on: str
    ms_expires_on: str


@dataclass(frozen=True)
class MessageInfo:
    id: int
    direction: str  # in | out | note
    author: str
    created_at: float
    subject: str
    body: str
    rfc_message_id: str | None
    in_reply_to: str | None
    references: str | None
    attachments: list[str]  # file names


@dataclass(frozen=True)
class PhoneDecisionInfo:
    id: int
    decision: str  # granted | declined
    technician: str
    phone_number: str | None
    scheduled_at: float | None
    customer_timezone: str | None
    note: str | None
    created_at: float


@dataclass(frozen=True)
class CallInfo:
    id: int
    technician: str
    called_at: float
    duration_seconds: int
    notes: str
    counts_as_first_response: bool


@dataclass(frozen=True)
class RsaaInfo:
    id: int
    accepted_by_name: str
    accepted_by_email: str
    accepted_at: float
    server: str
    method: str
    tool_name: str | None
    source_ip: str
    temp_account: str | None
    notes: str | None
    recorded_by: str
    recorded_at: float
    revoked_at: float | None
    revoked_by: str | None
    revoke_reason: str | None


@dataclass(frozen=True)
class OutboxInfo:
    id: int
    message_id: int | None
    kind: str
    to_address: str
    subject: str
    rfc_message_id: str
    status: str  # queued | sent | failed
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    sent_at: float | None


@dataclass(frozen=True)
class AuditInfo:
    id: int
    actor: str
    action: str
    detail: dict[str, Any] | None
    process: str  # host:pid:program
    created_at: float

    @property
    def summary(self) -> str:
        """ "alice@example.com replied to it" style, for the history list."""
        return f"{self.actor} {_PAST.get(self.action, self.action)} it"

    def sentence(self, zone: str | None = None) -> str:
        """The event as a sentence for the history list ("alice@example.com took it from
        bob@example.com."), times in `zone`; never raw JSON (`show --json` keeps the detail)."""
        return describe_event(self.actor, self.action, self.detail or {}, zone)


@dataclass(frozen=True)
class AppointmentInfo:
    id: int
    technician: str
    starts_at: float
    customer_timezone: str
    duration_minutes: int
    note: str | None
    created_at: float

    def local_text(self) -> str:
        """ "Tue 2026-03-10 09:30 Europe/Berlin, 60 min": the time as agreed with the customer."""
        local = _dt.datetime.fromtimestamp(self.starts_at, ZoneInfo(self.customer_timezone))
        return f"{local:%a %Y-%m-%d %H:%M} {self.customer_timezone}, {self.duration_minutes} min"


@dataclass(frozen=True)
class TicketDetail:
    """Everything the detail pane and `show --json` show about one ticket (plain values)."""

    number: int
    kind: str
    status: str
    subject: str
    requester_email: str
    entitlement: str
    entitlement_note: str | None
    received_at: float
    waiting_since: float | None
    first_response_at: float | None
    first_response_met: bool | None
    assignee: str | None  # technician email
    phone_requested: bool
    phone_escalated: bool
    refund_requested: bool
    closed_at: float | None
    updated_at: float
    version: int
    customer: CustomerInfo | None
    license: LicenseInfo | None
    messages: list[MessageInfo]
    phone_decisions: list[PhoneDecisionInfo]
    calls: list[CallInfo]
    rsaas: list[RsaaInfo]
    outbox: list[OutboxInfo]
    audit: list[AuditInfo]
    appointments: list[AppointmentInfo] = field(default_factory=list)
    # on-call: when an emergency's alerting was acknowledged, and by whom (technician email)
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @property
    def active_rsaa(self) -> RsaaInfo | None:
        return next((r for r in self.rsaas if r.revoked_at is None), None)

    def to_json(self, zone: str | None = None) -> dict[str, Any]:
        """A JSON-ready dict. Times are epoch seconds, or ISO 8601 in `zone` when given."""
        data = asdict(self)
        if zone is None:
            return data
        tz = ZoneInfo(zone)

        def convert(value: Any, key: str = "") -> Any:
            if isinstance(value, dict):
                return {k: convert(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [convert(v) for v in value]
            if isinstance(value, float) and (key.endswith("_at") or key == "waiting_since"):
                return _dt.datetime.fromtimestamp(value, tz).isoformat(timespec="seconds")
            return value

        return {k: convert(v, k) for k, v in data.items()}


def ticket_detail(store: Store, number: int) -> TicketDetail:
    """The read model of one ticket; NotFound when there is none."""
    with store.session() as session:
        ticket = session.get(Ticket, number)
        if ticket is None:
            raise NotFound(f"there is no ticket #{number}")
        technicians: dict[int | None, str] = {
            row.id: row.email for row in session.execute(select(Technician)).scalars()
        }

        def tech(technician_id: int | None) -> str:
            return technicians.get(technician_id, "?")

        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        license_info = None
        if ticket.license_id is not None:
            found = session.execute(
                select(License, Product)
                .join(Product, col(Product.id) == col(License.product_id))
                .where(col(License.id) == ticket.license_id)
            ).first()
            if found is not None:
                lic, product = found
                license_info = LicenseInfo(
                    lic.id or 0,
                    lic.key,
                    product.name,
                    product.latest_version,
                    lic.version_in_use,
                    lic.purchased_on,
                    lic.ms_expires_on,
                )
        messages = list(
            session.execute(
                select(Message)
                .where(col(Message.ticket_number) == number)
                .order_by(col(Message.created_at), col(Message.id))
            ).scalars()
        )
        names: dict[int, list[str]] = {}
        if messages:
            for message_id, filename in session.execute(
                select(col(Attachment.message_id), col(Attachment.filename))
                .where(col(Attachment.message_id).in_([m.id for m in messages]))
                .order_by(col(Attachment.id))
            ):
                names.setdefault(message_id, []).append(filename)

        def rows(table: Any, order: Any) -> list[Any]:
            return list(
                session.execute(
                    select(table).where(table.ticket_number == number).order_by(order, table.id)
                ).scalars()
            )

        return TicketDetail(
            number=number,
            kind=ticket.kind,
            status=ticket.status,
            subject=ticket.subject,
            requester_email=ticket.requester_email,
            entitlement=ticket.entitlement,
            entitlement_note=ticket.entitlement_note,
            received_at=ticket.received_at,
            waiting_since=ticket.waiting_since,
            first_response_at=ticket.first_response_at,
            first_response_met=ticket.first_response_met,
            assignee=technicians.get(ticket.assignee_id) if ticket.assignee_id else None,
            phone_requested=ticket.phone_requested,
            phone_escalated=ticket.phone_escalated,
            refund_requested=ticket.refund_requested,
            acknowledged_at=ticket.acknowledged_at,
            acknowledged_by=ticket.acknowledged_by,
            closed_at=ticket.closed_at,
            updated_at=ticket.updated_at,
            version=ticket.version,
            customer=CustomerInfo(
                customer.id or 0,
                customer.name,
                customer.email,
                customer.organization,
                customer.timezone,
            )
            if customer
            else None,
            license=license_info,
            messages=[
                MessageInfo(
                    m.id or 0,
                    m.direction,
                    m.author,
                    m.created_at,
                    m.subject,
                    m.body,
                    m.rfc_message_id,
                    m.in_reply_to,
                    m.references,
                    names.get(m.id or 0, []),
                )
                for m in messages
            ],
            phone_decisions=[
                PhoneDecisionInfo(
                    d.id,
                    d.decision,
                    tech(d.technician_id),
                    d.phone_number,
                    d.scheduled_at,
                    d.customer_timezone,
                    d.note,
                    d.created_at,
                )
                for d in rows(PhoneDecision, PhoneDecision.created_at)
            ],
            calls=[
                CallInfo(
                    c.id,
                    tech(c.technician_id),
                    c.called_at,
                    c.duration_seconds,
                    c.notes,
                    c.counts_as_first_response,
                )
                for c in rows(PhoneCall, PhoneCall.called_at)
            ],
            rsaas=[
                RsaaInfo(
                    r.id,
                    r.accepted_by_name,
                    r.accepted_by_email,
                    r.accepted_at,
                    r.server,
                    r.method,
                    r.tool_name,
                    r.source_ip,
                    r.temp_account,
                    r.notes,
                    tech(r.recorded_by_id),
                    r.recorded_at,
                    r.revoked_at,
                    tech(r.revoked_by_id) if r.revoked_by_id else None,
                    r.revoke_reason,
                )
                for r in rows(Rsaa, Rsaa.recorded_at)
            ],
            outbox=[
                OutboxInfo(
                    o.id,
                    o.message_id,
                    o.kind,
                    o.to_address,
                    o.subject,
                    o.rfc_message_id,
                    o.status,
                    o.attempts,
                    o.next_attempt_at,
                    o.last_error,
                    o.created_at,
                    o.sent_at,
                )
                for o in rows(OutboxEntry, OutboxEntry.created_at)
            ],
            appointments=[
                AppointmentInfo(
                    a.id or 0,
                    tech(a.technician_id),
                    a.starts_at,
                    a.customer_timezone,
                    a.duration_minutes,
                    a.note,
                    a.created_at,
                )
                for a in rows(Appointment, Appointment.starts_at)
            ],
            audit=[
                AuditInfo(
                    e.id,
                    e.actor,
                    e.action,
                    json.loads(e.detail) if e.detail else None,
                    e.process,
                    e.created_at,
                )
                for e in rows(AuditEvent, AuditEvent.id)
            ],
        )


# --------------------------------------------------------------------------- history sentences


def _time(at: Any, zone: str | None) -> str:
    if not isinstance(at, int | float):
        return str(at)
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):  # a bad zone in old data: the company's time
        tz = None
    return _dt.datetime.fromtimestamp(at, tz).strftime("%a %Y-%m-%d %H:%M %Z").strip()


def _despite(d: dict[str, Any]) -> str:
    """The end of a history sentence: a text saved despite the credential warning says so."""
    return " (saved despite the credential warning)." if d.get("secret_confirmed") else "."


def _minutes(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    whole = round(seconds / 60)
    return f"{whole} min" if whole else f"{int(seconds)} s"


_REVOKE_WHY = {
    "customer_asked": "the customer asked",
    "work_finished": "the work is finished",
    "ticket_closed": "the ticket was closed",
}


def assign_sentence(actor: str, detail: dict[str, Any]) -> str:
    """ "sam@… assigned it to kim@… (from alex@…)." / "sam@… unassigned it (from alex@…)." """
    to, previous = detail.get("to"), detail.get("previous_assignee")
    if isinstance(to, str) and to:
        text = f"{actor} assigned it to {'themselves' if to == actor else to}"
    else:
        text = f"{actor} unassigned it"
    if isinstance(previous, str) and previous and previous != actor:
        text += f" (from {previous})"
    return text + "."


def describe_event(actor: str, action: str, detail: dict[str, Any], zone: str | None) -> str:
    """One audit event as a sentence. Unknown actions fall back to "actor did it"; details that
    are only ids (message, outbox) are left out: the thread shows those."""
    d = detail
    verb = _PAST.get(action, action.replace("_", " "))
    if action == "take":
        previous = d.get("previous_assignee")
        if isinstance(previous, str):
            return f"{actor} took it over from {previous}."
        if previous is not None:  # events written before the email was recorded
            return f"{actor} took it over from another technician."
        return f"{actor} took it."
    if action == "release":
        previous = d.get("previous_assignee")
        mine = previous == actor
        return f"{actor} released it" + ("." if mine or not previous else f" from {previous}.")
    if action == "assign":
        return assign_sentence(actor, d)
    if action == "reply":
        text = f"{actor} replied to {d['to']}" if d.get("to") else f"{actor} replied"
        if d.get("follow_up"):
            text += " (a follow-up)"
        if d.get("phone_decision") and d.get("answers") is False:
            text += " with the standard no-call notice (not a first response)"
        if d.get("first_response"):
            met = d.get("first_response_met")
            text += ": the first response" + (
                ", in time" if met else ", late" if met is False else ""
            )
        if d.get("secret_confirmed"):
            text += " (sent despite the credential warning)"
        return text + "."
    if action == "note":
        if d.get("secret_confirmed"):
            return f"{actor} added an internal note (saved despite the credential warning)."
        return f"{actor} added an internal note."
    if action == "close":
        reason = d.get("reason")
        return f"{actor} closed it" + (f": {reason}." if reason else ".")
    if action == "reclassify":
        text = f"{actor} reclassified it from {d.get('from_kind', 'emergency')} to "
        text += f"{d.get('to_kind', 'standard')}"
        if d.get("reason"):
            text += f" ({d['reason']})"
        if d.get("refund_requested"):
            text += "; refund requested"
        return text + "."
    if action == "phone_grant":
        text = f"{actor} granted a phone call"
        if d.get("phone_number"):
            text += f" on {d['phone_number']}"
        if d.get("scheduled_at") is not None:
            text += f" at {_time(d['scheduled_at'], d.get('timezone') or zone)}"
        if d.get("note"):
            text += f" ({d['note']})"
        return text + _despite(d)
    if action == "phone_decline":
        text = f"{actor} declined a phone call"
        if d.get("reason"):
            text += f" ({d['reason']})"
        if d.get("reply"):
            text += (
                "; the customer was told by email"
                if not d.get("reply_answers")
                else "; the email reply answers the ticket"
            )
        return text + _despite(d)
    if action == "phone_call":
        text = f"{actor} logged a call of {_minutes(d.get('duration'))}"
        if d.get("first_response"):
            met = d.get("first_response_met")
            text += ": the first response" + (
                ", in time" if met else ", late" if met is False else ""
            )
        return text + _despite(d)
    if action == "rsaa_record":
        text = f"{actor} recorded a remote access agreement"
        if d.get("server"):
            text += f" for {d['server']}"
        if d.get("source_ip"):
            text += f" from {d['source_ip']}"
        if d.get("accepted_by"):
            text += f", accepted by {d['accepted_by']}"
        return text + "."
    if action == "rsaa_revoke":
        why = _REVOKE_WHY.get(str(d.get("reason")), str(d.get("reason") or "")).strip()
        return f"{actor} revoked the remote access agreement" + (f": {why}." if why else ".")
    if action == "customer_message":
        text = f"{actor} wrote again"
        if d.get("previous_status") == "closed":
            text += ", which reopened it"
        if d.get("phone_requested"):
            text += " (asks for a call)"
        return text + "."
    if action == "accept":
        return f"{actor} accepted it" + (f": {d['reason']}." if d.get("reason") else ".")
    if action == "schedule":
        zone_name = d.get("timezone")
        if isinstance(d.get("starts_at"), int | float) and zone_name:
            when = _time(d["starts_at"], str(zone_name))
        else:
            when = f"{d.get('starts_local', '?')} {zone_name or ''}".strip()
        minutes = d.get("minutes")
        return f"{actor} scheduled a session for {when}" + (f", {minutes} min." if minutes else ".")
    if action == "automatic_message":
        reason = d.get("reason")
        return f"{actor} sent an automatic message" + (
            f" ({reason}); the ticket's status is unchanged." if reason else "."
        )
    if action == "autoreply_skipped":
        reason = d.get("reason")
        return "No auto-reply was sent" + (f": {reason}." if reason else ".")
    if action == "create":
        return f"{actor} created it" + (f" ({d['kind']})" if d.get("kind") else "") + "."
    reason = d.get("reason")
    return f"{actor} {verb} it" + (f": {reason}." if isinstance(reason, str) and reason else ".")
