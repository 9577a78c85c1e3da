"""Who may get support and why: M&S dates, hosted subscriptions, partnerships, policy notices.

Pure functions over rows (anything with the tables' attributes) and dates; no I/O.

Date rules (all dates are calendar dates; every term's `ends_on` is the last day covered):
- A purchase covers 12 months: from the purchase day through the day before its first
  anniversary. 2025-03-15 → 2026-03-14. A 29 February purchase's anniversary in a common year is
  1 March, so 2024-02-29 → 2025-02-28. The expiry day itself is covered; the day after is not.
- A renewal bought before expiry starts the day after the previous term ends (contiguous).
- A reinstatement after a lapse starts later (a gap): the days in the gap are not covered.
- `ms_status` says "active until D" with D the last day of the unbroken run of terms covering the
  date, or "lapsed on D" with D the first day no longer covered (the day after the last covered
  day before the date).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

DateLike = dt.date | str

Basis = Literal["license", "hosted", "partner", "none"]
Level = Literal["info", "warning"]


def as_date(value: DateLike) -> dt.date:
    """An ISO date string or a date → date (a datetime is cut to its date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value.strip())


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day-of-month `months` later; a day that does not exist rolls to the next month's 1st."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    try:
        return dt.date(year, month, day.day)
    except ValueError:  # 29-31 in a shorter month
        return dt.date(year + (month == 12), month % 12 + 1, 1)


def purchase_term_end(purchased_on: DateLike, months: int = 12) -> dt.date:
    """Last day covered by the purchase's M&S: the day before the anniversary."""
    return add_months(as_date(purchased_on), months) - dt.timedelta(days=1)


def _term_ranges(terms: Iterable[Any]) -> list[tuple[dt.date, dt.date]]:
    ranges = []
    for term in terms:
        start, end = as_date(term.starts_on), as_date(term.ends_on)
        if end >= start:
            ranges.append((start, end))
    return sorted(ranges)


def _merged(terms: Iterable[Any]) -> list[tuple[dt.date, dt.date]]:
    """Terms joined into unbroken runs (overlapping or contiguous terms merge)."""
    runs: list[tuple[dt.date, dt.date]] = []
    for start, end in _term_ranges(terms):
        if runs and start <= runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def ms_covered(terms: Iterable[Any], on_date: DateLike) -> bool:
    """True when some M&S term covers `on_date` (both ends inclusive)."""
    day = as_date(on_date)
    return any(start <= day <= end for start, end in _term_ranges(terms))


@dataclass(frozen=True)
class _Term:
    kind: str
    starts_on: str
    ends_on: str


def effective_terms(license: Any, terms: Sequence[Any]) -> Sequence[Any]:
    """The license's terms; a license imported without terms gets purchase..ms_expires_on."""
    if terms or license is None:
        return terms
    return [_Term("purchase", str(license.purchased_on), str(license.ms_expires_on))]


def ms_status(license: Any, terms: Sequence[Any], on: DateLike) -> tuple[bool, dt.date | None]:
    """(True, last day of the covering run) or (False, first uncovered day; None if not begun)."""
    day = as_date(on)
    lapsed: dt.date | None = None
    for start, end in _merged(effective_terms(license, terms)):
        if start <= day <= end:
            return True, end
        if end < day:
            lapsed = end + dt.timedelta(days=1)
    return False, lapsed


def _period_active(row: Any, day: dt.date) -> bool:
    if as_date(row.starts_on) > day:
        return False
    return row.ends_on is None or day <= as_date(row.ends_on)


def _last_ended(rows: Iterable[Any], day: dt.date) -> dt.date | None:
    ends = [as_date(r.ends_on) for r in rows if r.ends_on is not None and as_date(r.ends_on) < day]
    return max(ends) if ends else None


@dataclass(frozen=True)
class EntitlementDecision:
    basis: Basis
    license_id: int | None
    reason: str

    @property
    def entitled(self) -> bool:
        return self.basis != "none"


