"""On-call: emergencies that wake people up, their acknowledgement, and the alert schedule.

An open emergency moves through three alert states, all read from the store (so an
acknowledgement in one console or process stops the alerts in every other):

    new           open, entitled, no first response, not acknowledged: alerts, and repeats
    acknowledged  `acknowledged_at` set (`A` in the console, `shiftdesk ack N`): quiet
    responded     the first response went out: quiet

`AlertTracker` is the schedule (pure: no clock, no UI): fed the queue's rows, it says which
tickets alert now and why — at once when a ticket becomes "new", then every `repeat`, at each
"minutes left before breach" point and at breach. The console drives it from its one 1 Hz timer.

The notification text is customer text: `notification_sequence` strips every control character
before it goes into an OSC 9 / OSC 777 sequence (an ESC in a subject would otherwise end the
sequence and let the rest of the subject drive the terminal).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from models.desk.actions import ActionError, Actor, audit, insert_message, now, technician_for
from models.desk.actions import ticket_action as _ticket_action
from models.desk.queue import QueueRow, load_rows
from models.store.db import Store
from models.store.tables import Entitlement, MessageDirection, Ticket, TicketKind, TicketStatus

AlertState = Literal["new", "acknowledged", "responded"]
NOTIFY_TITLE_MAX = 80
NOTIFY_BODY_MAX = 200
# C0 + DEL + C1 + bidi controls: nothing of the customer's may steer the terminal
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_PREFIX = re.compile(
    r"^\s*(?:\[\s*emergency\s*\]|\(\s*emergency\s*\)|emergency\s*[:\-–—!])\s*[:\-–—!]*\s*",
    re.IGNORECASE,
)


def alert_state(row: QueueRow) -> AlertState | None:
    """The on-call state of an emergency waiting for us; None for anything else."""
    if (
        row.kind != TicketKind.EMERGENCY
        or row.status == TicketStatus.CLOSED
        or row.entitlement == Entitlement.NONE
    ):
        return None
    if row.first_response_at is not None:
        return "responded"
    if row.acknowledged_at is not None:
        return "acknowledged"
    if row.status != TicketStatus.OPEN:
        return "responded"
    return "new"


def is_alerting(row: QueueRow) -> bool:
    """An emergency nobody has acknowledged or answered yet: pinned, and alerting."""
    return (
        row.acknowledged_at is None
        and row.first_response_at is None
        and row.kind == TicketKind.EMERGENCY
        and row.status == TicketStatus.OPEN
        and row.entitlement != Entitlement.NONE
    )


def strip_emergency_prefix(subject: str) -> str:
    """'EMERGENCY: server down' -> 'server down' (the kind column already says so)."""
    stripped = _PREFIX.sub("", subject, count=1)
    return stripped if stripped.strip() else subject


def plain(text: str, limit: int) -> str:
    """One line with no control characters at all (for a terminal notification or a toast)."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --------------------------------------------------------------------------- store


