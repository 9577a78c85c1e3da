"""Customers, licenses, hosted subscriptions and partnerships from the licensing system; checkout
purchases from the web shop.

Files are CSV (header row) or JSON lines (one object per line), chosen by the extension
(.csv; .jsonl/.ndjson/.json) or, failing that, by the first character. Row numbers in errors are
line numbers in the file (a CSV header is line 1).

Columns (see docs/intake.md):
- customers: email, name, organization, timezone, other_emails ("a@x;b@y")
- licenses: key, customer_email, product, product_latest_version, version_in_use, purchased_on,
  ms_expires_on (optional: else purchase + 12 months), renewals (optional "kind:start:end;...",
  kind renewal|reinstatement)
- hosted: customer_email, starts_on, ends_on (optional)
- partners: customer_email, starts_on, ends_on (optional), tier (optional)

Upsert by natural key: customer email; license key; (customer, starts_on) for hosted and
partners. Addresses are only added, never removed, so old mail still matches. Every row is
validated; any error and nothing is changed (one transaction). `dry_run` counts and rolls back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from models.desk.actions import (
    SYSTEM,
    ActionError,
    action,
    audit,
    insert_ticket_and_message,
    normalize_email,
)
from models.mail.intake import KEY_PATTERN, find_customer
from models.policy.entitlement import purchase_term_end
from models.policy.inputs import MAX_IMPORT_BYTES, TooLarge, read_file_bounded
from models.store.db import Store
from models.store.tables import (
    Customer,
    CustomerAddress,
    Entitlement,
    HostedSubscription,
    License,
    Message,
    MsTerm,
    Partnership,
    Product,
    TicketKind,
)

KINDS = ("customers", "licenses", "hosted", "partners")
PURCHASE_KINDS = (TicketKind.EMERGENCY, TicketKind.INSTALLATION, TicketKind.TRAINING)


class RowError(ValueError):
    """One bad value in one row."""


@dataclass
class ImportReport:
    kind: str
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, message)
    changes: list[str] = field(default_factory=list)  # "row 3: updated jo@x.example (name)"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def applied(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        counts = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.errors:
            return f"{self.kind}: {len(self.errors)} bad rows, nothing imported"
        verb = "would be" if self.dry_run else ""
        return f"{self.kind}: {counts}" + (f" ({verb} — dry run, nothing changed)" if verb else "")


class _Rollback(Exception):
    pass


# --------------------------------------------------------------------------- reading


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from a CSV or JSON-lines file. Unreadable lines raise RowError."""
    # bounded: `import customers /dev/zero` must fail, not read forever
    text = read_file_bounded(path, MAX_IMPORT_BYTES).decode("utf-8-sig")
    suffix = Path(path).suffix.lower()
    is_json = suffix in (".jsonl", ".ndjson", ".json") or (
        suffix != ".csv" and text.lstrip().startswith("{")
    )
    if is_json:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"not JSON: {exc.msg}"}
                continue
            if not isinstance(row, dict):
                yield number, {"__error__": "not a JSON object"}
                continue
            yield number, row
        return
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            yield reader.line_num, {"__error__": "more values than columns"}
            continue
        yield reader.line_num, row


def _text(row: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"{name} is required")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RowError(f"{name} must be text")
    return str(value).strip()


def _email(value: str, name: str) -> str:
    address = normalize_email(value)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or " " in address:
        raise RowError(f"{name} {value!r} is not an email address")
    return address


