"""Realistic demo data, a simulated arrival stream, and bulk seeding for load tests.

Everything here is reproducible from a seed, so snapshot tests get the same store every time.
Seeding writes rows directly (it *creates* history, it does not act on tickets); each seeded
ticket still gets its "create" audit event and change-log row so the live views see it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from models.clock.calendar import BusinessCalendar
from models.desk.actions import (
    ActionError,
    Actor,
    audit,
    insert_ticket,
    mark_changed,
    normalize_email,
    technician_for,
)
from models.desk.work import _record_first_response, sla_policy
from models.policy.config import Config
from models.store.db import Store
from models.store.search import sqlite_bulk_load
from models.store.tables import (
    AuditEvent,
    CannedReply,
    ChangeLog,
    Customer,
    CustomerAddress,
    Entitlement,
    HostedSubscription,
    License,
    Message,
    MessageDirection,
    MsTerm,
    Partnership,
    PhoneDecision,
    Product,
    Rsaa,
    Technician,
    Ticket,
    TicketKind,
    TicketStatus,
    table_of,
)

HOUR = 3600.0
DAY = 86400.0

PRODUCTS = [("Helpdesk Server", "9.4.2"), ("Asset Tracker", "5.1.0"), ("Mail Connector", "3.2.1")]
OLD_VERSIONS = {
    "Helpdesk Server": ["9.4.2", "9.4.1", "9.3.0", "8.7.5"],
    "Asset Tracker": ["5.1.0", "5.0.3", "4.2.0"],
    "Mail Connector": ["3.2.1", "3.1.0", "2.9.4"],
}

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Farah",
    "Gustavo",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Almeida",
    "Brandt",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhou",
]
ORGS = [
    "Northwind Traders",
    "Contoso Health",
    "Fabrikam Logistics",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Litware Labs",
    "Proseware",
    "Woodgrove Bank",
    "Margie's Travel",
    "Coho Winery",
    "Lucerne Publishing",
    "Trey Research",
    "Fourth Coffee",
    "Blue Yonder Airlines",
    "City Power & Light",
    "Humongous Insurance",
    "Alpine Ski House",
]
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
]

ISSUES = [
    (
        "Service won't start after upgrade to {v}",
        "After upgrading, the service stops right away. The event log shows error 1067.",
    ),
    (
        "Login page returns 500 since this morning",
        "Every user gets an Internal Server Error on the login page. Nothing changed on our side.",
    ),
    (
        "Email notifications stopped",
        "Since the weekend no notification emails go out. The queue shows 412 pending.",
    ),
    (
        "Slow search on large projects",
        "Searching in projects with more than 20k items takes over a minute.",
    ),
    (
        "LDAP sync fails with timeout",
        "The nightly LDAP sync fails with 'operation timed out' after about 10 minutes.",
    ),
    (
        "Report export produces empty PDF",
        "Exporting the monthly report gives a 1 KB PDF with no pages.",
    ),
    (
        "How do I move the database to a new server?",
        "We are retiring our old SQL server. What is the supported way to migrate?",
    ),
    (
        "License key rejected after hardware change",
        "We replaced the server's NIC and now the license key is reported as invalid.",
    ),
    (
        "Attachments over 10 MB fail to upload",
        "Users get 'upload failed' for anything above 10 MB. Is there a setting?",
    ),
    (
        "SSL certificate renewal broke the web UI",
        "After installing the renewed certificate browsers show ERR_SSL_PROTOCOL_ERROR.",
    ),
    (
        "Scheduled tasks run twice",
        "Every scheduled task now runs twice, a minute apart. Started after the DST change.",
    ),
    (
        "API returns 401 with a valid token",
        "Our integration started getting 401 Unauthorized with tokens that work in the UI.",
    ),
    (
        "Mobile app can't connect",
        "The mobile app says 'server unreachable' but the website works from the same phone.",
    ),
    (
        "Backup job fails: disk full",
        "The backup job fails with 'not enough space' although 200 GB are free.",
    ),
    (
        "Custom fields lost after import",
        "We imported 3,000 assets from CSV and all custom field values are empty.",
    ),
]
PHONE_LINES = [
    "\n\nCould you call me at +1 602 555 0143? It's urgent.",
    "\n\nPlease ring me, easier to explain on the phone.",
    "\n\nCan we get on a call today? My number is (480) 555-0199.",
]
EMERGENCY_ISSUES = [
    (
        "EMERGENCY: production server down",
        "Our production instance is down for 800 users. Purchased Emergency 24x7.",
    ),
    (
        "EMERGENCY: database corruption after power loss",
        "After a power cut the database won't mount. Business is stopped.",
    ),
    (
        "EMERGENCY: all agents locked out",
        "Nobody can log in after an AD change. Emergency ticket purchased.",
    ),
]


def _date(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class DemoWorld:
    customer_ids: list[int]
    entitled: list[tuple[int, str, int | None]]  # (customer id, basis, license id)
    unentitled: list[int]


def _customers(session: Session, rng: random.Random, count: int, now: float) -> list[Customer]:
    used: set[str] = set()
    customers = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        org = ORGS[i % len(ORGS)]
        domain = org.lower().replace("'", "").replace("&", "and").replace(" ", "") + ".example"
        email = f"{first.lower()}.{last.lower()}@{domain}".replace("é", "e").replace("í", "i")
        if email in used:
            email = email.replace("@", f"{i}@")
        used.add(email)
        customer = Customer(
            name=f"{first} {last}",
            email=email,
            organization=org,
            timezone=rng.choice(ZONES),
            created_at=now - 400 * DAY,
        )
        session.add(customer)
        customers.append(customer)
    session.flush()
    for customer in customers:
        assert customer.id is not None
        session.add(CustomerAddress(customer_id=customer.id, email=customer.email))
    return customers


def build_world(session: Session, rng: random.Random, now: float, customers: int = 40) -> DemoWorld:
    """Customers, products, licenses in every M&S state, hosted customers and partners."""
    products = []
    for name, latest in PRODUCTS:
        product = Product(name=name, latest_version=latest)
        session.add(product)
        products.append(product)
    session.flush()
    people = _customers(session, rng, customers, now)
    today = _date(now)
    world = DemoWorld([c.id for c in people if c.id is not None], [], [])
    states = [
        "active",
        "active",
        "expiring",
        "lapsed",
        "reinstated",
        "renewed",
        "legacy",
        "hosted",
        "partner",
        "ended_partner",
        "none",
    ]
    for i, customer in enumerate(people):
        assert customer.id is not None
        state = states[i % len(states)]
        if state in ("hosted", "partner", "ended_partner", "none"):
            if state == "hosted":
                session.add(
                    HostedSubscription(
                        customer_id=customer.id, starts_on=str(today - dt.timedelta(days=300))
                    )
                )
                world.entitled.append((customer.id, Entitlement.HOSTED, None))
            elif state == "partner":
                session.add(
                    Partnership(
                        customer_id=customer.id,
                        tier="Gold",
                        starts_on=str(today - dt.timedelta(days=900)),
                    )
                )
                world.entitled.append((customer.id, Entitlement.PARTNER, None))
            else:
                if state == "ended_partner":
                    session.add(
                        Partnership(
                            customer_id=customer.id,
                            tier="Silver",
                            starts_on=str(today - dt.timedelta(days=900)),
                            ends_on=str(today - dt.timedelta(days=30)),
                        )
                    )
                world.unentitled.append(customer.id)
            continue
        product = products[i % len(products)]
        assert product.id is not None
        versions = OLD_VERSIONS[product.name]
        version = versions[-1] if state == "legacy" else rng.choice(versions[:2])
        purchased = today - dt.timedelta(days=rng.randint(100, 330))
        terms: list[tuple[str, dt.date, dt.date]] = [
            ("purchase", purchased, _add_years(purchased, 1) - dt.timedelta(days=1))
        ]
        if state == "expiring":
            purchased = today - dt.timedelta(days=360)
            terms = [("purchase", purchased, _add_years(purchased, 1) - dt.timedelta(days=1))]
        elif state == "lapsed":
            purchased = today - dt.timedelta(days=500)
            terms = [("purchase", purchased, _add_years(purchased, 1) - dt.timedelta(days=1))]
        elif state == "reinstated":
            purchased = today - dt.timedelta(days=800)
            first_end = _add_years(purchased, 1) - dt.timedelta(days=1)
            back = today - dt.timedelta(days=60)
            terms = [
                ("purchase", purchased, first_end),
                ("reinstatement", back, _add_years(back, 1) - dt.timedelta(days=1)),
            ]
        elif state == "renewed":
            purchased = today - dt.timedelta(days=700)
            first_end = _add_years(purchased, 1) - dt.timedelta(days=1)
            terms = [
                ("purchase", purchased, first_end),
                ("renewal", first_end + dt.timedelta(days=1), _add_years(first_end, 1)),
            ]
        key = "-".join(f"{rng.randrange(16**4):04X}" for _ in range(4))
        license_row = License(
            key=f"HD-{key}",
            customer_id=customer.id,
            product_id=product.id,
            version_in_use=version,
            purchased_on=str(purchased),
            ms_expires_on=str(max(t[2] for t in terms)),
        )
        session.add(license_row)
        session.flush()
        assert license_row.id is not None
        for kind, start, end in terms:
            session.add(
                MsTerm(license_id=license_row.id, kind=kind, starts_on=str(start), ends_on=str(end))
            )
        if max(t[2] for t in terms) >= today:
            world.entitled.append((customer.id, Entitlement.LICENSE, license_row.id))
        else:
            world.unentitled.append(customer.id)
    session.flush()
    return world


TECHNICIANS = [
    Actor("alex@shiftdesk.example", "Alex Rivera"),
    Actor("sam@shiftdesk.example", "Sam Okoye"),
    Actor("kim@shiftdesk.example", "Kim Lindqvist"),
]


def _ticket_text(rng: random.Random, session: Session, license_id: int | None) -> tuple[str, str]:
    subject, body = rng.choice(ISSUES)
    version = "9.4.2"
    if license_id is not None:
        lic = session.get(License, license_id)
        if lic is not None:
            version = lic.version_in_use
    return subject.format(v=version), body + f"\n\nWe run version {version}.\n\nThanks"


DEMO_OPEN_OFFSET = 90 * 60  # `--at open` out of hours: this long after the next opening
DEMO_MIN_AHEAD = 2 * 60 * 60  # `--at open` leaves at least this much open time before closing
_DEMO_SPANS_SEARCHED = 800  # openings looked at for one long enough (over two years of weekdays)


def demo_instant(when: str, calendar: BusinessCalendar, now: float) -> float:
    """The moment a demo pretends it is. `open`: now if the company is open for at least two more
    hours, else 90 minutes into its next opening (so a demo given at night, at the weekend or at
    closing time shows clocks that run for a while); an opening shorter than 3.5 hours starts two
    hours before it closes. Else a local date-time in the company's zone ("2026-12-01T10:30").
    Raises ValueError."""
    text = when.strip()
    if text.lower() == "open":
        if calendar.is_open(now) and calendar.next_change(now) - now >= DEMO_MIN_AHEAD:
            return now
        probe = calendar.next_change(now) if calendar.is_open(now) else now
        for _ in range(_DEMO_SPANS_SEARCHED):
            opening = calendar.next_open(probe)
            if opening == math.inf:
                break
            closing = calendar.next_change(opening)
            if closing - opening >= DEMO_OPEN_OFFSET + DEMO_MIN_AHEAD:
                return opening + DEMO_OPEN_OFFSET
            if closing - opening >= DEMO_MIN_AHEAD:
                return closing - DEMO_MIN_AHEAD
            probe = closing
        raise ValueError("the calendar has no opening of two hours or more in the next years")
    from models.desk.triage import local_to_epoch

    try:
        return local_to_epoch(text.replace(" ", "T", 1), calendar.timezone)
    except ActionError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


# canned replies a support desk really keeps (the names technicians would look for)
DEMO_CANNED: list[tuple[str, str]] = [
    (
        "Reinstate M&S / community forum",
        "Hello {customer},\n\n"
        "Thank you for writing about {ticket}. The Maintenance and Support of your license has "
        "lapsed, so this request is outside our support agreement. You can reinstate M&S at any "
        "time: reply to this message and we will send you a quote, and we pick up this ticket "
        "as soon as it is renewed.\n\n"
        "Meanwhile the community forum is open to everyone, and many questions are answered "
        "there: https://community.example.com\n",
    ),
    (
        "Update to the latest version (legacy bug)",
        "Hello {customer},\n\n"
        "Thank you for the report on {ticket}. The version you run is no longer maintained, and "
        "this problem is fixed in the current release. Please update to the latest version "
        "(your M&S covers the upgrade) and tell us whether the problem persists: we will pick "
        "it up from there.\n\n"
        "The upgrade guide: https://support.example.com/upgrade\n",
    ),
    (
        "RSAA request (remote access)",
        "Hello {customer},\n\n"
        "To look at this on your server we need a Remote Server Access Agreement for {ticket}. "
        "Please reply to confirm:\n"
        "- the server we may connect to,\n"
        "- how we connect (RDP, your remote access tool, or a screen share),\n"
        "- your name as the person who accepts the agreement.\n\n"
        "Never send us passwords by email: create a temporary account for us and we will "
        "arrange how to reach it. We will be back to you by {deadline}.\n",
    ),
    (
        "Phone call declined",
        "Hello {customer},\n\n"
        "Thank you for your message on {ticket}. We are not able to offer a phone call for "
        "this request, but we will keep working on it with you by email: simply reply to this "
        "message and your answer reaches us in the same ticket. You will hear from us by "
        "{deadline} at the latest.\n",
    ),
    (
        "Ask for the server log",
        "Hello {customer},\n\n"
        "Thank you for the details. Could you send the server log from the time of the error? "
        "It is in the logs folder of the installation directory; a zip of the whole folder is "
        "best.\n",
    ),
]


def seed_canned(session: Session, author: Technician, at: float) -> None:
    """The demo's canned replies (rows written directly: the demo creates history)."""
    for name, body in DEMO_CANNED:
        session.add(CannedReply(name=name, body=body, created_by_id=author.id, updated_at=at))


