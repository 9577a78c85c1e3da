"""Remote Server Access Agreements (RSAAs): record, revoke, list. Credentials are never stored.

An RSAA lets a technician reach one customer server for one ticket. Rules (also enforced by the
database where it can: the partial unique index "one active per ticket"):

- at most one active RSAA per ticket; none on a closed ticket;
- an RSAA stays on its ticket and is never reactivated (no function here moves or revives one);
- a screen-sharing session needs the ticket escalated to phone first;
- revoking records who, when and why; `models.desk.actions.close` revokes in the same transaction;
- every record and revoke is an audit event ("rsaa_record", "rsaa_revoke").

The form validators are pure functions, cheap enough to run on every keystroke:
`validate_field(name, value)` checks one field, `validate(form)` checks all of them plus the
cross-field rules. `record_rsaa` runs `validate` again, so nothing invalid is ever saved.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from models.clock.timefmt import parse_local_time, span
from models.desk.actions import (
    ActionError,
    Actor,
    NotFound,
    audit,
    normalize_email,
    now,
    technician_for,
    ticket_action,
)
from models.policy.config import Config
from models.policy.credentials import looks_like_password
from models.store.db import Store
from models.store.tables import Customer, Rsaa, Technician, Ticket, TicketStatus


class RsaaMethod(StrEnum):
    RDP = "rdp"  # RDP / Remote Desktop
    TOOL = "tool"  # another remote-management tool, named in tool_name
    SCREEN_SHARE = "screen_share"  # an interactive meeting-style session: needs phone escalation


class RevokeReason(StrEnum):
    CUSTOMER_ASKED = "customer_asked"
    WORK_FINISHED = "work_finished"
    TICKET_CLOSED = "ticket_closed"


METHOD_LABELS: dict[str, str] = {
    RsaaMethod.RDP: "RDP / Remote Desktop",
    RsaaMethod.TOOL: "Remote-management tool",
    RsaaMethod.SCREEN_SHARE: "Screen-sharing session",
}
REVOKE_REASON_LABELS: dict[str, str] = {
    RevokeReason.CUSTOMER_ASKED: "Customer asked",
    RevokeReason.WORK_FINISHED: "Work finished",
    RevokeReason.TICKET_CLOSED: "Ticket closed",
}
METHODS_NEEDING_TOOL = frozenset({RsaaMethod.TOOL, RsaaMethod.SCREEN_SHARE})

NO_CREDENTIALS = "shiftdesk never stores credentials: share them with the customer another way"

# How far in the future an acceptance time may lie (clock skew between machines).
ACCEPTED_AT_SLACK_SECONDS = 300.0

MAX_NAME = 200
MAX_EMAIL = 254
MAX_TOOL = 80
MAX_ACCOUNT = 104  # a Windows UPN's limit
MAX_NOTES = 2000


class RsaaInvalid(ActionError):
    """The form has errors; `errors` maps field name -> message. `str()` is one line."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass
class RsaaForm:
    """What the technician enters. There is deliberately no password field."""

    ticket: int
    accepted_by_name: str
    accepted_by_email: str
    server: str
    method: str
    accepted_at: float | None = None  # epoch seconds; None = now (the time of recording)
    tool_name: str | None = None  # required for "tool" and "screen_share"
    source_ip: str | None = None  # None = the config's company.source_ip
    temp_account: str | None = None
    notes: str | None = None

    @classmethod
    def blank(cls, ticket: int, config: Config | None = None) -> RsaaForm:
        """An empty form for `ticket` with the source IP pre-filled from the config."""
        return cls(
            ticket=ticket,
            accepted_by_name="",
            accepted_by_email="",
            server="",
            method=RsaaMethod.RDP,
            source_ip=(config or Config()).company.source_ip,
        )


FIELDS: tuple[str, ...] = (
    "ticket",
    "accepted_by_name",
    "accepted_by_email",
    "accepted_at",
    "server",
    "method",
    "tool_name",
    "source_ip",
    "temp_account",
    "notes",
)


# --------------------------------------------------------------------------- validators

