"""SLA policy: standard = business time, emergency = wall clock.

- standard: deadline = the latest instant t with elapsed(received, t) <= target (a budget that
  runs out at closing time is due at the next opening); remaining = target - elapsed(received, at);
  paused while the calendar is closed, resuming at the next opening.
- emergency: deadline = received + target; remaining = target - (at - received); never paused.
- breached = at > deadline (remaining is then negative).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

from models.clock.calendar import BusinessCalendar
from models.clock.timefmt import Zone, as_zone, countdown, format_wall, overdue
from models.policy.config import SlaConfig

ClockKind = Literal["standard", "emergency"]
SlaStatus = Literal["ok", "warning", "critical", "breached", "paused"]
KINDS: tuple[ClockKind, ...] = ("standard", "emergency")
RESUME_DATE_AFTER = 6 * 86400.0  # humanize adds the date when resuming further away than this
DEADLINE_CACHE_SIZE = 500_000
_new_state = tuple.__new__


class SlaState(NamedTuple):
    """One ticket's clock at `at`. Immutable; a NamedTuple rather than a frozen dataclass because
    building a frozen dataclass costs ~2.5 µs, half of a queue row's budget."""

    kind: ClockKind
    received: float
    at: float
    deadline: float
    remaining_seconds: float
    paused: bool
    resumes_at: float | None
    breached: bool


class SlaPolicy:
    def __init__(
        self,
        calendar: BusinessCalendar,
        config: SlaConfig,
        *,
        emergency_warning: float | None = None,
        emergency_critical: float | None = None,
    ) -> None:
        self.calendar = calendar
        self.config = config
        self._standard = float(config.standard_seconds)
        self._emergency = float(config.emergency_seconds)
        # an emergency's own thresholds ([oncall] warning / critical): a share of a 1 h budget
        # (25 % = 15 m) would equal the critical threshold and leave 16-59 m reading "ok"; by
        # default an emergency is "warning" from arrival
        self._emergency_warning = (
            self._emergency if emergency_warning is None else float(emergency_warning)
        )
        self._emergency_critical = (
            float(config.critical_seconds) if emergency_critical is None else emergency_critical
        )
        # standard deadlines never change for a given received instant: the queue asks every second
        self._deadlines: dict[float, float] = {}

    def target(self, kind: ClockKind) -> float:
        if kind == "standard":
            return self._standard
        if kind == "emergency":
            return self._emergency
        raise ValueError(f"unknown SLA kind {kind!r} (standard or emergency)")

    def thresholds(self, kind: ClockKind) -> tuple[float, float]:
        """(critical, warning): seconds left below which status() says so (see status())."""
        if kind == "emergency":
            return self._emergency_critical, self._emergency_warning
        return float(self.config.critical_seconds), self.config.warning_fraction * self._standard

    def deadline(self, kind: ClockKind, received: float) -> float:
        if kind == "emergency":
            return received + self._emergency
        if kind == "standard":
            deadline = self._deadlines.get(received)
            if deadline is None:
                deadline = self.calendar.deadline(received, self._standard)
            return deadline
        raise ValueError(f"unknown SLA kind {kind!r} (standard or emergency)")

    def remaining(self, kind: ClockKind, received: float, at: float) -> float:
        """Seconds left (negative once overdue): the queue's cheap per-row call."""
        if kind == "emergency":
            return self._emergency - (at - received)
        return self._standard - self.calendar.elapsed(received, at)

    def state(self, kind: ClockKind, received: float, at: float) -> SlaState:
        if kind == "standard":
            deadline = self._deadlines.get(received)
            if deadline is None:
                deadline = self.calendar.deadline(received, self._standard)
                if len(self._deadlines) >= DEADLINE_CACHE_SIZE:
                    self._deadlines.clear()
                self._deadlines[received] = deadline
            elapsed, resumes = self.calendar.elapsed_and_resume(received, at)
            if resumes is None:
                return _new_state(
                    SlaState,
                    (kind, received, at, deadline, self._standard - elapsed, False, None,
                     at > deadline),
                )  # fmt: skip
            return _new_state(
                SlaState,
                (kind, received, at, deadline, self._standard - elapsed, True,
                 None if resumes == math.inf else resumes, at > deadline),
            )  # fmt: skip
        if kind == "emergency":
            deadline = received + self._emergency
            return _new_state(
                SlaState,
                (kind, received, at, deadline, self._emergency - (at - received), False, None,
                 at > deadline),
            )  # fmt: skip
        raise ValueError(f"unknown SLA kind {kind!r} (standard or emergency)")

    def states(
        self, tickets: list[tuple[ClockKind, float]], at: float
    ) -> list[SlaState]:  # one queue repaint
        state = self.state
        return [state(kind, received, at) for kind, received in tickets]

    def status(self, state: SlaState) -> SlaStatus:
        """breached > paused > critical (< critical_seconds left) > warning (< fraction) > ok;
        emergencies use their own thresholds (warning from arrival by default)."""
        if state.breached:
            return "breached"
        if state.paused:
            return "paused"
        remaining = state.remaining_seconds
        if state.kind == "emergency":
            if remaining < self._emergency_critical:
                return "critical"
            return "warning" if remaining <= self._emergency_warning else "ok"
        if remaining < self.config.critical_seconds:
            return "critical"
        if remaining < self.config.warning_fraction * self.target(state.kind):
            return "warning"
        return "ok"

    def humanize(self, state: SlaState, zone: Zone | None = None) -> str:
        return humanize(state, zone if zone is not None else self.calendar.zone)


def humanize(state: SlaState, zone: Zone) -> str:
    """'3h 12m', '42m', '9m 10s', 'paused · resumes Mon 08:00', 'overdue 12m' (times in
    `zone`)."""
    if state.breached:
        return overdue(-state.remaining_seconds)
    if state.paused:
        if state.resumes_at is None:
            return "paused"
        far = state.resumes_at - state.at > RESUME_DATE_AFTER
        return f"paused · resumes {format_wall(state.resumes_at, as_zone(zone), with_date=far)}"
    return countdown(state.remaining_seconds)
