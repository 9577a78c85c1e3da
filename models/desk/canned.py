"""Canned replies (reusable reply bodies with variables) and each technician's signature.

A canned reply's body may name four variables: `{customer}`, `{ticket}`, `{technician}` and
`{deadline}`; `{{` and `}}` write a literal brace. Anything else in braces (an unknown variable,
a format spec, a lone brace) is refused with its line and column when the reply is added or
edited, so rendering never fails: `render` fills the variables of a valid body and copies
anything it does not understand literally (a body written to the store some other way).
Values are inserted as they are, never parsed again: a customer called "{ticket}" stays
"{ticket}".

Every write is one transaction with an audit event (ticket-less: `ticket_number` is NULL).
`edit` and `remove` take an optional `expected_version` (optimistic lock, as tickets do).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from models.clock.sla import SlaPolicy
from models.desk.actions import (
    ActionError,
    Actor,
    NotFound,
    action,
    audit,
    normalize_email,
    now,
    technician_for,
)
from models.policy.credentials import find_credential
from models.policy.sanitize import safe_line, safe_text
from models.store.db import Store
from models.store.tables import CannedReply, Technician

VARIABLES = ("customer", "ticket", "technician", "deadline")
MAX_NAME_CHARS = 80
MAX_BODY_CHARS = 20_000
MAX_SIGNATURE_CHARS = 2_000
SIGNATURE_SEPARATOR = "-- "  # the usenet/email convention: mail clients dim what follows

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")
_VARIABLE_LIST = "{customer}, {ticket}, {technician} or {deadline}"


class CannedInvalid(ActionError):
    """A name, body or signature that cannot be stored (bad data: the CLI exits 65)."""


class CannedExists(ActionError):
    """Another canned reply already has that name."""


class CannedConflict(ActionError):
    """Someone changed the canned reply since it was loaded (`expected_version`)."""


@dataclass(frozen=True)
class CannedInfo:
    id: int
    name: str
    body: str
    created_by: str | None  # technician email
    updated_at: float
    version: int


@dataclass(frozen=True)
class CannedVariables:
    """What a canned reply's variables stand for on one ticket."""

    customer: str  # the customer's name (or the address that wrote in)
    ticket: int
    technician: str  # the technician's name
    deadline_at: float  # when we answer by (epoch seconds)
    zone: str  # where the customer reads it: their IANA zone, else the company's


# --------------------------------------------------------------------------- validation


def _line_col(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line} column {column}"