def give_demo_signature(technician: Technician) -> None:
    """A signature for the demo's technician, so a reply shows where it goes (kept if set)."""
    if technician.signature is None:
        technician.signature = f"{technician.name}\nSupport, Example Software"


def has_world(store: Store) -> bool:
    """Whether the store already holds a demo world (a shared demo's viewers join it)."""
    with store.session() as session:
        return session.execute(select(col(Customer.id)).limit(1)).first() is not None


# A world populated ahead of its viewer (`shiftdesk serve` keeps one ready: populating costs each
# console ~0.15 s of CPU before its first frame) holds this stand-in where the viewer goes; the
# console that takes the world gives the stand-in its viewer's name (adopt_world).
TEMPLATE_VIEWER = Actor("viewer@template.demo", "viewer")
# how old a prepared world may be when a console takes it: its tickets are that much older than a
# world populated on the spot (a "new" ticket of 6 minutes ago reads 16 at most; the stages hold)
WORLD_MAX_AGE = 10 * 60.0


def adopt_world(store: Store, me: Actor) -> bool:
    """Make a world populated for TEMPLATE_VIEWER `me`'s: the stand-in technician, who holds the
    "mine" tickets, takes `me`'s email and name (as if populate(me=me) had run). False when the
    store has no stand-in (a shared world, which viewers join with technician_for)."""
    email = normalize_email(me.email)
    with store.transaction() as session:
        stand_in = session.execute(
            select(Technician).where(col(Technician.email) == TEMPLATE_VIEWER.email)
        ).scalar_one_or_none()
        if stand_in is None:
            return False
        stand_in.email = email
        stand_in.name = me.name or email.split("@", 1)[0]
    return True


