"""Store commands: `db upgrade`, `seed`, `list`, `show`. No Textual here."""

from __future__ import annotations

import datetime as dt
import math
import sys
import time

import click

from tui.cli.core import (
    EX_TEMPFAIL,
    EX_USAGE,
    ID,
    common_options,
    echo_json,
    echo_text,
    fail,
    loaded_config,
    opened_store,
    settings,
)


@click.group("db")
def db_group() -> None:
    """Store maintenance (migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@common_options
def db_upgrade(revision: str) -> None:
    """Apply the schema migrations (also done automatically on start); creates the store if
    the file does not exist yet (its directory must)."""
    from models.store.db import StoreError, StoreUsageError, current_revision, make_engine, upgrade

    try:
        engine = make_engine(settings().db, create=True)
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    except StoreUsageError as exc:
        fail(str(exc), EX_USAGE)
        return
    except StoreError as exc:
        fail(str(exc), EX_TEMPFAIL)
        return
    except Exception as exc:  # alembic: unknown revision and the like
        fail(f"upgrade failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", 1)
        return
    click.echo(f"schema {before or 'empty'} → {after}")


@db_group.command("current")
@common_options
def db_current() -> None:
    """Print the store's schema revision."""
    from models.store.db import StoreError, StoreUsageError, current_revision, make_engine

    try:
        click.echo(current_revision(make_engine(settings().db, create=False)) or "empty")
    except StoreUsageError as exc:
        fail(str(exc), EX_USAGE)
    except StoreError as exc:
        fail(str(exc), EX_TEMPFAIL)


@click.command("seed")
@click.option(
    "--tickets",
    type=click.IntRange(min=1, max=5_000_000),
    required=True,
    help="How many open tickets to add.",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=3,
    show_default=True,
    help="Random seed (same seed, same data).",
)
@common_options
def seed_command(tickets: int, seed_value: int) -> None:
    """Fill a store with realistic open tickets for load tests (creates the store if the file
    does not exist yet; its directory must)."""
    from models.demo.demo import seed_bulk

    with opened_store(create=True) as store:
        started = time.perf_counter()
        made = seed_bulk(store, tickets, now=time.time(), seed=seed_value)
        click.echo(f"seeded {made} tickets in {time.perf_counter() - started:.1f} s")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of objects.")
@click.option(
    "--all", "show_all", is_flag=True, help="Every ticket (answered, closed, not entitled)."
)
@common_options
def list_command(as_json: bool, show_all: bool) -> None:
    """The queue, FIFO, with each ticket's SLA state (waiting tickets unless --all)."""
    from models.clock.calendar import BusinessCalendar
    from models.clock.sla import SlaPolicy
    from models.clock.timefmt import format_instant
    from models.desk.queue import load_queue
    from models.policy.sanitize import safe_line
    from tui.widgets.countdown import clock_for

    config = loaded_config()
    policy = SlaPolicy(BusinessCalendar.from_config(config.calendar), config.sla)
    zone = config.calendar.timezone
    now = time.time()
    with opened_store() as store, store.session() as session:
        rows = load_queue(session, include_closed=show_all)
    records = []
    out = sys.stdout
    for row in rows:
        clock = clock_for(row)
        if clock is None and not show_all:
            continue
        state = policy.state(clock.kind, clock.basis, now) if clock else None
        if as_json:
            records.append(
                {
                    "number": row.number,
                    "kind": row.kind,
                    "status": row.status,
                    "entitlement": row.entitlement,
                    "customer": row.customer,
                    "subject": row.subject,
                    "received": format_instant(row.received_at, zone),
                    "assignee": row.assignee,
                    "phone_requested": row.phone_requested,
                    "rsaa_active": row.rsaa_active,
                    "deadline": format_instant(state.deadline, zone) if state else None,
                    "remaining_seconds": round(state.remaining_seconds)
                    if state and math.isfinite(state.remaining_seconds)
                    else None,
                    "paused": state.paused if state else None,
                    "breached": state.breached if state else None,
                }
            )
        else:
            due = policy.humanize(state) if state else row.status
            # sys.stdout, not click.echo: one flush per row is slow on a big queue
            out.write(
                f"{due:<28} #{row.number:<7} {row.kind:<10} {safe_line(row.customer)[:20]:<20} "
                f"{safe_line(row.subject)}\n"
            )
    if as_json:
        echo_json(records)


@click.command("show")
@click.argument("number", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
@common_options
def show_command(number: int, as_json: bool) -> None:
    """One ticket: thread, customer, entitlement, phone, RSAAs, outbox, audit trail."""
    from zoneinfo import ZoneInfo

    from models.desk.actions import NotFound
    from models.desk.detail import ticket_detail
    from models.desk.notices import policy_notices
    from models.policy.sanitize import safe_line, safe_text

    config = loaded_config()
    zone = config.calendar.timezone
    with opened_store() as store:
        try:
            detail = ticket_detail(store, number)
        except NotFound as exc:
            fail(str(exc), 1)
            return
        today = dt.datetime.now(ZoneInfo(zone)).date()
        notices = policy_notices(store, detail, today)
    if as_json:
        data = detail.to_json(zone)
        data["notices"] = [{"level": n.level, "text": n.text} for n in notices]
        echo_json(data)
        return
    tz = ZoneInfo(zone)

    def when(ts: float | None) -> str:
        return dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z") if ts else "—"

    customer = (
        f"{safe_line(detail.customer.name)} <{safe_line(detail.customer.email)}>"
        if detail.customer
        else f"unknown sender <{safe_line(detail.requester_email)}>"
    )
    lines = [
        f"#{detail.number} {safe_line(detail.subject)}",
        f"{detail.kind} · {detail.status} · received {when(detail.received_at)} · "
        f"{detail.assignee or 'unassigned'}",
        f"customer: {customer}",
        f"support: {detail.entitlement}"
        + (f" — {safe_line(detail.entitlement_note)}" if detail.entitlement_note else ""),
    ]
    lines += [f"  {'!' if n.level == 'warning' else '-'} {safe_line(n.text)}" for n in notices]
    if detail.acknowledged_at is not None:
        lines.append(
            f"acknowledged {when(detail.acknowledged_at)} by "
            f"{safe_line(detail.acknowledged_by or '?')}"
        )
    if detail.active_rsaa:
        r = detail.active_rsaa
        lines.append(
            f"RSAA active since {when(r.accepted_at)}: {safe_line(r.server)} via "
            f"{safe_line(r.tool_name or r.method)}"
        )
    lines += [
        f"session: {appointment.local_text()} ({when(appointment.starts_at)}) · by "
        f"{appointment.technician}"
        + (f" · {safe_line(appointment.note)}" if appointment.note else "")
        for appointment in detail.appointments
    ]
    for m in detail.messages:
        lines.append(f"\n--- {m.direction} · {safe_line(m.author)} · {when(m.created_at)}")
        lines.append(safe_text(m.body).rstrip())
    lines.append("\n--- history")
    lines += [
        f"{when(a.created_at)}  {safe_line(a.sentence(zone))}  [{safe_line(a.process)}]"
        for a in detail.audit
    ]
    # every line above is already safe: echo_text is the belt to those braces (a field added
    # later without safe_line still cannot reach the terminal raw)
    echo_text("\n".join(lines))