def acknowledge(
    store: Store,
    number: int,
    actor: Actor,
    comment: str | None = None,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> float:
    """Acknowledge an alerting emergency: one transaction with its audit event (and a note with
    the comment, if any); the change feed stops the alerts in every console. Returns the time."""
    at = now() if at is None else at
    comment = (comment or "").strip() or None
    with _ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.kind != TicketKind.EMERGENCY:
            raise ActionError(f"#{number} is not an emergency: nothing to acknowledge")
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is closed")
        if ticket.acknowledged_at is not None:
            raise ActionError(f"#{number} was already acknowledged by {ticket.acknowledged_by}")
        if ticket.first_response_at is not None:
            raise ActionError(f"#{number} was already answered")
        me = technician_for(session, actor)
        ticket.acknowledged_at = at
        ticket.acknowledged_by = me.email
        audit(session, number, actor, "acknowledge", at, comment=comment)
        if comment:
            insert_message(
                session,
                number,
                direction=MessageDirection.NOTE,
                author=me.email,
                technician_id=me.id,
                created_at=at,
                subject=f"Acknowledged #{number}",
                body=f"Acknowledged: {comment}",
            )
        return at


def unacknowledged(session: Session) -> list[QueueRow]:
    """Emergencies still alerting, oldest first (FIFO); selected in SQL, not by loading the
    queue (a cron check on a 100k-ticket store)."""
    numbers = session.execute(
        select(col(Ticket.number)).where(
            col(Ticket.kind) == TicketKind.EMERGENCY,
            col(Ticket.status) == TicketStatus.OPEN,
            col(Ticket.entitlement) != Entitlement.NONE,
            col(Ticket.acknowledged_at).is_(None),
            col(Ticket.first_response_at).is_(None),
        )
    ).scalars()
    rows = [row for row in load_rows(session, [n for n in numbers if n]) if is_alerting(row)]
    return sorted(rows, key=lambda row: (row.received_at, row.number))


def alert_payload(row: QueueRow, deadline: float, reason: str, at: float) -> dict[str, Any]:
    """What `shiftdesk oncall --json` prints and the outbound hook reads on stdin."""
    return {
        "ticket": row.number,
        "reason": reason,
        "customer": row.customer,
        "subject": row.subject,
        "received_at": row.received_at,
        "deadline": deadline,
        "seconds_left": round(deadline - at, 1),
        "assignee": row.assignee,
        "state": alert_state(row),
    }


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Alert:
    number: int
    reason: str  # "new emergency", "still unacknowledged", "10 min left", "breached"
    row: QueueRow
    deadline: float


@dataclass
class _Entry:
    row: QueueRow
    deadline: float
    next_repeat: float
    points: list[float] = field(default_factory=list)  # seconds-left marks still ahead (desc)
    breach_ahead: bool = True


class AlertTracker:
    """Which alerting emergencies alert now, and why. Few entries (only "new" emergencies),
    so `due` walks them all once a second."""

    def __init__(
        self, *, repeat_seconds: float, before_breach: Sequence[float], emergency_seconds: float
    ) -> None:
        self.repeat = float(repeat_seconds)
        self.before_breach = sorted((float(p) for p in before_breach), reverse=True)
        self.emergency = float(emergency_seconds)
        self._entries: dict[int, _Entry] = {}

    @property
    def alerting(self) -> list[int]:
        return sorted(self._entries)

    def __contains__(self, number: object) -> bool:
        return number in self._entries

    def observe(
        self, rows: Iterable[QueueRow], at: float, gone: Iterable[int] = ()
    ) -> tuple[list[Alert], list[int]]:
        """Merge rows read from the store: (alerts due now for tickets that just became
        alerting, numbers that stopped alerting — acknowledged, answered, closed, gone)."""
        fresh: list[Alert] = []
        stopped = [n for n in gone if self._entries.pop(n, None) is not None]
        for row in rows:
            entry = self._entries.get(row.number)
            if not is_alerting(row):
                if entry is not None:
                    del self._entries[row.number]
                    stopped.append(row.number)
                continue
            if entry is not None:
                entry.row = row
                continue
            deadline = row.received_at + self.emergency
            self._entries[row.number] = _Entry(
                row,
                deadline,
                at + self.repeat,
                [p for p in self.before_breach if deadline - p > at],
                deadline > at,
            )
            reason = "new emergency" if deadline > at else "breached"
            fresh.append(Alert(row.number, reason, row, deadline))
        return fresh, stopped

    def due(self, at: float) -> list[Alert]:
        """Alerts due at `at`: breach, a before-breach mark, else the repeat; at most one per
        ticket (marks passed together make one alert), and each restarts the repeat interval."""
        alerts: list[Alert] = []
        for number, entry in self._entries.items():
            reason = None
            if entry.breach_ahead and at >= entry.deadline:
                entry.breach_ahead = False
                entry.points.clear()
                reason = "breached"
            else:
                passed = [p for p in entry.points if at >= entry.deadline - p]
                if passed:
                    entry.points = [p for p in entry.points if p not in passed]
                    reason = f"{_minutes(min(passed))} left"
                elif at >= entry.next_repeat:
                    reason = "still unacknowledged"
            if reason is not None:
                entry.next_repeat = at + self.repeat
                alerts.append(Alert(number, reason, entry.row, entry.deadline))
        return alerts


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


# --------------------------------------------------------------------------- terminal and hook


def alert_text(alert: Alert) -> tuple[str, str]:
    """(title, body) for a toast and a desktop notification, control characters stripped."""
    row = alert.row
    title = plain(f"EMERGENCY #{row.number} — {alert.reason}", NOTIFY_TITLE_MAX)
    body = plain(f"{row.customer}: {strip_emergency_prefix(row.subject)}", NOTIFY_BODY_MAX)
    return title, body


def notification_sequence(title: str, body: str, *, tmux: bool = False) -> str:
    """OSC 9 (iTerm2, WezTerm, kitty, Windows Terminal, foot...) and OSC 777 (rxvt-unicode, VTE:
    GNOME Terminal, Tilix...) desktop notifications; with `tmux`, each wrapped in tmux's DCS
    passthrough (needs `set -g allow-passthrough on`). Terminated by ST, not BEL, so a terminal
    that ignores them does not ring twice.
    """
    title = plain(title, NOTIFY_TITLE_MAX).replace(";", ",")  # ';' separates OSC 777 fields
    body = plain(body, NOTIFY_BODY_MAX).replace(";", ",")
    # OSC 9 with a leading number means "progress" to ConEmu/Windows Terminal: start with a word
    sequences = [f"\x1b]9;{title}: {body}\x1b\\", f"\x1b]777;notify;{title};{body}\x1b\\"]
    if tmux:
        sequences = [f"\x1bPtmux;{s.replace(chr(27), chr(27) * 2)}\x1b\\" for s in sequences]
    return "".join(sequences)


def run_hook(command: str, payload: dict[str, Any], timeout: float) -> str | None:
    """Run the [oncall] command (via /bin/sh) with the alert's JSON on stdin; the error as one
    line, or None. Called from a worker thread: it never blocks the UI."""
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            input=json.dumps(payload).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"on-call command timed out after {timeout:g}s"
    except OSError as exc:
        return f"on-call command failed: {exc.strerror or exc}"
    if done.returncode != 0:
        err = plain(done.stderr.decode(errors="replace"), 120)
        return f"on-call command exited {done.returncode}" + (f": {err}" if err else "")
    return None