def populate(
    store: Store,
    *,
    seed: int = 7,
    now: float,
    me: Actor | None = None,
    signature: bool = False,
    history_days: int = 0,
    config: Config | None = None,
) -> None:
    """A demo store: every ticket stage, relative to `now`, and canned replies; with
    `signature`, `me` gets a signature (`shiftdesk demo`; the tests' editor starts empty); with
    `history_days`, that many days of answered and closed tickets before it too (a few of them
    late), for the SLA report. The history is numbered after the live stages, so the live queue is
    the same with or without it."""
    rng = random.Random(seed)
    config = config or Config()
    with store.transaction() as session:
        world = build_world(session, rng, now)
        techs = [technician_for(session, t) for t in [*TECHNICIANS, *([me] if me else [])]]
        my_tech = techs[-1]
        seed_canned(session, techs[0], now - 30 * DAY)
        if signature and me is not None:
            give_demo_signature(my_tech)
        # (hours ago received, stage)
        plan = [
            (0.1, "new"),
            (0.4, "new_phone"),
            (0.9, "new"),
            (1.6, "mine"),
            (2.5, "new"),
            (3.2, "new"),
            (3.7, "critical"),
            (5.0, "breached"),
            (7.0, "new"),
            (20, "breached"),
            (26, "answered"),
            (30, "rsaa"),
            (50, "new_phone_granted"),
            (52, "rsaa_revoked"),
            (70, "closed"),
            (75, "followup"),
            (0.25, "emergency"),
            (0.75, "emergency_mine"),
            (1.5, "emergency_breached"),
            (1.2, "not_entitled"),
            (6, "not_entitled"),
        ]
        for hours, stage in sorted(plan, key=lambda p: -p[0]):
            received = now - hours * HOUR
            if stage == "not_entitled" and world.unentitled:
                customer_id, basis, license_id = (
                    rng.choice(world.unentitled),
                    Entitlement.NONE,
                    None,
                )
            else:
                customer_id, basis, license_id = rng.choice(world.entitled)  # type: ignore[assignment]
            customer = session.get(Customer, customer_id)
            assert customer is not None
            kind = TicketKind.STANDARD
            if stage.startswith("emergency"):
                kind = TicketKind.EMERGENCY
                subject, body = rng.choice(EMERGENCY_ISSUES)
                basis = Entitlement.PURCHASE
            else:
                subject, body = _ticket_text(rng, session, license_id)
            phone = "phone" in stage
            if phone:
                body += rng.choice(PHONE_LINES)
            ticket = insert_ticket(
                session,
                subject=subject,
                requester_email=customer.email,
                received_at=received,
                body=body,
                kind=kind,
                customer_id=customer_id,
                license_id=license_id,
                entitlement=basis,
                entitlement_note=(
                    "Maintenance and Support lapsed"
                    if basis == Entitlement.NONE
                    else "Emergency 24x7, non-refundable"
                    if kind == TicketKind.EMERGENCY
                    else None
                ),
                phone_requested=phone,
                rfc_message_id=f"<demo-{seed}-{int(received)}@{customer.email.split('@')[1]}>",
            )
            number = ticket.number
            assert number is not None
            tech = rng.choice(techs[:3])
            if stage in ("mine", "emergency_mine"):
                ticket.assignee_id = my_tech.id
            elif stage in ("critical", "breached", "rsaa", "rsaa_revoked", "new_phone_granted"):
                ticket.assignee_id = tech.id
            if stage in ("answered", "closed", "followup", "rsaa", "rsaa_revoked"):
                answered_at = received + 1.5 * HOUR
                _first_reply(
                    session,
                    ticket,
                    tech,
                    answered_at,
                    "Thanks for the details. Could you send the server log from the time of the "
                    "error?",
                    config,
                )
                ticket.status = TicketStatus.ANSWERED
            if stage == "followup":
                again = now - 0.5 * HOUR
                session.add(
                    Message(
                        ticket_number=number,
                        direction=MessageDirection.IN,
                        author=customer.email,
                        created_at=again,
                        subject=f"Re: [#{number}] {subject}",
                        body="Log attached. The error repeats every few minutes.",
                    )
                )
                ticket.status = TicketStatus.OPEN
                ticket.waiting_since = again
            if stage == "closed":
                ticket.status = TicketStatus.CLOSED
                ticket.closed_at = received + 20 * HOUR
                audit(session, number, Actor(tech.email), "close", ticket.closed_at)
            if stage == "new_phone_granted":
                ticket.phone_escalated = True
                session.add(
                    PhoneDecision(
                        ticket_number=number,
                        decision="granted",
                        technician_id=tech.id or 0,
                        phone_number="+1 602 555 0143",
                        scheduled_at=now + 2 * HOUR,
                        customer_timezone=customer.timezone,
                        note="Walk through the upgrade log together",
                        created_at=received + HOUR,
                    )
                )
                audit(session, number, Actor(tech.email), "phone_grant", received + HOUR)
            if stage in ("rsaa", "rsaa_revoked"):
                granted = received + 3 * HOUR
                session.add(
                    Rsaa(
                        ticket_number=number,
                        accepted_by_name=customer.name,
                        accepted_by_email=customer.email,
                        accepted_at=granted,
                        server=f"app01.{customer.email.split('@')[1]}",
                        method="rdp",
                        source_ip="203.0.113.10",
                        temp_account="shiftdesk-support",
                        recorded_by_id=tech.id or 0,
                        recorded_at=granted,
                        revoked_at=granted + 5 * HOUR if stage == "rsaa_revoked" else None,
                        revoked_by_id=tech.id if stage == "rsaa_revoked" else None,
                        revoke_reason="work_finished" if stage == "rsaa_revoked" else None,
                    )
                )
                audit(session, number, Actor(tech.email), "rsaa_record", granted)
                if stage == "rsaa_revoked":
                    audit(
                        session,
                        number,
                        Actor(tech.email),
                        "rsaa_revoke",
                        granted + 5 * HOUR,
                        reason="work_finished",
                    )
            mark_changed(session, number, now)
        if history_days > 0:
            _history(session, random.Random(seed + 1), now, history_days, world, techs, config)


