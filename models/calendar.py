"""Business calendar: weekly hours, overrides, holidays, one IANA zone.

INTERFACE STUB — implemented by the SLA-clock work (issue 2). Epoch seconds (UTC, float) inside.
"""

from __future__ import annotations

from models.config import CalendarConfig


class BusinessCalendar:
    """Business time as sorted, merged UTC opening spans with running totals (bisect lookups)."""

    timezone: str

    @classmethod
    def from_config(cls, config: CalendarConfig) -> BusinessCalendar:
        raise NotImplementedError

    def elapsed(self, start: float, end: float) -> float:
        """Business seconds in [start, end) (0 if end <= start)."""
        raise NotImplementedError

    def deadline(self, start: float, budget_seconds: float) -> float:
        """Latest instant t with elapsed(start, t) <= budget (a budget ending at closing -> next opening)."""
        raise NotImplementedError

    def is_open(self, at: float) -> bool:
        raise NotImplementedError

    def next_open(self, at: float) -> float:
        """The next opening instant at or after `at` (== at if open at `at`? no: start of the next span if closed, else `at`)."""
        raise NotImplementedError

    def next_change(self, at: float) -> float:
        """The next instant after `at` where open/closed flips."""
        raise NotImplementedError
