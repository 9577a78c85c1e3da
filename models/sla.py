"""SLA policy: standard = business time, emergency = wall clock.

INTERFACE STUB — implemented by the SLA-clock work (issue 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.calendar import BusinessCalendar
from models.config import SlaConfig

ClockKind = Literal["standard", "emergency"]


@dataclass(frozen=True, slots=True)
class SlaState:
    kind: ClockKind
    received: float
    at: float
    deadline: float
    remaining_seconds: float
    paused: bool
    resumes_at: float | None
    breached: bool


class SlaPolicy:
    def __init__(self, calendar: BusinessCalendar, config: SlaConfig) -> None:
        self.calendar = calendar
        self.config = config

    def target(self, kind: ClockKind) -> float:
        raise NotImplementedError

    def deadline(self, kind: ClockKind, received: float) -> float:
        raise NotImplementedError

    def state(self, kind: ClockKind, received: float, at: float) -> SlaState:
        raise NotImplementedError