_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@([^@\s<>(),;:\"\[\]]+)$")
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-\\@$]*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_host(text: str) -> str | None:
    """A host name (RFC 1123) or an IPv4/IPv6 address, without port or URL."""
    host = text.strip()
    if not host:
        return "enter the server's host name or IP address"
    if "://" in host or "/" in host:
        return f"{host!r}: enter only the host name or address, not a URL or path"
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in candidate:
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            if candidate.count(":") == 1:
                return f"{host!r}: leave the port out (enter only the host name or address)"
            return f"{host!r} is not a valid IPv6 address"
        return None
    if re.fullmatch(r"[0-9.]+", candidate):
        try:
            ipaddress.IPv4Address(candidate)
        except ValueError:
            return f"{host!r} is not a valid IPv4 address"
        return None
    name = candidate[:-1] if candidate.endswith(".") else candidate
    if len(name) > 253:
        return "host name is longer than 253 characters"
    for label in name.split("."):
        if not _HOST_LABEL_RE.match(label):
            return (
                f"{host!r} is not a valid host name (letters, digits and hyphens in dot-separated"
                " parts, e.g. srv01.example.com)"
            )
    return None


def check_email(text: str) -> str | None:
    address = text.strip()
    if not address:
        return "enter the email address of the person who accepted"
    if len(address) > MAX_EMAIL:
        return f"email address is longer than {MAX_EMAIL} characters"
    match = _EMAIL_RE.match(address)
    if not match:
        return f"{address!r} is not an email address (e.g. jo@customer.example)"
    domain = match.group(1)
    labels = domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL_RE.match(label) for label in labels):
        return f"{address!r}: {domain!r} is not a valid mail domain"
    return None


def check_ip(text: str) -> str | None:
    address = text.strip()
    if not address:
        return "enter the company source IP address the customer allows"
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IPv4 or IPv6 address"
    return None


def _check_text(value: object, label: str, limit: int, *, required: bool) -> str | None:
    if value is None:
        return f"enter {label}" if required else None
    if not isinstance(value, str):
        return f"{label} must be text"
    text = value.strip()
    if not text:
        return f"enter {label}" if required else None
    if len(text) > limit:
        return f"{label} is longer than {limit} characters"
    return None


def validate_field(name: str, value: Any) -> str | None:
    """Check one field (e.g. on every keystroke). Returns an error message, or None when fine.

    Text fields take the text as typed; blank optional fields are fine. Cross-field rules (a tool
    name for "tool" and "screen_share") are checked by `validate`.
    """
    if name == "ticket":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return "choose a ticket"
        return None
    if name == "accepted_by_name":
        error = _check_text(value, "the name of the person who accepted", MAX_NAME, required=True)
        if error is None and _CONTROL_RE.search(value):
            return "the name must be one line of text"
        return error
    if name == "accepted_by_email":
        if not isinstance(value, str):
            return "enter the email address of the person who accepted"
        return check_email(value)
    if name == "accepted_at":
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return "acceptance time must be a point in time"
        if value <= 0:
            return "acceptance time must be after 1970"
        return None
    if name == "server":
        if not isinstance(value, str):
            return "enter the server's host name or IP address"
        return check_host(value)
    if name == "method":
        if value not in {m.value for m in RsaaMethod}:
            return "choose rdp, tool or screen_share"
        return None
    if name == "tool_name":
        error = _check_text(value, "the tool's name", MAX_TOOL, required=False)
        if error is None and value and looks_like_password(value):
            return f"the tool name looks like it contains a password: {NO_CREDENTIALS}"
        if error is None and value and _CONTROL_RE.search(value):
            return "the tool name must be one line of text"
        return error
    if name == "source_ip":
        if value is None:
            return None  # the config's company.source_ip
        if not isinstance(value, str):
            return "enter the company source IP address"
        return check_ip(value)
    if name == "temp_account":
        return _check_temp_account(value)
    if name == "notes":
        error = _check_text(value, "notes", MAX_NOTES, required=False)
        if error is None and value and looks_like_password(value):
            return f"the notes look like they contain a password: {NO_CREDENTIALS}"
        return error
    raise KeyError(f"no RSAA field {name!r}")


