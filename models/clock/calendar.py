"""Business calendar: weekly hours, overrides, holidays, one IANA zone.

Inside, business time is a table of sorted, merged UTC opening spans (epoch float seconds) with a
running total of business seconds before each span, so `elapsed`, `deadline`, `is_open`,
`next_open` and `next_change` are a couple of `bisect` calls (~1-2 µs). The table covers a window
of whole local years, built lazily around the first query and rebuilt (bounded to
`MAX_WINDOW_YEARS`) when a query falls outside it; searches that walk forward are bounded too, so
nothing can hang.

Semantics (docs/config.md): an interval belongs to the local date it starts on, an end at or
before the start crosses midnight, "24:00" is next midnight; local wall times become instants with
PEP 495 fold=0 (zoneinfo: ambiguous -> first occurrence, nonexistent -> pushed forward by the
gap); business time is the union of the spans minus each holiday's whole local date.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from models.clock.zones import holiday_country as resolve_holiday_country
from models.policy.config import (
    WEEKDAYS,
    CalendarConfig,
    ConfigError,
    check_timezone,
    parse_interval,
    parse_iso_date,
)

DAY = 86400.0
MAX_WINDOW_YEARS = 40  # the span table never covers more local years than this
FORWARD_SEARCH_DAYS = 5 * 366  # next_open/next_change give up (inf) this far ahead
MIN_YEAR = 1902
MAX_YEAR = 2399
_ONE_DAY = dt.timedelta(days=1)

Interval = tuple[int, int]  # minutes from the start date's local midnight; end may pass 1440


@dataclass(frozen=True, slots=True)
class Opening:
    """One business span, for display."""

    start: float
    end: float


class BusinessCalendar:
    """Business time as sorted, merged UTC opening spans with running totals (bisect lookups)."""

    timezone: str

    def __init__(
        self,
        timezone: str,
        weekly: dict[int, list[Interval]],
        overrides: dict[dt.date, list[Interval]] | None = None,
        holidays: Iterable[dt.date] = (),
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
    ) -> None:
        self.timezone = timezone
        self.zone = zoneinfo.ZoneInfo(timezone)
        self._weekly: list[list[Interval]] = [sorted(weekly.get(i, [])) for i in range(7)]
        self._overrides: dict[dt.date, list[Interval]] = {
            day: sorted(items) for day, items in (overrides or {}).items()
        }
        self._config_holidays: set[dt.date] = set(holidays)
        self._country = holiday_country
        # where the country came from, for `calendar preview` (from_config says more)
        self.holiday_source = "given" if holiday_country else "none"
        self._subdivision = holiday_subdivision
        self._holiday_years: dict[int, dict[dt.date, str]] = {}
        # the span table; empty window until the first query
        self._year0 = 0
        self._year1 = 0
        self._lo = math.inf
        self._hi = -math.inf
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cum: list[float] = []  # business seconds before span i (window-relative)
        self._cum_end: list[float] = []  # business seconds up to the end of span i

    # --- construction --------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: CalendarConfig, *, now: float | None = None) -> BusinessCalendar:
        """Validate `config` (ConfigError naming the key) and build a calendar.

        A calendar with no business time in the 366 days from `now` (default: the clock) is a
        config error, since every standard deadline would be infinitely far away.
        """
        try:
            check_timezone(config.timezone)
        except ValueError as exc:
            raise ConfigError("calendar.timezone", str(exc)) from None
        weekly: dict[int, list[Interval]] = {}
        for day, items in config.hours.items():
            if day not in WEEKDAYS:
                raise ConfigError(
                    f"calendar.hours.{day}", f"unknown day (use one of {', '.join(WEEKDAYS)})"
                )
            weekly[WEEKDAYS.index(day)] = _intervals(items, f"calendar.hours.{day}")
        overrides: dict[dt.date, list[Interval]] = {}
        for name, items in config.overrides.items():
            key = f"calendar.overrides.{name}"
            try:
                day_date = parse_iso_date(name)
            except ValueError as exc:
                raise ConfigError(key, str(exc)) from None
            overrides[day_date] = _intervals(items, key)
        holidays: list[dt.date] = []
        for index, text in enumerate(config.holidays):
            try:
                holidays.append(parse_iso_date(text))
            except ValueError as exc:
                raise ConfigError(f"calendar.holidays[{index}]", str(exc)) from None
        country, source = resolve_holiday_country(config.holiday_country, config.timezone.strip())
        calendar = cls(
            config.timezone.strip(),
            weekly,
            overrides,
            holidays,
            country,
            config.holiday_subdivision,
        )
        calendar.holiday_source = source
        start = time.time() if now is None else now
        try:
            calendar._holidays_for_year(dt.datetime.fromtimestamp(start, calendar.zone).year)
        except (KeyError, NotImplementedError, ValueError) as exc:
            raise ConfigError("calendar.holiday_country", f"holidays package: {exc}") from None
        if calendar.elapsed(start, start + 366 * DAY) <= 0:
            raise ConfigError("calendar.hours", "no business time in the next 366 days")
        return calendar

    # --- local time -----------------------------------------------------------------------------

    def local_instant(self, day: dt.date, minutes: int = 0) -> float:
        """The instant of local wall time `day` + `minutes` (may pass 24:00), fold=0."""
        extra_days, minute_of_day = divmod(minutes, 1440)
        if extra_days:
            day = day + dt.timedelta(days=extra_days)
        hour, minute = divmod(minute_of_day, 60)
        return dt.datetime(
            day.year, day.month, day.day, hour, minute, tzinfo=self.zone, fold=0
        ).timestamp()

    def local_datetime(self, at: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(at, self.zone)

    def local_date(self, at: float) -> dt.date:
        return dt.datetime.fromtimestamp(at, self.zone).date()

    def intervals_for(self, day: dt.date) -> list[Interval]:
        """The intervals that start on local `day` (override, else the weekly hours)."""
        found = self._overrides.get(day)
        return found if found is not None else self._weekly[day.weekday()]

    @property
    def holiday_country(self) -> str | None:
        return self._country

    def has_override(self, day: dt.date) -> bool:
        return day in self._overrides

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self._config_holidays:
            return "company holiday"
        return self._holidays_for_year(day.year).get(day)

    def _holidays_for_year(self, year: int) -> dict[dt.date, str]:
        found = self._holiday_years.get(year)
        if found is None:
            found = {}
            if self._country:
                import holidays as holidays_package

                for day, name in holidays_package.country_holidays(
                    self._country, subdiv=self._subdivision, years=year
                ).items():
                    found[day] = str(name)
            self._holiday_years[year] = found
        return found

    # --- the span table -------------------------------------------------------------------------

    def _ensure(self, first: float, last: float) -> None:
        """Make the table valid for [first, last] with last strictly inside the window."""
        if self._lo <= first and last < self._hi:
            return
        if not (math.isfinite(first) and math.isfinite(last)):
            raise ValueError("instant is not finite")
        need0 = (self.local_date(first) - 2 * _ONE_DAY).year
        need1 = (self.local_date(last) + 3 * _ONE_DAY).year + 1
        if need0 < MIN_YEAR or need1 > MAX_YEAR + 1:
            raise ValueError(f"instant outside the supported years {MIN_YEAR}-{MAX_YEAR}")
        if self._year1 > self._year0:
            size = self._year1 - self._year0
            year0, year1 = self._year0, self._year1
            if need1 > year1:  # grow geometrically so walking forward rebuilds rarely
                year1 = max(need1, year1 + max(2, size // 2))
            if need0 < year0:
                year0 = min(need0, year0 - 2)
            if year1 - year0 > MAX_WINDOW_YEARS:  # slide instead of growing without bound
                year0, year1 = need0, max(need1, need0 + MAX_WINDOW_YEARS // 4)
        else:
            year0, year1 = need0 - 1, need1 + 2
        if year1 - year0 > MAX_WINDOW_YEARS:
            raise ValueError(f"range longer than {MAX_WINDOW_YEARS} years")
        self._build(max(year0, MIN_YEAR), min(year1, MAX_YEAR + 1))

    def _build(self, year0: int, year1: int) -> None:
        first_day = dt.date(year0, 1, 1)
        end_day = dt.date(year1, 1, 1)
        lo = self.local_instant(first_day)
        hi = self.local_instant(end_day)

        raw: list[tuple[float, float]] = []
        day = first_day - _ONE_DAY
        while day <= end_day:
            for start_min, end_min in self.intervals_for(day):
                start = self.local_instant(day, start_min)
                end = self.local_instant(day, end_min)
                if end > start:  # a span wholly inside a DST gap can come out empty
                    raw.append((start, end))
            day += _ONE_DAY
        raw.sort()
        spans = _merge(raw)

        closed: list[tuple[float, float]] = []
        day = first_day - 2 * _ONE_DAY
        stop = end_day + 2 * _ONE_DAY
        while day <= stop:
            if day in self._config_holidays or day in self._holidays_for_year(day.year):
                start = self.local_instant(day)
                end = self.local_instant(day, 1440)
                if end > start:
                    closed.append((start, end))
            day += _ONE_DAY
        spans = _subtract(spans, _merge(sorted(closed)))

        starts: list[float] = []
        ends: list[float] = []
        cums: list[float] = []
        cum_ends: list[float] = []
        total = 0.0
        for start, end in spans:
            start = max(start, lo)
            end = min(end, hi)
            if end <= start:
                continue
            starts.append(start)
            ends.append(end)
            cums.append(total)
            total += end - start
            cum_ends.append(total)
        self._year0, self._year1 = year0, year1
        self._lo, self._hi = lo, hi
        self._starts, self._ends, self._cum, self._cum_end = starts, ends, cums, cum_ends

    def _cum_at(self, at: float) -> float:
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            return 0.0
        end = self._ends[index]
        return self._cum[index] + ((at if at < end else end) - self._starts[index])

    # --- queries --------------------------------------------------------------------------------

    def elapsed(self, start: float, end: float) -> float:
        """Business seconds in [start, end) (0 if end <= start)."""
        if end <= start:
            return 0.0
        if not (self._lo <= start and end < self._hi):
            span_limit = (MAX_WINDOW_YEARS - 6) * 365 * DAY
            if end - start > span_limit:
                middle = start + span_limit
                return self.elapsed(start, middle) + self.elapsed(middle, end)
            self._ensure(start, end)
        return self._cum_at(end) - self._cum_at(start)

    def deadline(self, start: float, budget_seconds: float) -> float:
        """Latest t with elapsed(start, t) <= budget (a budget ending at closing -> next opening).

        math.inf when the calendar has no more business time before the supported end.
        """
        remaining = max(0.0, float(budget_seconds))
        at = start
        while True:
            if not (self._lo <= at < self._hi):
                try:
                    self._ensure(at, at)
                except ValueError:
                    if at > start:  # walked off the supported range: never due
                        return math.inf
                    raise
            target = self._cum_at(at) + remaining
            cum_end = self._cum_end
            index = bisect_left(cum_end, target)
            count = len(cum_end)
            if index < count:
                if cum_end[index] > target:
                    return self._starts[index] + (target - self._cum[index])
                if index + 1 < count:
                    return self._starts[index + 1]
            # the budget reaches past this window: spend what it holds and go on from its end
            total = cum_end[-1] if count else 0.0
            remaining = max(0.0, target - total)
            at = self._hi

    def is_open(self, at: float) -> bool:
        if not (self._lo <= at < self._hi):
            self._ensure(at, at)
        index = bisect_right(self._starts, at) - 1
        return index >= 0 and at < self._ends[index]

    def next_open(self, at: float) -> float:
        """`at` if open at `at`, else the start of the next span (inf if none within ~5 years)."""
        limit = at + FORWARD_SEARCH_DAYS * DAY
        probe = at
        while probe <= limit:
            if not (self._lo <= probe < self._hi):
                try:
                    self._ensure(probe, probe)
                except ValueError:
                    if probe > at:
                        return math.inf
                    raise
            index = bisect_right(self._starts, probe) - 1
            if index >= 0 and probe < self._ends[index]:
                return probe
            if index + 1 < len(self._starts):
                return self._starts[index + 1]
            probe = self._hi
        return math.inf

    def next_change(self, at: float) -> float:
        """The next instant after `at` where open/closed flips (inf if none within ~5 years)."""
        state = self.is_open(at)
        limit = at + FORWARD_SEARCH_DAYS * DAY
        probe = at
        while True:
            index = bisect_right(self._starts, probe) - 1
            candidate = math.inf
            if index >= 0 and probe < self._ends[index]:
                candidate = self._ends[index]
            elif index + 1 < len(self._starts):
                candidate = self._starts[index + 1]
            if candidate < self._hi:
                return candidate
            # the answer lies beyond this window (a span clipped at its end, or no span left)
            probe = self._hi
            if probe > limit:
                return math.inf
            try:
                self._ensure(probe, probe)
            except ValueError:
                return math.inf
            if self.is_open(probe) != state:
                return probe

    def elapsed_and_resume(self, start: float, at: float) -> tuple[float, float | None]:
        """(elapsed(start, at), None if open at `at` else next_open(at)) in one pass.

        The queue's per-row call: one bisect for `at` answers both whether the calendar is open
        and where the running total stands.
        """
        if not (self._lo <= start < self._hi and self._lo <= at < self._hi):
            elapsed = self.elapsed(start, at)
            return elapsed, (None if self.is_open(at) else self.next_open(at))
        starts = self._starts
        index = bisect_right(starts, at) - 1
        resume: float | None = None
        if index >= 0 and at < self._ends[index]:
            total_at = self._cum[index] + (at - starts[index])
        else:
            total_at = self._cum_end[index] if index >= 0 else 0.0
            resume = starts[index + 1] if index + 1 < len(starts) else math.nan
        elapsed = total_at - self._cum_at(start) if at > start else 0.0
        if resume is not None and math.isnan(resume):
            resume = self.next_open(at)  # past the table's last span (may rebuild the window)
        return elapsed, resume

    def spans_between(self, start: float, end: float) -> list[Opening]:
        """The business spans overlapping [start, end), clipped to it (merged across windows)."""
        result: list[Opening] = []
        probe = start
        while probe < end:
            if not (self._lo <= probe < self._hi):
                self._ensure(probe, probe)
            index = max(0, bisect_right(self._starts, probe) - 1)
            while index < len(self._starts) and self._starts[index] < end:
                span_start = max(self._starts[index], probe)
                span_end = min(self._ends[index], end)
                if span_end > span_start:
                    if result and result[-1].end >= span_start:
                        result[-1] = Opening(result[-1].start, span_end)
                    else:
                        result.append(Opening(span_start, span_end))
                index += 1
            probe = self._hi
        return result

    def utc_offset_changes(self, start: float, end: float) -> list[tuple[float, int, int]]:
        """(instant, old offset s, new offset s) for each UTC-offset change in [start, end)."""
        changes: list[tuple[float, int, int]] = []

        def offset(at: float) -> int:
            delta = dt.datetime.fromtimestamp(at, self.zone).utcoffset()
            return int(delta.total_seconds()) if delta else 0

        step = 6 * 3600.0
        probe = start
        while probe < end:
            nxt = min(probe + step, end)
            before, after = offset(probe), offset(nxt)
            if before != after:
                low, high = probe, nxt  # offset(low) == before, offset(high) == after
                while high - low > 1:
                    middle = math.floor((low + high) / 2)
                    if offset(middle) == before:
                        low = middle
                    else:
                        high = middle
                changes.append((high, before, after))
            probe = nxt
        return changes

    def opening_text(self, at: float) -> str:
        """'open until Fri 17:00' or 'closed · opens Mon 08:00' (local time)."""
        change = self.next_change(at)
        if self.is_open(at):
            if math.isinf(change):
                return "open"
            return f"open until {self.local_datetime(change):%a %H:%M}"
        opens = self.next_open(at)
        if math.isinf(opens):
            return "closed"
        return f"closed · opens {self.local_datetime(opens):%a %H:%M}"


def _intervals(items: Iterable[str], key: str) -> list[Interval]:
    if isinstance(items, str):
        items = [items]
    result: list[Interval] = []
    for index, text in enumerate(items):
        try:
            result.append(parse_interval(text))
        except ValueError as exc:
            raise ConfigError(f"{key}[{index}]", str(exc)) from None
    return result


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge sorted spans; touching spans merge too."""
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(
    spans: list[tuple[float, float]], holes: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Sorted disjoint `spans` minus sorted disjoint `holes`."""
    result: list[tuple[float, float]] = []
    hole_index = 0
    for start, end in spans:
        current = start
        while hole_index < len(holes) and holes[hole_index][1] <= current:
            hole_index += 1
        probe = hole_index
        while probe < len(holes) and holes[probe][0] < end:
            hole_start, hole_end = holes[probe]
            if hole_start > current:
                result.append((current, hole_start))
            current = max(current, hole_end)
            if current >= end:
                break
            probe += 1
        if current < end:
            result.append((current, end))
    return result