def _first_reply(
    session: Session,
    ticket: Ticket,
    tech: Technician,
    at: float,
    body: str,
    config: Config,
) -> None:
    """`tech`'s first reply, recorded as `models.desk.work` records one (the message, the first
    response measured against its deadline, the audit event); the caller sets the status."""
    number = ticket.number
    assert number is not None
    session.add(
        Message(
            ticket_number=number,
            direction=MessageDirection.OUT,
            author=tech.email,
            technician_id=tech.id or 0,
            created_at=at,
            subject=f"Re: [#{number}] {ticket.subject}",
            body=body,
        )
    )
    _record_first_response(ticket, at, config, tech.id)
    ticket.waiting_since = None
    audit(session, number, Actor(tech.email), "reply", at, first=True)


def _history(
    session: Session,
    rng: random.Random,
    now: float,
    days: int,
    world: DemoWorld,
    techs: list[Technician],
    config: Config,
) -> None:
    """`days` days of answered, closed tickets: about one in six answered late."""
    calendar = sla_policy(config).calendar
    for days_ago in range(days, 0, -1):
        day_start = now - days_ago * DAY
        weekend = calendar.local_date(day_start).weekday() >= 5
        for _ in range(rng.randint(0, 2) if weekend else rng.randint(3, 8)):
            received = day_start + rng.uniform(0, DAY)
            emergency = rng.random() < 0.1
            if emergency:
                subject, body = rng.choice(EMERGENCY_ISSUES)
                late = rng.random() < 0.2
                answered = received + 60 * (rng.uniform(62, 150) if late else rng.uniform(4, 55))
            else:
                subject, body = _ticket_text(rng, session, None)
                late = rng.random() < 0.15
                minutes = rng.uniform(250, 900) if late else rng.triangular(8, 235, 60)
                answered = calendar.deadline(received, minutes * 60)
            if answered > now - 2 * HOUR:
                continue
            customer_id, basis, license_id = rng.choice(world.entitled)
            customer = session.get(Customer, customer_id)
            assert customer is not None
            ticket = insert_ticket(
                session,
                subject=subject,
                requester_email=customer.email,
                received_at=received,
                body=body,
                kind=TicketKind.EMERGENCY if emergency else TicketKind.STANDARD,
                customer_id=customer_id,
                license_id=license_id,
                entitlement=Entitlement.PURCHASE if emergency else basis,
            )
            number = ticket.number
            assert number is not None
            tech = rng.choice(techs)
            _first_reply(
                session,
                ticket,
                tech,
                answered,
                "Thanks, we are on it. Could you send the log from the time of the error?",
                config,
            )
            ticket.assignee_id = tech.id
            ticket.status = TicketStatus.CLOSED
            ticket.closed_at = min(now - HOUR, answered + rng.uniform(2, 48) * HOUR)
            ticket.updated_at = ticket.closed_at
            audit(session, number, Actor(tech.email), "close", ticket.closed_at)
            mark_changed(session, number, now)