def _check_temp_account(value: Any) -> str | None:
    error = _check_text(value, "the temporary account", MAX_ACCOUNT, required=False)
    if error is not None or not value:
        return error
    account = value.strip()
    if looks_like_password(account) or re.search(r"[\s:=]", account):
        return f"enter only the account name, no password: {NO_CREDENTIALS}"
    if not _ACCOUNT_RE.match(account):
        return (
            f"{account!r} is not a plausible account name (letters, digits, . _ - \\ @ $;"
            " e.g. shiftdesk-support or CORP\\shiftdesk)"
        )
    return None


def validate(form: RsaaForm, *, now: float | None = None) -> dict[str, str]:
    """All field errors plus the cross-field rules; empty when the form can be recorded.

    `now` (epoch seconds) lets the acceptance time be checked against the clock.
    """
    errors: dict[str, str] = {}
    for name in FIELDS:
        message = validate_field(name, getattr(form, name))
        if message is not None:
            errors[name] = message
    if "method" not in errors and "tool_name" not in errors:
        tool = (form.tool_name or "").strip()
        if form.method in METHODS_NEEDING_TOOL and not tool:
            what = "remote-management tool" if form.method == RsaaMethod.TOOL else "meeting tool"
            errors["tool_name"] = f"name the {what} (e.g. AnyDesk, TeamViewer, Zoom)"
    if (
        "accepted_at" not in errors
        and form.accepted_at is not None
        and now is not None
        and form.accepted_at > now + ACCEPTED_AT_SLACK_SECONDS
    ):
        errors["accepted_at"] = "the acceptance time is in the future"
    return errors


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def cleaned(form: RsaaForm, *, source_ip: str) -> RsaaForm:
    """The form normalised for storage (trimmed, email lower case, canonical IP)."""
    return replace(
        form,
        accepted_by_name=form.accepted_by_name.strip(),
        accepted_by_email=normalize_email(form.accepted_by_email),
        server=form.server.strip(),
        tool_name=_blank_to_none(form.tool_name),
        source_ip=str(ipaddress.ip_address((form.source_ip or source_ip).strip())),
        temp_account=_blank_to_none(form.temp_account),
        notes=_blank_to_none(form.notes),
    )


def parse_accepted_at(text: str, zone: str) -> float:
    """ISO 8601 -> epoch seconds; without an offset it is wall time in `zone` (the product's one
    local-time parser: a skipped or repeated local time is refused). ValueError if bad."""
    return parse_local_time(text, zone)


# --------------------------------------------------------------------------- actions


