"""A slow, obviously-correct reference model of the business calendar, written apart from
models/clock/calendar.py to check it: its own interval parsing, its own wall-time -> instant
conversion (searching UTC offsets instead of zoneinfo's fold=0), and a sweep over +1/-1 events
instead of merging and subtracting spans. Queries walk the resulting segments one by one.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from bisect import bisect_right

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPOCH = dt.datetime(1970, 1, 1)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def model_interval(text: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' -> (start, end) minutes from the start date's midnight."""
    start_text, end_text = text.split("-")
    start, end = _minutes(start_text), _minutes(end_text)
    if end <= start:
        end += 24 * 60
    return start, end


class ModelCalendar:
    def __init__(
        self,
        zone: str,
        hours: dict[str, list[str]],
        overrides: dict[str, list[str]],
        holidays: list[str],
        first_day: dt.date,
        last_day: dt.date,
    ) -> None:
        self.zone = zoneinfo.ZoneInfo(zone)
        self.first_day = first_day
        self.last_day = last_day
        events: list[tuple[float, int, int]] = []  # (instant, span delta, holiday delta)
        holiday_dates = {dt.date.fromisoformat(text) for text in holidays}
        override_dates = {dt.date.fromisoformat(key): value for key, value in overrides.items()}
        day = first_day
        while day <= last_day:
            if day in override_dates:
                texts = override_dates[day]
            else:
                texts = hours.get(WEEKDAY_KEYS[day.weekday()], [])
            for text in texts:
                start_min, end_min = model_interval(text)
                start = self.wall_to_instant(day, start_min)
                end = self.wall_to_instant(day, end_min)
                if end > start:
                    events.append((start, 1, 0))
                    events.append((end, -1, 0))
            if day in holiday_dates:
                events.append((self.wall_to_instant(day, 0), 0, 1))
                events.append((self.wall_to_instant(day, 24 * 60), 0, -1))
            day += dt.timedelta(days=1)
        events.sort()
        # sweep: after each distinct instant, is the calendar open?
        self.points: list[float] = []
        self.open_after: list[bool] = []
        spans = holidays_open = 0
        index = 0
        while index < len(events):
            instant = events[index][0]
            while index < len(events) and events[index][0] == instant:
                spans += events[index][1]
                holidays_open += events[index][2]
                index += 1
            self.points.append(instant)
            self.open_after.append(spans > 0 and holidays_open == 0)
        # the model is trustworthy only well inside the generated dates
        self.valid_from = self.wall_to_instant(first_day + dt.timedelta(days=2), 0)
        self.valid_to = self.wall_to_instant(last_day - dt.timedelta(days=2), 0)

    def _offset(self, instant: float) -> float:
        delta = dt.datetime.fromtimestamp(instant, self.zone).utcoffset()
        assert delta is not None
        return delta.total_seconds()

    def wall_to_instant(self, day: dt.date, minutes: int) -> float:
        """Wall time -> instant: the first occurrence if ambiguous, pushed by the gap if missing."""
        wall = (dt.datetime(day.year, day.month, day.day) - _EPOCH).total_seconds() + minutes * 60
        offsets = {self._offset(wall + shift * 86400.0) for shift in (-2, -1, 0, 1, 2)}
        valid = [wall - offset for offset in offsets if self._offset(wall - offset) == offset]
        if valid:
            return min(valid)
        # a gap: the wall time does not exist; read it with the offset in force before the gap
        return wall - self._offset(wall - max(offsets))

    def _check(self, *instants: float) -> None:
        for instant in instants:
            assert self.valid_from <= instant <= self.valid_to, "query outside the model's dates"

    def is_open(self, at: float) -> bool:
        self._check(at)
        index = bisect_right(self.points, at) - 1
        return index >= 0 and self.open_after[index]

    def elapsed(self, start: float, end: float) -> float:
        self._check(start, end)
        if end <= start:
            return 0.0
        total = 0.0
        cursor = start
        state = self.is_open(start)
        index = bisect_right(self.points, start)
        while cursor < end:
            boundary = self.points[index] if index < len(self.points) else math.inf
            segment_end = min(boundary, end)
            if state:
                total += segment_end - cursor
            cursor = segment_end
            if index < len(self.points):
                state = self.open_after[index]
            index += 1
        return total

    def deadline(self, start: float, budget: float) -> float | None:
        """Latest t with elapsed(start, t) <= budget, or None if beyond the model's dates."""
        self._check(start)
        spent = 0.0
        cursor = start
        state = self.is_open(start)
        index = bisect_right(self.points, start)
        while index < len(self.points):
            boundary = self.points[index]
            if state:
                if spent + (boundary - cursor) > budget:
                    return cursor + (budget - spent)
                spent += boundary - cursor
            cursor = boundary
            state = self.open_after[index]
            index += 1
            if cursor > self.valid_to:
                return None
        return None

    def next_open(self, at: float) -> float | None:
        if self.is_open(at):
            return at
        for point, state in zip(self.points, self.open_after, strict=True):
            if point > at and state:
                return point if point <= self.valid_to else None
        return None

    def next_change(self, at: float) -> float | None:
        current = self.is_open(at)
        for point, state in zip(self.points, self.open_after, strict=True):
            if point > at and state != current:
                return point if point <= self.valid_to else None
        return None