class ArrivalStream:
    """New demo tickets "arriving" every few seconds (from entitled and unentitled senders)."""

    def __init__(self, store: Store, *, seed: int = 11) -> None:
        self.store = store
        self.rng = random.Random(seed)

    def interval(self) -> float:
        """Seconds to the next arrival: about three a minute, a busy desk that still lets a demo
        audience read the queue (and ten served viewers' worlds cost the server little)."""
        return self.rng.uniform(10.0, 30.0)

    def arrive(self, now: float) -> int:
        rng = self.rng
        with self.store.transaction() as session:
            customers = session.execute(select(col(Customer.id), col(Customer.email))).all()
            customer_id, email = rng.choice(customers)
            emergency = rng.random() < 0.12
            if emergency:
                subject, body = rng.choice(EMERGENCY_ISSUES)
            else:
                subject, body = _ticket_text(rng, session, None)
            phone = rng.random() < 0.2
            if phone:
                body += rng.choice(PHONE_LINES)
            ticket = insert_ticket(
                session,
                subject=subject,
                requester_email=email,
                received_at=now,
                body=body,
                kind=TicketKind.EMERGENCY if emergency else TicketKind.STANDARD,
                customer_id=customer_id,
                entitlement=Entitlement.PURCHASE if emergency else Entitlement.LICENSE,
                phone_requested=phone,
            )
            assert ticket.number is not None
            return ticket.number