def check_name(name: str) -> str:
    """The name as stored (outer spaces removed), or CannedInvalid saying why."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise CannedInvalid("the name is empty")
    if len(cleaned) > MAX_NAME_CHARS:
        raise CannedInvalid(
            f"the name is too long ({len(cleaned)} characters, at most {MAX_NAME_CHARS})"
        )
    if safe_line(cleaned) != cleaned:
        raise CannedInvalid("the name must be one line without control characters or tabs")
    if cleaned.startswith("-"):
        raise CannedInvalid(f"the name {cleaned!r} starts with '-' (it would read as an option)")
    return cleaned


def _check_text(text: str, what: str, limit: int) -> str:
    cleaned = (text or "").replace("\r\n", "\n")
    if not cleaned.strip():
        raise CannedInvalid(f"the {what} is empty")
    if len(cleaned) > limit:
        raise CannedInvalid(
            f"the {what} is too long ({len(cleaned):,} characters, at most {limit:,})"
        )
    if safe_text(cleaned) != cleaned:
        bad = next(i for i, char in enumerate(cleaned) if safe_text(char) != char)
        raise CannedInvalid(
            f"the {what} contains a control character at {_line_col(cleaned, bad)} "
            f"(U+{ord(cleaned[bad]):04X})"
        )
    found = find_credential(cleaned)
    if found is not None:
        raise CannedInvalid(
            f"the {what} seems to contain {found}: shiftdesk never stores credentials"
        )
    return cleaned


def check_body(body: str) -> str:
    """The body as stored (CRLF -> LF, trailing whitespace kept), or CannedInvalid: empty, too
    long, a control character, a credential, or braces that are not one of the variables."""
    cleaned = _check_text(body, "body", MAX_BODY_CHARS)
    for match in _TOKEN.finditer(cleaned):
        token = match.group()
        if token in ("{{", "}}"):
            continue
        where = _line_col(cleaned, match.start())
        if token in ("{", "}"):
            raise CannedInvalid(
                f"a lone {token!r} at {where}: write {token}{token} for a literal brace"
            )
        if match.group(1) not in VARIABLES:
            raise CannedInvalid(
                f"unknown variable {safe_line(token)[:40]} at {where}: use {_VARIABLE_LIST} "
                "(write {{ and }} for literal braces)"
            )
    return cleaned


def check_signature(signature: str) -> str:
    """The signature as stored (surrounding blank lines and trailing spaces removed), or
    CannedInvalid. A signature is literal text: braces are kept as they are."""
    cleaned = _check_text(signature, "signature", MAX_SIGNATURE_CHARS)
    return "\n".join(line.rstrip() for line in cleaned.strip("\n").split("\n")).strip("\n")


# --------------------------------------------------------------------------- rendering


def deadline_text(at: float, zone: str) -> str:
    """ "Wednesday 4 March 2026, 14:30 MST" in `zone` (the company's zone if it is not one)."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = dt.datetime.fromtimestamp(at, tz)
    abbreviation = local.tzname() or ""
    if not abbreviation or abbreviation[0] in "+-":  # "-03": say it as an offset
        offset = local.strftime("%z")
        abbreviation = f"UTC{offset[:3]}:{offset[3:]}"
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} {abbreviation}"


def render(body: str, variables: CannedVariables) -> str:
    """The body with its variables filled in. Never raises: what is not a known variable (in a
    body stored without `check_body`) is copied literally."""
    values = {
        "customer": safe_line(variables.customer),
        "ticket": f"#{variables.ticket}",
        "technician": safe_line(variables.technician),
        "deadline": deadline_text(variables.deadline_at, variables.zone),
    }
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(body):
        out.append(body[position : match.start()])
        token = match.group()
        if token == "{{":
            out.append("{")
        elif token == "}}":
            out.append("}")
        else:
            out.append(values.get(match.group(1) or "", token))
        position = match.end()
    out.append(body[position:])
    return "".join(out)


def reply_deadline(running: float | None, now: float, policy: SlaPolicy) -> float:
    """What `{deadline}` promises: the ticket's running SLA deadline while it is still ahead;
    otherwise (answered, closed, not entitled, or already overdue) the standard first-response
    target counted from `now`, so a reply never promises a time that has passed."""
    if running is not None and running > now:
        return running
    return policy.deadline("standard", now)


def variables_for(
    *,
    ticket: int,
    customer_name: str | None,
    requester_email: str,
    customer_zone: str | None,
    company_zone: str,
    technician: str,
    deadline_at: float,
) -> CannedVariables:
    """The variables of one ticket: the customer's zone when it is a real zone, else the
    company's; the requester's address when the customer is unknown."""
    zone = company_zone
    if customer_zone:
        try:
            zoneinfo.ZoneInfo(customer_zone)
            zone = customer_zone
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return CannedVariables(
        customer=customer_name or requester_email,
        ticket=ticket,
        technician=technician,
        deadline_at=deadline_at,
        zone=zone,
    )


def summary_line(body: str) -> str:
    """The line that says what a reply is about, for lists: the first non-blank line that is
    not a greeting ("Hello {customer}," says nothing), made safe for one table cell."""
    lines = [line for line in body.splitlines() if line.strip()]
    first = next((line for line in lines if not line.rstrip().endswith(",")), None)
    return safe_line(first if first is not None else (lines[0] if lines else ""))


# --------------------------------------------------------------------------- reading


def _info(row: CannedReply, created_by: str | None) -> CannedInfo:
    assert row.id is not None
    return CannedInfo(row.id, row.name, row.body, created_by, row.updated_at, row.version)