def _active_in_session(session: Session, ticket_number: int) -> Rsaa | None:
    return session.execute(
        select(Rsaa).where(
            Rsaa.ticket_number == ticket_number,  # type: ignore[arg-type]
            Rsaa.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalar_one_or_none()


def active_rsaa(session_or_store: Session | Store, ticket_number: int) -> Rsaa | None:
    """The ticket's active RSAA, or None. With a Store, the row comes back detached."""
    if isinstance(session_or_store, Store):
        with session_or_store.session() as session:
            return _active_in_session(session, ticket_number)
    return _active_in_session(session_or_store, ticket_number)


def _already_active(ticket_number: int, existing: Rsaa | None) -> ActionError:
    if existing is None:
        return ActionError(f"#{ticket_number} already has an active RSAA: revoke it first")
    return ActionError(
        f"#{ticket_number} already has an active RSAA (#{existing.id}, {existing.server},"
        f" accepted by {existing.accepted_by_email}): revoke it first"
    )


def record_rsaa(
    store: Store,
    form: RsaaForm,
    actor: Actor,
    *,
    config: Config | None = None,
    expected_version: int | None = None,
    at: float | None = None,
) -> Rsaa:
    """Record an agreement on `form.ticket`: one transaction, audited ("rsaa_record").

    Raises `RsaaInvalid` (with `.errors`) for bad input, `ActionError` when a rule refuses (closed
    ticket, an active RSAA already, screen sharing without phone escalation), `Conflict` when
    `expected_version` is stale, `NotFound` for an unknown ticket. Nothing is saved on error.
    """
    at = now() if at is None else at
    errors = validate(form, now=at)
    if errors:
        raise RsaaInvalid(errors)
    clean = cleaned(form, source_ip=(config or Config()).company.source_ip)
    number = clean.ticket
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is closed: an RSAA needs an open ticket")
        if clean.method == RsaaMethod.SCREEN_SHARE and not ticket.phone_escalated:
            raise ActionError(
                f"#{number}: a screen-sharing session needs the ticket escalated to phone first"
            )
        existing = _active_in_session(session, number)
        if existing is not None:
            raise _already_active(number, existing)
        accepted_at = at if clean.accepted_at is None else clean.accepted_at
        if accepted_at < ticket.received_at:
            raise RsaaInvalid({"accepted_at": f"accepted before #{number} was received"})
        me = technician_for(session, actor)
        rsaa = Rsaa(
            ticket_number=number,
            accepted_by_name=clean.accepted_by_name,
            accepted_by_email=clean.accepted_by_email,
            accepted_at=accepted_at,
            server=clean.server,
            method=clean.method,
            tool_name=clean.tool_name,
            source_ip=clean.source_ip or "",
            temp_account=clean.temp_account,
            notes=clean.notes,
            recorded_by_id=me.id,  # type: ignore[arg-type]
            recorded_at=at,
        )
        try:
            # a savepoint, so after a refusal by the index we can still name the active one
            with session.begin_nested():
                session.add(rsaa)
                session.flush()
        except IntegrityError as exc:
            raise _already_active(number, _active_in_session(session, number)) from exc
        audit(
            session,
            number,
            actor,
            "rsaa_record",
            at,
            rsaa=rsaa.id,
            server=rsaa.server,
            method=rsaa.method,
            tool=rsaa.tool_name,
            source_ip=rsaa.source_ip,
            temp_account=rsaa.temp_account,
            accepted_by=rsaa.accepted_by_email,
        )
        return rsaa


@dataclass(frozen=True)
class RsaaRevoked:
    """The revoked agreement and what the technician must now undo on the customer's side."""

    rsaa: Rsaa
    reminder: str


def revoke_reminder(rsaa: Rsaa | RsaaRow) -> str:
    """'Remove the temporary account X and the firewall rule for SOURCE_IP on SERVER.'"""
    if rsaa.temp_account:
        return (
            f"Remove the temporary account {rsaa.temp_account} and the firewall rule for"
            f" {rsaa.source_ip} on {rsaa.server}."
        )
    return (
        f"Remove the firewall rule for {rsaa.source_ip} on {rsaa.server}"
        " (and any account created for this work)."
    )


def revoke_rsaa(
    store: Store,
    rsaa_id: int,
    actor: Actor,
    reason: str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    at: float | None = None,
) -> RsaaRevoked:
    """Revoke an active agreement: who (`actor`), when (`at`), why (`reason`). Audited.

    `expected_version` is the ticket's version. Revoking a revoked agreement is refused.
    The optional `note` goes into the audit event (it is checked for passwords like the notes).
    """
    at = now() if at is None else at
    if reason not in {r.value for r in RevokeReason}:
        raise RsaaInvalid({"reason": "choose customer_asked, work_finished or ticket_closed"})
    if note is not None:
        error = validate_field("notes", note)
        if error:
            raise RsaaInvalid({"note": error})
        note = note.strip() or None
    # An RSAA never moves, so its ticket can be read before the transaction; locking the ticket
    # must stay the transaction's first statement.
    with store.session() as session:
        number = session.execute(
            select(col(Rsaa.ticket_number)).where(col(Rsaa.id) == rsaa_id)
        ).scalar_one_or_none()
    if number is None:
        raise NotFound(f"there is no RSAA #{rsaa_id}")
    with ticket_action(store, number, expected_version, at) as (session, _ticket):
        rsaa = session.get(Rsaa, rsaa_id, populate_existing=True)
        assert rsaa is not None
        if rsaa.revoked_at is not None:
            by = session.get(Technician, rsaa.revoked_by_id) if rsaa.revoked_by_id else None
            when = dt.datetime.fromtimestamp(rsaa.revoked_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
            raise ActionError(
                f"RSAA #{rsaa_id} on #{number} was already revoked at {when} UTC by"
                f" {by.email if by else 'system'} ({rsaa.revoke_reason})"
            )
        rsaa.revoked_at = at
        rsaa.revoked_by_id = technician_for(session, actor).id
        rsaa.revoke_reason = reason
        audit(session, number, actor, "rsaa_revoke", at, rsaa=rsaa.id, reason=reason, note=note)
        session.flush()
        return RsaaRevoked(rsaa=rsaa, reminder=revoke_reminder(rsaa))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RsaaRow:
    """One agreement for a security review (`list_rsaas`)."""

    id: int
    ticket: int
    ticket_status: str
    customer: str  # the customer's name, else the requester's address
    server: str
    method: str
    tool_name: str | None
    source_ip: str
    temp_account: str | None
    accepted_by_name: str
    accepted_by_email: str
    accepted_at: float
    recorded_at: float
    recorded_by: str  # technician email
    revoked_at: float | None = None
    revoked_by: str | None = None  # technician email, or "system"
    revoke_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def method_text(self) -> str:
        """'RDP', 'tool: AnyDesk', 'screen share: Zoom'."""
        if self.method == RsaaMethod.RDP:
            return "RDP"
        label = "screen share" if self.method == RsaaMethod.SCREEN_SHARE else "tool"
        return f"{label}: {self.tool_name}" if self.tool_name else label


def list_rsaas(store: Store, active_only: bool = False) -> list[RsaaRow]:
    """Agreements across tickets, oldest first (active ones only with `active_only`)."""
    recorder = aliased(Technician)
    revoker = aliased(Technician)
    stmt = (
        select(
            Rsaa,
            col(Ticket.status),
            col(Ticket.requester_email),
            col(Customer.name),
            col(recorder.email),
            col(revoker.email),
        )
        .join(Ticket, col(Ticket.number) == col(Rsaa.ticket_number))
        .outerjoin(Customer, col(Customer.id) == col(Ticket.customer_id))
        .join(recorder, col(recorder.id) == col(Rsaa.recorded_by_id))
        .outerjoin(revoker, col(revoker.id) == col(Rsaa.revoked_by_id))
        .order_by(col(Rsaa.id))
    )
    if active_only:
        stmt = stmt.where(Rsaa.revoked_at.is_(None))  # type: ignore[union-attr]
    rows: list[RsaaRow] = []
    with store.session() as session:
        for rsaa, status, requester, customer_name, recorded_by, revoked_by in session.execute(
            stmt
        ):
            assert rsaa.id is not None
            rows.append(
                RsaaRow(
                    id=rsaa.id,
                    ticket=rsaa.ticket_number,
                    ticket_status=status,
                    customer=customer_name or requester,
                    server=rsaa.server,
                    method=rsaa.method,
                    tool_name=rsaa.tool_name,
                    source_ip=rsaa.source_ip,
                    temp_account=rsaa.temp_account,
                    accepted_by_name=rsaa.accepted_by_name,
                    accepted_by_email=rsaa.accepted_by_email,
                    accepted_at=rsaa.accepted_at,
                    recorded_at=rsaa.recorded_at,
                    recorded_by=recorded_by,
                    revoked_at=rsaa.revoked_at,
                    revoked_by=(revoked_by or "system") if rsaa.revoked_at is not None else None,
                    revoke_reason=rsaa.revoke_reason,
                )
            )
    return rows


class _HasTimes(Protocol):
    @property
    def accepted_at(self) -> float: ...
    @property
    def revoked_at(self) -> float | None: ...


def span_text(seconds: float) -> str:
    """'<1m', '42m', '2h 10m', '3d 4h'."""
    return span(int(seconds), seconds=False)


def rsaa_age_text(rsaa: _HasTimes, now: float) -> str:
    """'active for 2h 10m' (since acceptance), or 'revoked 3d 4h ago'."""
    if rsaa.revoked_at is None:
        return f"active for {span_text(now - rsaa.accepted_at)}"
    return f"revoked {span_text(now - rsaa.revoked_at)} ago"