def _date(row: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = _text(row, name, required=required)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RowError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _customer_by_email(session: Session, email: str, name: str) -> Customer:
    customer = find_customer(session, email)
    if customer is None:
        raise RowError(f"{name} {email!r} is not a known customer (import customers first)")
    return customer


# --------------------------------------------------------------------------- one row per kind


def _customer_row(session: Session, row: dict[str, Any]) -> tuple[str, str]:
    email = _email(_text(row, "email", required=True) or "", "email")
    name = _text(row, "name", required=True) or ""
    organization = _text(row, "organization")
    timezone = _text(row, "timezone")
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise RowError(f"timezone {timezone!r} is not an IANA time zone") from None
    others = [
        _email(part, "other_emails")
        for part in (_text(row, "other_emails") or "").replace(",", ";").split(";")
        if part.strip()
    ]
    customer = session.execute(
        select(Customer).where(col(Customer.email) == email)
    ).scalar_one_or_none()
    outcome, changed = "unchanged", []
    if customer is None:
        customer = Customer(
            name=name,
            email=email,
            organization=organization,
            timezone=timezone,
            created_at=dt.datetime.now(dt.UTC).timestamp(),
        )
        session.add(customer)
        session.flush()
        outcome = "created"
    else:
        for attr, value in (("name", name), ("organization", organization), ("timezone", timezone)):
            if getattr(customer, attr) != value:
                setattr(customer, attr, value)
                changed.append(attr)
    assert customer.id is not None
    for address in dict.fromkeys([email, *others]):
        owner = session.execute(
            select(CustomerAddress).where(col(CustomerAddress.email) == address)
        ).scalar_one_or_none()
        if owner is None:
            session.add(CustomerAddress(customer_id=customer.id, email=address))
            session.flush()
            if outcome != "created":
                changed.append(f"+{address}")
        elif owner.customer_id != customer.id:
            raise RowError(f"address {address} belongs to another customer")
    if changed:
        outcome = "updated"
    return outcome, f"{email}" + (f" ({', '.join(changed)})" if changed else "")


def _parse_renewals(value: str | None) -> list[tuple[str, str, str]]:
    terms = []
    for chunk in (value or "").split(";"):
        if not chunk.strip():
            continue
        parts = [p.strip() for p in chunk.split(":")]
        if len(parts) != 3 or parts[0] not in ("renewal", "reinstatement"):
            raise RowError(f"renewals: {chunk.strip()!r} is not 'renewal|reinstatement:START:END'")
        try:
            start, end = dt.date.fromisoformat(parts[1]), dt.date.fromisoformat(parts[2])
        except ValueError:
            raise RowError(f"renewals: {chunk.strip()!r} has a bad date (YYYY-MM-DD)") from None
        if end < start:
            raise RowError(f"renewals: {chunk.strip()!r} ends before it starts")
        terms.append((parts[0], start.isoformat(), end.isoformat()))
    return terms


def _license_row(session: Session, row: dict[str, Any]) -> tuple[str, str]:
    key = (_text(row, "key", required=True) or "").upper()
    if not KEY_PATTERN.fullmatch(key):
        raise RowError(f"key {key!r} is not a license key (like ABCD-1234-EFGH)")
    email = _email(_text(row, "customer_email", required=True) or "", "customer_email")
    customer = _customer_by_email(session, email, "customer_email")
    product_name = _text(row, "product", required=True) or ""
    latest = _text(row, "product_latest_version")
    version_in_use = _text(row, "version_in_use", required=True) or ""
    purchased_on = _date(row, "purchased_on", required=True) or ""
    expires_given = _date(row, "ms_expires_on")
    renewals = _parse_renewals(_text(row, "renewals"))
    purchase_end = (
        expires_given
        if expires_given and not renewals
        else purchase_term_end(purchased_on).isoformat()
    )
    if purchase_end < purchased_on:
        raise RowError("ms_expires_on is before purchased_on")
    terms = [("purchase", purchased_on, purchase_end), *renewals]
    ms_expires_on = max(end for _, _, end in terms)
    if expires_given and expires_given != ms_expires_on:
        raise RowError(f"ms_expires_on {expires_given} disagrees with renewals ({ms_expires_on})")

    product = session.execute(
        select(Product).where(col(Product.name) == product_name)
    ).scalar_one_or_none()
    changed: list[str] = []
    if product is None:
        if latest is None:
            raise RowError(f"product_latest_version is required for new product {product_name!r}")
        product = Product(name=product_name, latest_version=latest)
        session.add(product)
        session.flush()
        changed.append(f"new product {product_name}")
    elif latest is not None and product.latest_version != latest:
        product.latest_version = latest
        changed.append(f"{product_name} latest {latest}")

    license = session.execute(select(License).where(col(License.key) == key)).scalar_one_or_none()
    outcome = "unchanged"
    assert customer.id is not None and product.id is not None
    if license is None:
        license = License(
            key=key,
            customer_id=customer.id,
            product_id=product.id,
            version_in_use=version_in_use,
            purchased_on=purchased_on,
            ms_expires_on=ms_expires_on,
        )
        session.add(license)
        session.flush()
        outcome = "created"
    else:
        for attr, value in (
            ("customer_id", customer.id),
            ("product_id", product.id),
            ("version_in_use", version_in_use),
            ("purchased_on", purchased_on),
            ("ms_expires_on", ms_expires_on),
        ):
            if getattr(license, attr) != value:
                setattr(license, attr, value)
                changed.append(attr)
    existing = sorted(
        (t.kind, t.starts_on, t.ends_on)
        for t in session.execute(
            select(MsTerm).where(col(MsTerm.license_id) == license.id)
        ).scalars()
    )
    if existing != sorted(terms):
        session.execute(delete(MsTerm).where(col(MsTerm.license_id) == license.id))
        assert license.id is not None
        for kind, start, end in terms:
            session.add(MsTerm(license_id=license.id, kind=kind, starts_on=start, ends_on=end))
        if outcome != "created":
            changed.append("M&S terms")
    if changed and outcome != "created":
        outcome = "updated"
    return outcome, key + (f" ({', '.join(changed)})" if changed else "")


def _period_row(session: Session, row: dict[str, Any], table: type[Any]) -> tuple[str, str]:
    email = _email(_text(row, "customer_email", required=True) or "", "customer_email")
    customer = _customer_by_email(session, email, "customer_email")
    starts_on = _date(row, "starts_on", required=True) or ""
    ends_on = _date(row, "ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise RowError("ends_on is before starts_on")
    values: dict[str, Any] = {"ends_on": ends_on}
    if table is Partnership:
        values["tier"] = _text(row, "tier")
    existing = session.execute(
        select(table).where(table.customer_id == customer.id, table.starts_on == starts_on)
    ).scalar_one_or_none()
    label = f"{email} from {starts_on}"
    if existing is None:
        session.add(table(customer_id=customer.id, starts_on=starts_on, **values))
        session.flush()
        return "created", label
    changed = [name for name, value in values.items() if getattr(existing, name) != value]
    for name in changed:
        setattr(existing, name, values[name])
    return ("updated" if changed else "unchanged"), label + (
        f" ({', '.join(changed)})" if changed else ""
    )


def _natural_key(kind: str, row: dict[str, Any]) -> str:
    if kind == "customers":
        return normalize_email(str(row.get("email") or ""))
    if kind == "licenses":
        return str(row.get("key") or "").strip().upper()
    return f"{normalize_email(str(row.get('customer_email') or ''))}|{row.get('starts_on')}"


def _apply_rows(
    store: Store,
    path: Path | str,
    report: ImportReport,
    apply_row: Callable[[Session, int, dict[str, Any]], None],
    *,
    dry_run: bool = False,
    finish: Callable[[Session], None] | None = None,
) -> ImportReport:
    """Every row of `path` through `apply_row` in one transaction; a row it refuses with RowError
    is reported with its number. Any refused row (or `dry_run`) rolls everything back; otherwise
    `finish` runs last, in the same transaction. No savepoints (pysqlite handles them badly)."""
    try:
        rows = list(read_rows(Path(path)))
    except (OSError, UnicodeDecodeError, csv.Error, TooLarge) as exc:
        report.errors.append((0, f"cannot read {path}: {exc}"))
        return report
    try:
        with action(store) as session:
            for number, row in rows:
                try:
                    if "__error__" in row:
                        raise RowError(row["__error__"])
                    apply_row(session, number, row)
                except RowError as exc:
                    report.errors.append((number, str(exc)))
            if report.errors or dry_run:
                raise _Rollback
            if finish is not None:
                finish(session)
    except _Rollback:
        pass
    return report


def import_rows(store: Store, kind: str, path: Path | str, dry_run: bool = False) -> ImportReport:
    """Validate and upsert every row of `path` in one transaction (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r} (use {', '.join(KINDS)})")
    report = ImportReport(kind, dry_run=dry_run)
    seen: dict[str, int] = {}

    def apply_row(session: Session, number: int, row: dict[str, Any]) -> None:
        natural = _natural_key(kind, row)
        if natural in seen:
            raise RowError(f"same {kind} entry as row {seen[natural]}")
        seen[natural] = number
        if kind == "customers":
            outcome, label = _customer_row(session, row)
        elif kind == "licenses":
            outcome, label = _license_row(session, row)
        else:
            table = HostedSubscription if kind == "hosted" else Partnership
            outcome, label = _period_row(session, row, table)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome != "unchanged":
            report.changes.append(f"row {number}: {outcome} {label}")

    def finish(session: Session) -> None:
        audit(
            session,
            None,
            SYSTEM,
            f"import_{kind}",
            dt.datetime.now(dt.UTC).timestamp(),
            file=str(path),
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        )

    return _apply_rows(store, path, report, apply_row, dry_run=dry_run, finish=finish)


# --------------------------------------------------------------------------- purchases


def _purchase_note(kind: str, at: float) -> str:
    when = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if kind == TicketKind.EMERGENCY:
        return (
            f"Emergency 24x7 purchased {when}: non-refundable; 1-hour initial response "
            "from the purchase time"
        )
    return f"{kind.capitalize()} purchased {when}: follow up and schedule a session"


def _insert_purchase(
    session: Session,
    kind: str,
    customer_email: str,
    license_key: str | None,
    subject: str,
    body: str,
    at: float,
    order: str | None = None,
) -> int:
    if kind not in PURCHASE_KINDS:
        raise RowError(f"kind {kind!r} is not one of {', '.join(PURCHASE_KINDS)}")
    email = _email(customer_email, "customer")
    if not subject.strip():
        raise RowError("subject is required")
    customer = find_customer(session, email)
    license_id = None
    if license_key:
        license = session.execute(
            select(License).where(col(License.key) == license_key.strip().upper())
        ).scalar_one_or_none()
        if license is None:
            raise RowError(f"license {license_key!r} is not known")
        if customer is not None and license.customer_id != customer.id:
            raise RowError(f"license {license_key} belongs to another customer")
        license_id = license.id
    return insert_ticket_and_message(
        session,
        subject=subject.strip(),
        requester_email=email,
        received_at=at,
        body=body,
        kind=kind,
        customer_id=customer.id if customer else None,
        license_id=license_id,
        entitlement=Entitlement.PURCHASE,
        entitlement_note=_purchase_note(kind, at),
        rfc_message_id=f"<purchase.{order}@shiftdesk.invalid>" if order else None,
    ).number


def add_purchase(
    store: Store,
    kind: str,
    customer_email: str,
    license_key: str | None,
    subject: str,
    body: str,
    at: float,
) -> int:
    """Create the ticket the shop submits after checkout; returns its number."""
    with action(store) as session:
        try:
            return _insert_purchase(session, kind, customer_email, license_key, subject, body, at)
        except RowError as exc:
            raise ActionError(str(exc)) from exc


def parse_when(value: str) -> float:
    """ISO date-time → epoch; without an offset it is UTC. Years 1970–2999 only: a deadline
    computed from year 9999 is past what datetime can show, and every list would fail on it."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not 1970 <= moment.year <= 2999:
        raise ValueError(f"{value!r}: the year must be between 1970 and 2999")
    return moment.timestamp()


def import_purchases(store: Store, path: Path | str, now: float | None = None) -> ImportReport:
    """JSON lines: kind, customer, license (optional), subject, body, at (ISO, optional),
    order (optional: an order id makes a re-import skip that purchase)."""
    report = ImportReport("purchases")
    default_at = dt.datetime.now(dt.UTC).timestamp() if now is None else now

    def apply_row(session: Session, number: int, row: dict[str, Any]) -> None:
        order = _text(row, "order")
        if order is not None:
            marker = f"<purchase.{order}@shiftdesk.invalid>"
            exists = session.execute(
                select(col(Message.ticket_number)).where(col(Message.rfc_message_id) == marker)
            ).first()
            if exists is not None:
                report.unchanged += 1
                return
        when = _text(row, "at")
        try:
            at = parse_when(when) if when else default_at
        except ValueError:
            raise RowError(f"at {when!r} is not an ISO date-time") from None
        customer = _text(row, "customer") or _text(row, "customer_email")
        if customer is None:
            raise RowError("customer is required")
        ticket = _insert_purchase(
            session,
            _text(row, "kind", required=True) or "",
            customer,
            _text(row, "license"),
            _text(row, "subject", required=True) or "",
            str(row.get("body") or ""),
            at,
            order,
        )
        report.created += 1
        report.changes.append(f"row {number}: ticket #{ticket}")

    return _apply_rows(store, path, report, apply_row)