def list_canned(store: Store) -> list[CannedInfo]:
    """Every canned reply, by name (case-insensitive)."""
    with store.session() as session:
        rows = session.execute(
            select(CannedReply, col(Technician.email))
            .outerjoin(Technician, col(Technician.id) == col(CannedReply.created_by_id))
            .order_by(func.lower(col(CannedReply.name)), col(CannedReply.id))
        ).all()
        return [_info(row, email) for row, email in rows]


def _find(session: Session, name: str) -> CannedReply | None:
    """By exact name, else by name ignoring case."""
    cleaned = (name or "").strip()
    row = session.execute(
        select(CannedReply).where(col(CannedReply.name) == cleaned)
    ).scalar_one_or_none()
    if row is None:
        row = session.execute(
            select(CannedReply)
            .where(func.lower(col(CannedReply.name)) == cleaned.lower())
            .order_by(col(CannedReply.id))
            .limit(1)
        ).scalar_one_or_none()
    return row


def _not_found(name: str) -> NotFound:
    return NotFound(f"there is no canned reply named {safe_line(name)!r} (see `canned list`)")


def get_canned(store: Store, name: str) -> CannedInfo:
    """One canned reply by name (case-insensitive), or NotFound."""
    with store.session() as session:
        row = _find(session, name)
        if row is None:
            raise _not_found(name)
        creator = session.get(Technician, row.created_by_id) if row.created_by_id else None
        return _info(row, creator.email if creator else None)


def _name_taken(session: Session, name: str, except_id: int | None = None) -> str | None:
    query = select(col(CannedReply.name)).where(func.lower(col(CannedReply.name)) == name.lower())
    if except_id is not None:
        query = query.where(col(CannedReply.id) != except_id)
    return session.execute(query.limit(1)).scalar_one_or_none()


# --------------------------------------------------------------------------- writing


def add_canned(
    store: Store, name: str, body: str, actor: Actor, *, at: float | None = None
) -> CannedInfo:
    """A new canned reply; CannedInvalid for bad data, CannedExists for a taken name (names
    are unique ignoring case)."""
    at = now() if at is None else at
    name = check_name(name)
    body = check_body(body)
    with action(store) as session:
        me = technician_for(session, actor)
        taken = _name_taken(session, name)
        if taken is not None:
            raise CannedExists(f"a canned reply named {taken!r} already exists (edit it instead)")
        row = CannedReply(name=name, body=body, created_by_id=me.id, updated_at=at, version=1)
        session.add(row)
        try:
            session.flush()  # a racing add of the same name fails here, inside the transaction
        except IntegrityError:
            raise CannedExists(f"a canned reply named {name!r} already exists") from None
        audit(session, None, actor, "canned_add", at, canned=row.id, name=name, chars=len(body))
        return _info(row, me.email)


def edit_canned(
    store: Store,
    name: str,
    actor: Actor,
    *,
    body: str | None = None,
    new_name: str | None = None,
    expected_version: int | None = None,
    at: float | None = None,
) -> CannedInfo:
    """Change a canned reply's body and/or name; its version goes up by one. With
    `expected_version`, refused (CannedConflict) when someone changed it since."""
    at = now() if at is None else at
    if body is None and new_name is None:
        raise CannedInvalid("nothing to change: give a new body or a new name")
    checked_body = check_body(body) if body is not None else None
    checked_name = check_name(new_name) if new_name is not None else None
    with action(store) as session:
        row = _find(session, name)
        if row is None:
            raise _not_found(name)
        if checked_name is not None:
            taken = _name_taken(session, checked_name, except_id=row.id)
            if taken is not None:
                raise CannedExists(f"a canned reply named {taken!r} already exists")
        values: dict[str, object] = {"version": col(CannedReply.version) + 1, "updated_at": at}
        if checked_body is not None:
            values["body"] = checked_body
        if checked_name is not None:
            values["name"] = checked_name
        statement = update(CannedReply).where(col(CannedReply.id) == row.id)
        if expected_version is not None:
            statement = statement.where(col(CannedReply.version) == expected_version)
        try:
            result = session.execute(statement.values(**values))
        except IntegrityError:
            raise CannedExists(f"a canned reply named {checked_name!r} already exists") from None
        if getattr(result, "rowcount", 0) == 0:
            raise CannedConflict(
                f"canned reply {row.name!r} changed since you loaded it (version "
                f"{expected_version}, now {row.version}): show it again, then edit"
            )
        session.refresh(row)
        audit(
            session,
            None,
            actor,
            "canned_edit",
            at,
            canned=row.id,
            name=row.name,
            renamed_from=name if checked_name is not None and checked_name != name else None,
            version=row.version,
            chars=len(row.body),
        )
        creator = session.get(Technician, row.created_by_id) if row.created_by_id else None
        return _info(row, creator.email if creator else None)