REPLY_LINES = [
    "Thanks, we restarted the service and it happened again at {t}.",
    "Could you send the server log from around the failure? Our reference is INC{ref}.",
    "Logs attached. The disk was at 91% when it failed.",
    "We applied the workaround from the knowledge base; no change so far.",
    "Confirmed fixed after the patch, you can close this. Case INC{ref}.",
    "Any update? Our users are asking every hour.",
]


def seed_bulk(
    store: Store,
    tickets: int,
    *,
    now: float,
    seed: int = 3,
    batch: int = 5000,
    replies: int = 0,
    in_arrival_order: bool = False,
) -> int:
    """Fill a store with `tickets` open tickets for load tests (core executemany, batched);
    `replies` more messages per ticket (alternating customer and technician; the search bench
    uses 2, for 3 messages a ticket; each names a rare INC<number> reference).
    `in_arrival_order`: numbers follow the arrival times, as in a real store (by default arrivals
    are random over the 30 days, which scatters a time range over the whole table)."""
    rng = random.Random(seed)
    with store.transaction() as session:
        existing = session.execute(select(col(Customer.id), col(Customer.email))).all()
        if not existing:
            build_world(session, rng, now, customers=200)
            existing = session.execute(select(col(Customer.id), col(Customer.email))).all()
        techs = [technician_for(session, t).id for t in TECHNICIANS]
        admin = technician_for(session, TECHNICIANS[0]).id
    made = 0
    while made < tickets:
        size = min(batch, tickets - made)
        with store.transaction() as session:
            start = session.execute(
                select(col(Ticket.number)).order_by(col(Ticket.number).desc()).limit(1)
            ).scalar()
            first = (start or 0) + 1
            rows, messages, audits, changes, rsaas = [], [], [], [], []
            for i in range(size):
                number = first + i
                customer_id, email = existing[rng.randrange(len(existing))]
                received = now - rng.uniform(0, 30 * DAY)
                if in_arrival_order:  # (the draw above still keeps the same random sequence)
                    received = now - 30 * DAY * (1 - (made + i + 0.5) / tickets)
                emergency = rng.random() < 0.03
                subject, body = ISSUES[rng.randrange(len(ISSUES))]
                subject = subject.format(v="9.4.2")
                phone = rng.random() < 0.1
                rows.append(
                    {
                        "number": number,
                        "kind": "emergency" if emergency else "standard",
                        "status": "open",
                        "subject": subject,
                        "customer_id": customer_id,
                        "requester_email": email,
                        "license_id": None,
                        "entitlement": "purchase" if emergency else "license",
                        "received_at": received,
                        "waiting_since": received,
                        "assignee_id": techs[rng.randrange(len(techs))]
                        if rng.random() < 0.3
                        else None,
                        "phone_requested": phone,
                        "phone_escalated": False,
                        "refund_requested": False,
                        "updated_at": received,
                        "version": 1,
                    }
                )
                messages.append(
                    {
                        "ticket_number": number,
                        "direction": "in",
                        "author": email,
                        "created_at": received,
                        "subject": subject,
                        "body": body,
                    }
                )
                for reply in range(replies):
                    line = REPLY_LINES[rng.randrange(len(REPLY_LINES))]
                    messages.append(
                        {
                            "ticket_number": number,
                            "direction": "out" if reply % 2 == 0 else "in",
                            "author": "alex@shiftdesk.example" if reply % 2 == 0 else email,
                            "created_at": received + 600 * (reply + 1),
                            "subject": f"Re: {subject}",
                            "body": line.format(t=f"{rng.randrange(24):02d}:00", ref=number * 7),
                        }
                    )
                audits.append(
                    {
                        "ticket_number": number,
                        "actor": "system",
                        "action": "create",
                        "process": "shiftdesk seed",
                        "created_at": received,
                    }
                )
                changes.append({"ticket_number": number, "changed_at": now})
                if rng.random() < 0.01:
                    revoked = rng.random() < 0.5
                    rsaas.append(
                        {
                            "ticket_number": number,
                            "accepted_by_name": "Customer",
                            "accepted_by_email": email,
                            "accepted_at": received + 60,
                            "server": f"srv{number}.customer.example",
                            "method": "rdp",
                            "tool_name": None,
                            "source_ip": "203.0.113.10",
                            "temp_account": None,
                            "notes": None,
                            "recorded_by_id": admin,
                            "recorded_at": received + 60,
                            "revoked_at": received + 3600 if revoked else None,
                            "revoked_by_id": admin if revoked else None,
                            "revoke_reason": "work_finished" if revoked else None,
                        }
                    )
            if store.dialect == "sqlite":
                # executemany with the search triggers off, then each new ticket indexed once:
                # a multi-row VALUES costs SQLAlchemy ~1 ms a row to compile, and the triggers
                # rebuild a ticket's document for every message
                with sqlite_bulk_load(session) as reindex:
                    session.execute(table_of(Ticket).insert(), rows)
                    session.execute(table_of(Message).insert(), messages)
                    reindex(first, first + size - 1)
            else:
                # multi-row INSERTs, not executemany: on PostgreSQL executemany sends one
                # statement per row, and the search index's statement triggers would rebuild
                # per row
                for start_at in range(0, len(rows), 1000):
                    session.execute(insert(Ticket).values(rows[start_at : start_at + 1000]))
                for start_at in range(0, len(messages), 1000):
                    session.execute(insert(Message).values(messages[start_at : start_at + 1000]))
            session.execute(insert(AuditEvent), audits)
            session.execute(insert(ChangeLog), changes)
            if rsaas:
                session.execute(insert(Rsaa), rsaas)
        made += size
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('tickets', 'number'), "
                "(SELECT max(number) FROM tickets))"
            )
    return made


__all__ = ["TECHNICIANS", "ArrivalStream", "Technician", "populate", "seed_bulk"]
