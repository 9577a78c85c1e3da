"""SLA clock benchmark: shiftdesk vs businesstimedelta, and one queue repaint's worth of states.

Run: .venv/bin/python bench/sla_bench.py [--count 100000] [--seed 7]

1. The same N random "received" instants (uniform over 2024-2026) get a "+4 business hours"
   deadline from businesstimedelta and from shiftdesk. Schedule: Mon-Fri 08:00-12:00 + 13:00-17:00
   America/New_York, US holidays (the `holidays` package, observed dates) for both.
   Prints µs per deadline for each, the ratio, and classifies every difference:
   - "closing vs next opening": a budget that runs out exactly at closing time is due at the
     closing instant in businesstimedelta and at the next opening in shiftdesk (the issue's rule,
     as Zendesk's `biz`); both have exactly 4 business hours elapsed, so this is a convention.
   - anything else is listed with both answers and the business time each one implies.
2. The state of 1,000 tickets (10% emergency) at one `now`: what one queue repaint needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
import zoneinfo
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import businesstimedelta
import holidays
import pytz

from models.clock.calendar import BusinessCalendar
from models.clock.sla import ClockKind, SlaPolicy
from models.policy.config import CalendarConfig, SlaConfig

ZONE_NAME = "America/New_York"
BUDGET = 4 * 3600.0


def build_shiftdesk(now: float) -> BusinessCalendar:
    config = CalendarConfig(
        timezone=ZONE_NAME,
        hours={d: ["08:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        holiday_country="US",
    )
    return BusinessCalendar.from_config(config, now=now)


def build_btd() -> businesstimedelta.BusinessTimeDelta:
    tz = pytz.timezone(ZONE_NAME)
    workday = businesstimedelta.WorkDayRule(
        start_time=dt.time(8), end_time=dt.time(17), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    lunch = businesstimedelta.LunchTimeRule(
        start_time=dt.time(12), end_time=dt.time(13), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    holiday = businesstimedelta.HolidayRule(holidays.country_holidays("US"), tz=tz)
    rules = businesstimedelta.Rules([workday, lunch, holiday])
    return businesstimedelta.BusinessTimeDelta(rules, hours=4)


def local(at: float) -> str:
    return dt.datetime.fromtimestamp(at, zoneinfo.ZoneInfo(ZONE_NAME)).strftime(
        "%a %Y-%m-%d %H:%M:%S%z"
    )


def bench_deadlines(count: int, seed: int) -> None:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    end = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    received = [float(rng.randrange(int(start), int(end))) for _ in range(count)]

    calendar = build_shiftdesk(received[0])
    for year in range(2023, 2028):  # warm the table and the holiday cache
        calendar.deadline(dt.datetime(year, 6, 1, tzinfo=dt.UTC).timestamp(), BUDGET)
    delta = build_btd()
    utc = pytz.utc
    received_dt = [dt.datetime.fromtimestamp(r, utc) for r in received]
    for moment in received_dt[:200]:  # warm the holidays object's year cache
        _ = moment + delta

    started = time.perf_counter()
    btd_results = [(moment + delta).timestamp() for moment in received_dt]
    btd_seconds = time.perf_counter() - started

    runs = []
    for _ in range(3):
        started = time.perf_counter()
        deadline = calendar.deadline
        ours = [deadline(r, BUDGET) for r in received]
        runs.append(time.perf_counter() - started)
    ours_seconds = min(runs)

    # the same through datetime objects at both edges, as businesstimedelta's API requires
    started = time.perf_counter()
    for moment in received_dt:
        dt.datetime.fromtimestamp(deadline(moment.timestamp(), BUDGET), utc)
    ours_dt_seconds = time.perf_counter() - started

    btd_us = btd_seconds / count * 1e6
    ours_us = ours_seconds / count * 1e6
    ours_dt_us = ours_dt_seconds / count * 1e6
    print(f"deadline (+4 business hours), {count:,} random received instants 2024-2026")
    print(f"  schedule: Mon-Fri 08:00-12:00 + 13:00-17:00 {ZONE_NAME}, US holidays (observed)")
    print(f"  businesstimedelta 1.0.1 : {btd_us:8.2f} µs/deadline")
    print(
        f"  shiftdesk (epoch floats): {ours_us:8.2f} µs/deadline   ratio {btd_us / ours_us:6.1f}x"
    )
    print(
        f"  shiftdesk (datetime i/o): {ours_dt_us:8.2f} µs/deadline   "
        f"ratio {btd_us / ours_dt_us:6.1f}x"
    )

    kinds: Counter[str] = Counter()
    others: list[str] = []
    for r, theirs, mine in zip(received, btd_results, ours, strict=True):
        if theirs == mine:
            kinds["identical"] += 1
            continue
        theirs_elapsed = calendar.elapsed(r, theirs)
        if theirs_elapsed == BUDGET and calendar.elapsed(theirs, mine) == 0 and theirs < mine:
            kinds["closing vs next opening (convention)"] += 1
            continue
        kinds["other"] += 1
        if len(others) < 15:
            others.append(
                f"    received {local(r)}: btd {local(theirs)} "
                f"({theirs_elapsed / 3600:.3f} business h), "
                f"shiftdesk {local(mine)} ({calendar.elapsed(r, mine) / 3600:.3f} business h)"
            )
    print("  results:")
    for kind, number in kinds.most_common():
        print(f"    {kind:40s} {number:7,d}  ({number / count:6.2%})")
    if others:
        print("  other differences (first 15):")
        print("\n".join(others))
    elif "other" not in kinds:
        print("  no other differences: wherever the results differ, only the convention does")


def bench_repaint(seed: int) -> None:
    rng = random.Random(seed)
    now = dt.datetime(2024, 3, 11, 14, 30, tzinfo=zoneinfo.ZoneInfo(ZONE_NAME)).timestamp()
    calendar = build_shiftdesk(now)
    policy = SlaPolicy(calendar, SlaConfig())
    kinds: list[ClockKind] = [
        "emergency" if rng.random() < 0.1 else "standard" for _ in range(1000)
    ]
    tickets = [(kind, now - rng.uniform(0, 5 * 86400)) for kind in kinds]
    policy.states(tickets, now)

    def best_of(func: object, repeats: int = 50) -> tuple[float, float]:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            func()  # type: ignore[operator]
            samples.append(time.perf_counter() - started)
        return min(samples) * 1e3, statistics.median(samples) * 1e3

    best_state, median_state = best_of(lambda: policy.states(tickets, now))
    remaining = policy.remaining
    best_rem, median_rem = best_of(lambda: [remaining(k, r, now) for k, r in tickets])
    best_fmt, median_fmt = best_of(
        lambda: [policy.humanize(s) for s in policy.states(tickets, now)]
    )
    print("queue repaint: 1,000 tickets (10% emergency) at one `now` (goal <= 5 ms)")
    print(f"  SlaPolicy.state()      best {best_state:6.3f} ms   median {median_state:6.3f} ms")
    print(f"  SlaPolicy.remaining()  best {best_rem:6.3f} ms   median {median_rem:6.3f} ms")
    print(f"  state() + humanize()   best {best_fmt:6.3f} ms   median {median_fmt:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bench_deadlines(args.count, args.seed)
    bench_repaint(args.seed)


if __name__ == "__main__":
    main()
