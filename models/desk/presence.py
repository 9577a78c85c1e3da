"""Who is viewing which ticket right now ("viewing now" on a colleague's row and in the pane).

A console holds at most one `presence` row (keyed by its console id): written when a ticket is
open in its detail pane, renewed every `RENEW_EVERY` seconds while it stays open, deleted when
the pane closes or the console exits. A row counts until `expires_at` (`TTL` after its last
renewal), so a console that crashed or lost its SSH connection stops showing within a minute;
every write also deletes the expired rows.

Presence is not ticket state: no version bump, no audit, no change-log row (which would make
every console re-read the ticket and its open pane on every open, close and renewal). Consoles
re-read this small table instead (`live_viewers`, one indexed query) whenever their change
feed sees any commit, and every `RESCAN_EVERY` seconds for expiries; on PostgreSQL each write
sends a NOTIFY on the change channel (payload "presence") to wake them.

Times are wall-clock seconds (time.time()), not the app's business clock: presence is about
processes being alive.
"""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import delete, select, text, update
from sqlmodel import col

from models.desk.actions import NOTIFY_CHANNEL, Actor, action, normalize_email, technician_for
from models.store.db import Store
from models.store.tables import Presence, Technician

TTL = 60.0  # seconds a presence row counts after its last renewal
RENEW_EVERY = 20.0  # seconds between renewals while the pane stays open
RESCAN_EVERY = 5.0  # seconds between re-reads when nothing was committed (expiries)
PRESENCE_PAYLOAD = "presence"


def new_console_id() -> str:
    """host:pid:random — one per running console (two consoles of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _notify(store: Store, session: object) -> None:
    if store.dialect == "postgresql":
        session.execute(  # type: ignore[attr-defined]
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": PRESENCE_PAYLOAD},
        )


def show(store: Store, console: str, actor: Actor, number: int, at: float) -> None:
    """This console has ticket `number` open (a first open, a switch, or a renewal)."""
    with action(store) as session:
        session.execute(delete(Presence).where(col(Presence.expires_at) <= at))
        renewed = session.execute(
            update(Presence)
            .where(col(Presence.console) == console)
            .values(ticket_number=number, expires_at=at + TTL)
        )
        if getattr(renewed, "rowcount", 0) == 0:
            technician = technician_for(session, actor)
            session.add(
                Presence(
                    technician_id=technician.id or 0,
                    ticket_number=number,
                    console=console,
                    expires_at=at + TTL,
                )
            )
        _notify(store, session)


def hide(store: Store, console: str, at: float | None = None) -> None:
    """This console no longer has a ticket open (pane closed, console exiting)."""
    with action(store) as session:
        gone = session.execute(delete(Presence).where(col(Presence.console) == console))
        if at is not None:
            session.execute(delete(Presence).where(col(Presence.expires_at) <= at))
        if getattr(gone, "rowcount", 0):
            _notify(store, session)


def live_viewers(store: Store, at: float, exclude_email: str | None = None) -> dict[int, list[str]]:
    """Ticket number -> the names of the technicians viewing it now (not expired; without
    `exclude_email`, the reader: a technician does not need to see themselves), each name once,
    sorted."""
    me = normalize_email(exclude_email) if exclude_email else None
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(col(Presence.ticket_number), col(Technician.name), col(Technician.email))
            .join(Technician, col(Technician.id) == col(Presence.technician_id))
            .where(col(Presence.expires_at) > at)
        ).all()
    viewers: dict[int, set[str]] = {}
    for number, name, email in rows:
        if email == me:
            continue
        viewers.setdefault(int(number), set()).add(str(name or email))
    return {number: sorted(names) for number, names in viewers.items()}
