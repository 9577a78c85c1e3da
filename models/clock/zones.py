"""Which country an IANA zone belongs to, from tzdata's own zone table.

The calendar's `holiday_country` defaults to the country of its zone ("auto"): a Kolkata
calendar closes on Indian holidays, a London one on English ones, never on US Thanksgiving.
`zone.tab` maps each canonical zone to one ISO 3166 code; old names ("Asia/Calcutta",
"US/Arizona") are links, resolved through `tzdata.zi`. Zones without a country ("UTC",
"Etc/GMT+5") get no holidays.
"""

from __future__ import annotations

import functools
from importlib import resources

HOLIDAYS_FROM_ZONE = "auto"


@functools.cache
def _zone_table() -> tuple[dict[str, str], dict[str, str]]:
    """(zone -> country code, link -> target), from the tzdata package."""
    countries: dict[str, str] = {}
    links: dict[str, str] = {}
    try:
        base = resources.files("tzdata").joinpath("zoneinfo")
        zone_tab = base.joinpath("zone.tab").read_text(encoding="utf-8")
        zi = base.joinpath("tzdata.zi").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):  # no tzdata package: the system's copy, if any
        try:
            with open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as handle:
                zone_tab = handle.read()
        except OSError:
            return countries, links
        zi = ""
    for line in zone_tab.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            countries[fields[2].strip()] = fields[0].strip()
    for line in zi.splitlines():
        if line.startswith("L "):
            parts = line.split()
            if len(parts) == 3:
                links[parts[2]] = parts[1]
    return countries, links


def zone_country(zone: str) -> str | None:
    """The ISO 3166 country code of `zone` ("Asia/Kolkata" -> "IN"), None when it has none."""
    countries, links = _zone_table()
    name = zone.strip()
    for _ in range(4):  # links to links are allowed, but short
        if name in countries:
            return countries[name]
        if name not in links:
            return None
        name = links[name]
    return None


def holiday_country(configured: str | None, zone: str) -> tuple[str | None, str]:
    """The holidays package's country for a calendar, and where it came from (for `calendar
    preview`): the configured code; none ("" / false); or with "auto" (the default) the zone's
    country, when the holidays package has a calendar for it."""
    if configured is None:
        return None, 'none (calendar.holiday_country = "")'
    if configured != HOLIDAYS_FROM_ZONE:
        return configured, "calendar.holiday_country"
    country = zone_country(zone)
    if country is None:
        return None, f"none: {zone} belongs to no country"
    import holidays as holidays_package

    if country not in holidays_package.list_supported_countries():
        return None, f"none: the holidays package has no calendar for {country} (from {zone})"
    return country, f"from the zone {zone} (tzdata's zone table)"