def entitlement_at(
    customer: Any,
    licenses: Sequence[tuple[Any, Sequence[Any]]],
    hosted: Sequence[Any],
    partnerships: Sequence[Any],
    at_date: DateLike,
    license_key: str | None = None,
) -> EntitlementDecision:
    """Decide support entitlement on `at_date`.

    Order: the license named by `license_key` (when it is one of the customer's), else the
    customer's only license with active M&S (several active ones: basis "license" without an id),
    else an active hosted subscription, else an active partnership. A named license that lapsed
    does not borrow another license's M&S, but hosted or partner entitlement still applies.
    """
    day = as_date(at_date)
    if customer is None:
        return EntitlementDecision("none", None, "the sender is not a known customer")
    keyed = None
    if license_key:
        wanted = license_key.strip().upper()
        keyed = next(((lic, t) for lic, t in licenses if str(lic.key).upper() == wanted), None)
    if keyed is not None:
        active, until = ms_status(keyed[0], keyed[1], day)
        if active:
            return EntitlementDecision(
                "license", keyed[0].id, f"M&S on {keyed[0].key} active until {until}"
            )
    else:
        actives = []
        for lic, terms in licenses:
            active, until = ms_status(lic, terms, day)
            if active:
                actives.append((lic, until))
        if len(actives) == 1:
            lic, until = actives[0]
            return EntitlementDecision("license", lic.id, f"M&S on {lic.key} active until {until}")
        if actives:
            return EntitlementDecision(
                "license", None, f"M&S active on {len(actives)} licenses (no license key given)"
            )
    for sub in hosted:
        if _period_active(sub, day):
            ends = f" until {sub.ends_on}" if sub.ends_on else ""
            return EntitlementDecision("hosted", None, f"hosted subscription active{ends}")
    for partner in partnerships:
        if _period_active(partner, day):
            tier = f" ({partner.tier})" if getattr(partner, "tier", None) else ""
            return EntitlementDecision("partner", None, f"partnership{tier} active")
    return EntitlementDecision("none", None, _why_not(licenses, keyed, hosted, partnerships, day))


def _why_not(
    licenses: Sequence[tuple[Any, Sequence[Any]]],
    keyed: tuple[Any, Sequence[Any]] | None,
    hosted: Sequence[Any],
    partnerships: Sequence[Any],
    day: dt.date,
) -> str:
    candidates = [keyed] if keyed is not None else list(licenses)
    lapses = [
        (lapsed, lic)
        for lic, terms in candidates
        for active, lapsed in [ms_status(lic, terms, day)]
        if not active and lapsed is not None
    ]
    if lapses:
        lapsed, lic = max(lapses, key=lambda pair: pair[0])
        named = f" for license {lic.key}" if keyed is not None else ""
        return f"Maintenance and Support{named} lapsed on {lapsed}"
    if candidates:
        return "Maintenance and Support has not started yet"
    hosted_end = _last_ended(hosted, day)
    if hosted_end is not None:
        return f"the hosted subscription ended on {hosted_end}"
    partner_end = _last_ended(partnerships, day)
    if partner_end is not None:
        return f"the partnership ended on {partner_end}"
    return "no license, hosted subscription or partnership is on record"


# --------------------------------------------------------------------------- versions


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """'10.2.1' > '9.12' numerically; '2.0' == '2.0.0'; a suffix sorts after its number."""
    parts = []
    for piece in re.split(r"[.\-_+]", version.strip().lstrip("vV")):
        match = re.match(r"(\d*)(.*)", piece)
        assert match is not None
        digits, rest = match.groups()
        parts.append((int(digits) if digits else 0, rest.lower()))
    while parts and parts[-1] == (0, ""):
        parts.pop()
    return tuple(parts)


def is_older(version: str, latest: str) -> bool:
    return version_key(version) < version_key(latest)


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Notice:
    level: Level
    text: str


def notices(
    ticket_kind: str,
    license: Any,
    product: Any,
    terms: Sequence[Any],
    hosted: Sequence[Any],
    partnerships: Sequence[Any],
    today: DateLike,
) -> list[Notice]:
    """Policy notices for the detail pane, most important first within each topic."""
    day = as_date(today)
    out: list[Notice] = []
    if license is not None:
        active, date = ms_status(license, terms, day)
        if active:
            out.append(Notice("info", f"M&S active until {date}"))
        elif date is not None:
            out.append(
                Notice(
                    "warning", f"M&S lapsed on {date} — community support only: ask to reinstate"
                )
            )
        else:
            out.append(Notice("warning", "M&S has not started yet"))
    for sub in hosted:
        if _period_active(sub, day):
            until = f" until {sub.ends_on}" if sub.ends_on else ""
            out.append(Notice("info", f"hosted subscription active{until}"))
        elif sub.ends_on is not None and as_date(sub.ends_on) < day:
            out.append(Notice("warning", f"hosted subscription ended on {sub.ends_on}"))
    for partner in partnerships:
        tier = f" ({partner.tier})" if getattr(partner, "tier", None) else ""
        if _period_active(partner, day):
            until = f" until {partner.ends_on}" if partner.ends_on else ""
            out.append(Notice("info", f"partnership{tier} active{until}"))
        elif partner.ends_on is not None and as_date(partner.ends_on) < day:
            out.append(Notice("warning", f"partnership{tier} ended on {partner.ends_on}"))
    emergency = ticket_kind == "emergency"
    if license is not None and product is not None:
        in_use, latest = str(license.version_in_use), str(product.latest_version)
        if is_older(in_use, latest):
            out.append(
                Notice(
                    "warning",
                    f"version {in_use} in use, latest is {latest} — hotfixes only in the latest "
                    "version",
                )
            )
            if emergency:
                out.append(Notice("warning", f"a bug fix requires updating to {latest}"))
    if emergency:
        out.append(Notice("info", "emergency: non-refundable; 1-hour initial response"))
    return out