def remove_canned(
    store: Store,
    name: str,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> CannedInfo:
    """Delete a canned reply (the audit event keeps its name and body)."""
    at = now() if at is None else at
    with action(store) as session:
        row = _find(session, name)
        if row is None:
            raise _not_found(name)
        statement = delete(CannedReply).where(col(CannedReply.id) == row.id)
        if expected_version is not None:
            statement = statement.where(col(CannedReply.version) == expected_version)
        result = session.execute(statement)
        if getattr(result, "rowcount", 0) == 0:
            raise CannedConflict(
                f"canned reply {row.name!r} changed since you loaded it (version "
                f"{expected_version}, now {row.version}): show it again, then remove"
            )
        info = _info(row, None)
        audit(
            session,
            None,
            actor,
            "canned_remove",
            at,
            canned=info.id,
            name=info.name,
            body=info.body,
        )
        return info


# --------------------------------------------------------------------------- signature


def get_signature(store: Store, actor: Actor) -> str | None:
    """The technician's signature, or None (also for a technician not in the store yet)."""
    with store.session() as session:
        return session.execute(
            select(col(Technician.signature)).where(
                col(Technician.email) == normalize_email(actor.email)
            )
        ).scalar_one_or_none()


def technician_name(store: Store, actor: Actor) -> str:
    """How `{technician}` reads: the stored name, else the actor's, else the address."""
    with store.session() as session:
        stored = session.execute(
            select(col(Technician.name)).where(
                col(Technician.email) == normalize_email(actor.email)
            )
        ).scalar_one_or_none()
    return stored or actor.name or actor.email


def set_signature(store: Store, actor: Actor, signature: str, *, at: float | None = None) -> str:
    """Store the technician's signature (CannedInvalid if empty, too long, ...)."""
    at = now() if at is None else at
    cleaned = check_signature(signature)
    with action(store) as session:
        me = technician_for(session, actor)
        had = me.signature is not None
        me.signature = cleaned
        audit(session, None, actor, "signature_set", at, replaced=had, chars=len(cleaned))
    return cleaned


def clear_signature(store: Store, actor: Actor, *, at: float | None = None) -> bool:
    """Remove the technician's signature; False when there was none (nothing is written)."""
    at = now() if at is None else at
    with action(store) as session:
        me = technician_for(session, actor)
        if me.signature is None:
            return False
        me.signature = None
        audit(session, None, actor, "signature_clear", at)
        return True


def signature_block(signature: str) -> str:
    """What goes under a reply: a blank line, the "-- " separator, the signature."""
    return f"\n\n{SIGNATURE_SEPARATOR}\n{signature}"


def has_signature(body: str, signature: str) -> bool:
    """Whether `body` already ends with `signature` under the separator."""
    return body.rstrip().endswith(f"{SIGNATURE_SEPARATOR}\n{signature}".rstrip())


def only_signature(body: str, signature: str | None) -> bool:
    """Whether `body` holds nothing but the signature block (nothing written yet)."""
    if not body.strip():
        return True
    return bool(signature) and body.strip() == signature_block(signature or "").strip()


def with_signature(body: str, signature: str | None) -> str:
    """`body` with the signature block appended, unless it has no signature or ends with it."""
    if not signature or has_signature(body, signature):
        return body
    return body.rstrip() + signature_block(signature) + "\n"
