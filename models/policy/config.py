"""The TOML configuration: calendar, SLA targets, SMTP, company, technician.

`load_config` reads `path`, else $SHIFTDESK_CONFIG, else the platformdirs config file (if it
exists), else the defaults. Every key is validated; a bad or unknown key raises `ConfigError`,
whose `str()` is one line naming the key (``config error: calendar.hours.mon[0]: ...``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


class ConfigError(ValueError):
    """A bad configuration value. `str()` is one line that names the key."""

    def __init__(self, key: str, message: str) -> None:
        one_line = " ".join(message.split())
        super().__init__(f"config error: {key}: {one_line}")
        self.key = key
        self.message = one_line


@dataclass(frozen=True)
class CalendarConfig:
    timezone: str = "America/Phoenix"
    # weekday key ("mon".."sun") -> list of "HH:MM-HH:MM" strings
    hours: dict[str, list[str]] = field(
        default_factory=lambda: {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    # ISO date -> list of "HH:MM-HH:MM" (replaces the weekly intervals that start that date)
    overrides: dict[str, list[str]] = field(default_factory=dict)
    holidays: list[str] = field(default_factory=list)
    # "auto": the country of `timezone` (models.clock.zones); "" / false in the TOML: no holidays
    holiday_country: str | None = "auto"
    holiday_subdivision: str | None = None


@dataclass(frozen=True)
class SlaConfig:
    standard_seconds: int = 4 * 3600
    emergency_seconds: int = 3600
    warning_fraction: float = 0.25  # "warning" when remaining < this share of the budget
    critical_seconds: int = 15 * 60  # "critical" when remaining < this


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    from_address: str = "support@example.com"
    timeout_seconds: float = 10.0
    # at most this many "not entitled" auto-replies per rolling hour, whoever they go to: a
    # flood of spoofed senders must not turn us into a backscatter source (0 = none at all)
    autoreply_per_hour: int = 20

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class CompanyConfig:
    name: str = "Example Software"
    source_ip: str = "203.0.113.10"  # the address technicians connect from (RSAA)
    forum_url: str = "https://community.example.com"
    support_address: str = "support@example.com"


ONCALL_VIEWS: tuple[str, ...] = (
    "waiting", "all", "not-entitled", "emergencies", "mine", "unassigned", "breached"
)  # fmt: skip


@dataclass(frozen=True)
class OncallConfig:
    """[oncall]: how a new emergency wakes the people on call (see docs/oncall.md)."""

    repeat_seconds: int = 5 * 60  # alert again this often until acknowledged
    before_breach: tuple[int, ...] = (30 * 60, 10 * 60)  # and when this much is left (desc)
    command: str | None = None  # run (sh -c) with the ticket's JSON on stdin, on every alert
    command_timeout_seconds: float = 10.0
    sound: bool = True  # the terminal bell (the toast and the notification always show)
    view: str = "waiting"  # the view the console starts in
    warning_seconds: int = 60 * 60  # an emergency reads "warning" under this much left
    critical_seconds: int = 15 * 60  # ... and "critical" under this


@dataclass(frozen=True)
class Config:
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    sla: SlaConfig = field(default_factory=SlaConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    company: CompanyConfig = field(default_factory=CompanyConfig)
    oncall: OncallConfig = field(default_factory=OncallConfig)
    technician: str | None = None  # default technician email
    source: Path | None = None  # the file it came from, if any


# --- value parsers shared with models.clock.calendar ----------------------------------------

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_time_of_day(text: str, *, allow_24: bool) -> int:
    """'HH:MM' -> minutes after midnight; '24:00' only when `allow_24`. ValueError when bad."""
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"{text!r} is not a time")
    return hours * 60 + minutes


def parse_interval(text: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' -> (start, end) in minutes from the start date's midnight.

    An end at or before the start crosses midnight (end + 1440); '24:00' is next midnight.
    Raises ValueError with a short reason.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a 'HH:MM-HH:MM' string")
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a 'HH:MM-HH:MM' interval")
    try:
        start = parse_time_of_day(parts[0], allow_24=False)
        end = parse_time_of_day(parts[1], allow_24=True)
    except ValueError:
        raise ValueError(f"{text!r} is not a time") from None
    if end == start:
        raise ValueError(f"{text!r} has zero length")
    if end < start:
        end += MINUTES_PER_DAY
    return start, end


def parse_duration(text: str | int | float) -> int:
    """'4h', '90m', '1h30m', '45s', '1d' (or a bare number of seconds) -> seconds (> 0)."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    if isinstance(text, int | float):
        seconds = int(text)
        if seconds != text or seconds <= 0:
            raise ValueError(f"{text!r} is not a positive whole number of seconds")
        return seconds
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration")
    compact = text.replace(" ", "").lower()
    match = _DURATION_RE.match(compact)
    if not compact or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (use e.g. '4h', '90m', '1h30m', '45s')")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def parse_fraction(value: object) -> float:
    """0.25 or '25%' -> 0.25; must lie in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a fraction")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a fraction (use e.g. 0.25 or '25%')") from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError(f"{value!r} is not a fraction")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{value!r} must be between 0 and 1 (or 0% and 100%)")
    return number


def parse_iso_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)")


def check_timezone(name: object) -> zoneinfo.ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name!r} is not an IANA time zone")
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not an IANA time zone") from None


# --- section validators -------------------------------------------------------------------------


def _table(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {type(value).__name__}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str] | tuple[str, ...], prefix: str) -> None:
    for name in table:
        if name not in allowed:
            key = f"{prefix}.{name}" if prefix else name
            raise ConfigError(key, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _str(value: object, key: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, got {value!r}")
    if not empty_ok and not value.strip():
        raise ConfigError(key, "must not be empty")
    return value.strip()


def _optional_str(value: object, key: str) -> str | None:
    if value is False:
        return None
    text = _str(value, key, empty_ok=True)
    return text or None


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def _wrap(key: str, parse: Callable[[Any], Any], value: object) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _interval_list(value: object, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(key, f"must be a list of 'HH:MM-HH:MM' strings, got {value!r}")
    result: list[str] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        if not isinstance(item, str):
            raise ConfigError(item_key, f"{item!r} is not a 'HH:MM-HH:MM' string")
        _wrap(item_key, parse_interval, item)
        result.append(item.strip())
    return result


def _calendar(raw: Mapping[str, Any]) -> CalendarConfig:
    prefix = "calendar"
    allowed = {
        "timezone",
        "holidays",
        "holiday_country",
        "holiday_subdivision",
        "hours",
        "overrides",
    }
    _check_keys(raw, allowed, prefix)
    defaults = CalendarConfig()
    timezone = defaults.timezone
    if "timezone" in raw:
        timezone = _str(raw["timezone"], "calendar.timezone")
        _wrap("calendar.timezone", check_timezone, timezone)

    hours = defaults.hours
    if "hours" in raw:
        table = _table(raw["hours"], "calendar.hours")
        _check_keys(table, WEEKDAYS, "calendar.hours")
        hours = {
            day: _interval_list(table[day], f"calendar.hours.{day}")
            for day in WEEKDAYS
            if day in table
        }

    overrides: dict[str, list[str]] = {}
    if "overrides" in raw:
        table = _table(raw["overrides"], "calendar.overrides")
        for name, value in table.items():
            key = f"calendar.overrides.{name}"
            day = _wrap(key, parse_iso_date, name)
            overrides[day.isoformat()] = _interval_list(value, key)

    holidays: list[str] = []
    if "holidays" in raw:
        value = raw["holidays"]
        if not isinstance(value, list):
            raise ConfigError("calendar.holidays", f"must be a list of dates, got {value!r}")
        for index, item in enumerate(value):
            day = _wrap(f"calendar.holidays[{index}]", parse_iso_date, item)
            holidays.append(day.isoformat())

    country = defaults.holiday_country
    if "holiday_country" in raw:
        country = _optional_str(raw["holiday_country"], "calendar.holiday_country")
    subdivision = None
    if "holiday_subdivision" in raw:
        subdivision = _optional_str(raw["holiday_subdivision"], "calendar.holiday_subdivision")
    from models.clock.zones import holiday_country

    _check_holiday_source(holiday_country(country, timezone)[0], subdivision)
    return CalendarConfig(
        timezone=timezone,
        hours=hours,
        overrides=overrides,
        holidays=holidays,
        holiday_country=country,
        holiday_subdivision=subdivision,
    )


def _check_holiday_source(country: str | None, subdivision: str | None) -> None:
    if country is None:
        if subdivision is not None:
            raise ConfigError("calendar.holiday_subdivision", "needs calendar.holiday_country")
        return
    import holidays as holidays_package

    supported = holidays_package.list_supported_countries()
    if country not in supported:
        raise ConfigError(
            "calendar.holiday_country",
            f"{country!r} is not a country code known to the holidays package (e.g. 'US', 'GB')",
        )
    if subdivision is not None and subdivision not in supported[country]:
        raise ConfigError(
            "calendar.holiday_subdivision",
            f"{subdivision!r} is not a subdivision of {country}",
        )


def _sla(raw: Mapping[str, Any]) -> SlaConfig:
    _check_keys(raw, {"standard", "emergency", "warning", "critical"}, "sla")
    defaults = SlaConfig()
    return SlaConfig(
        standard_seconds=_wrap("sla.standard", parse_duration, raw["standard"])
        if "standard" in raw
        else defaults.standard_seconds,
        emergency_seconds=_wrap("sla.emergency", parse_duration, raw["emergency"])
        if "emergency" in raw
        else defaults.emergency_seconds,
        warning_fraction=_wrap("sla.warning", parse_fraction, raw["warning"])
        if "warning" in raw
        else defaults.warning_fraction,
        critical_seconds=_wrap("sla.critical", parse_duration, raw["critical"])
        if "critical" in raw
        else defaults.critical_seconds,
    )


def _smtp(raw: Mapping[str, Any]) -> SmtpConfig:
    allowed = {
        "host",
        "port",
        "starttls",
        "tls",
        "username",
        "password_env",
        "from",
        "timeout",
        "autoreply_per_hour",
    }
    _check_keys(raw, allowed, "smtp")
    defaults = SmtpConfig()
    port = defaults.port
    if "port" in raw:
        port = raw["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError("smtp.port", f"must be a port number 1-65535, got {port!r}")
    starttls = _bool(raw["starttls"], "smtp.starttls") if "starttls" in raw else defaults.starttls
    tls = _bool(raw["tls"], "smtp.tls") if "tls" in raw else defaults.tls
    if starttls and tls:
        raise ConfigError("smtp.tls", "choose either tls (implicit TLS) or starttls, not both")
    timeout = defaults.timeout_seconds
    if "timeout" in raw:
        value = raw["timeout"]
        if isinstance(value, str):
            timeout = float(_wrap("smtp.timeout", parse_duration, value))
        elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            timeout = float(value)
        else:
            raise ConfigError("smtp.timeout", f"must be a positive duration, got {value!r}")
    from_address = defaults.from_address
    if "from" in raw:
        from_address = _mailbox(raw["from"], "smtp.from")
    autoreply_per_hour = defaults.autoreply_per_hour
    if "autoreply_per_hour" in raw:
        autoreply_per_hour = raw["autoreply_per_hour"]
        if (
            isinstance(autoreply_per_hour, bool)
            or not isinstance(autoreply_per_hour, int)
            or autoreply_per_hour < 0
        ):
            raise ConfigError(
                "smtp.autoreply_per_hour",
                f"must be a whole number >= 0, got {autoreply_per_hour!r}",
            )
    return SmtpConfig(
        host=_str(raw["host"], "smtp.host") if "host" in raw else defaults.host,
        port=port,
        starttls=starttls,
        tls=tls,
        username=_optional_str(raw["username"], "smtp.username") if "username" in raw else None,
        password_env=_optional_str(raw["password_env"], "smtp.password_env")
        if "password_env" in raw
        else None,
        from_address=from_address,
        timeout_seconds=timeout,
        autoreply_per_hour=autoreply_per_hour,
    )


_MAILBOX_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _mailbox(value: object, key: str) -> str:
    """One RFC 5322 mailbox (`addr@host` or `Name <addr@host>`). It goes into the From header
    and the SMTP envelope of every message: CR/LF would inject headers (the email package then
    refuses to build the message, at send time), a list would send as several senders."""
    text = _str(value, key)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ConfigError(key, f"{text!r} contains control characters (CR/LF?)")
    try:
        pairs = getaddresses([text])  # not strict=: Python 3.11 before 3.11.10 lacks it
    except Exception:  # the stdlib address parser has raised on odd input before
        pairs = []
    if len(pairs) != 1 or not _MAILBOX_ADDRESS.fullmatch(pairs[0][1]):
        raise ConfigError(key, f"{text!r} is not one email address")
    return text


def _company(raw: Mapping[str, Any]) -> CompanyConfig:
    _check_keys(raw, {"name", "source_ip", "forum_url", "support_address"}, "company")
    defaults = CompanyConfig()
    source_ip = defaults.source_ip
    if "source_ip" in raw:
        text = _str(raw["source_ip"], "company.source_ip")
        try:
            source_ip = str(ipaddress.ip_address(text))
        except ValueError:
            raise ConfigError("company.source_ip", f"{text!r} is not an IP address") from None
    forum_url = defaults.forum_url
    if "forum_url" in raw:
        forum_url = _str(raw["forum_url"], "company.forum_url")
        if not re.match(r"^https?://\S+$", forum_url):
            raise ConfigError("company.forum_url", f"{forum_url!r} is not an http(s) URL")
    support_address = defaults.support_address
    if "support_address" in raw:
        support_address = _str(raw["support_address"], "company.support_address")
        if "@" not in support_address:
            raise ConfigError(
                "company.support_address", f"{support_address!r} is not an email address"
            )
    return CompanyConfig(
        name=_str(raw["name"], "company.name") if "name" in raw else defaults.name,
        source_ip=source_ip,
        forum_url=forum_url,
        support_address=support_address,
    )


def _oncall(raw: Mapping[str, Any]) -> OncallConfig:
    keys = {"repeat", "before_breach", "command", "command_timeout", "sound", "view"}
    _check_keys(raw, keys | {"warning", "critical"}, "oncall")
    d = OncallConfig()
    before = d.before_breach
    if "before_breach" in raw:
        points = raw["before_breach"]
        if not isinstance(points, list):
            raise ConfigError(
                "oncall.before_breach", f"must be a list of durations, got {points!r}"
            )
        before = tuple(
            sorted(
                {
                    _wrap(f"oncall.before_breach[{i}]", parse_duration, p)
                    for i, p in enumerate(points)
                },
                reverse=True,
            )
        )
    view = d.view
    if "view" in raw:
        view = _str(raw["view"], "oncall.view").replace("_", "-")
        if view not in ONCALL_VIEWS:
            raise ConfigError("oncall.view", f"{view!r} is not one of: {', '.join(ONCALL_VIEWS)}")
    timeout = d.command_timeout_seconds
    if "command_timeout" in raw:
        timeout = float(_wrap("oncall.command_timeout", parse_duration, raw["command_timeout"]))
    warning = d.warning_seconds
    if "warning" in raw:
        warning = _wrap("oncall.warning", parse_duration, raw["warning"])
    critical = d.critical_seconds
    if "critical" in raw:
        critical = _wrap("oncall.critical", parse_duration, raw["critical"])
    if critical > warning:
        raise ConfigError("oncall.critical", "must not be longer than oncall.warning")
    return OncallConfig(
        repeat_seconds=_wrap("oncall.repeat", parse_duration, raw["repeat"])
        if "repeat" in raw
        else d.repeat_seconds,
        before_breach=before,
        command=_optional_str(raw["command"], "oncall.command") if "command" in raw else None,
        command_timeout_seconds=timeout,
        sound=_bool(raw["sound"], "oncall.sound") if "sound" in raw else d.sound,
        view=view,
        warning_seconds=warning,
        critical_seconds=critical,
    )


def parse_config(data: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate an already-parsed TOML document."""
    _check_keys(data, {"calendar", "sla", "smtp", "company", "technician", "oncall"}, "")
    technician = None
    if "technician" in data:
        technician = _str(data["technician"], "technician")
        if "@" not in technician:
            raise ConfigError("technician", f"{technician!r} is not an email address")
    return Config(
        calendar=_calendar(_table(data["calendar"], "calendar"))
        if "calendar" in data
        else CalendarConfig(),
        sla=_sla(_table(data["sla"], "sla")) if "sla" in data else SlaConfig(),
        smtp=_smtp(_table(data["smtp"], "smtp")) if "smtp" in data else SmtpConfig(),
        company=_company(_table(data["company"], "company"))
        if "company" in data
        else CompanyConfig(),
        oncall=_oncall(_table(data["oncall"], "oncall")) if "oncall" in data else OncallConfig(),
        technician=technician,
        source=source,
    )


def config_path(path: Path | None = None) -> Path | None:
    """The file `load_config(path)` would read, or None for the defaults."""
    if path is not None:
        return Path(path)
    env = os.environ.get("SHIFTDESK_CONFIG")
    if env:
        return Path(env)
    from models.store.locations import config_file

    default = config_file()
    return default if default.is_file() else None


MAX_CONFIG_BYTES = 1024 * 1024


def load_config(path: Path | None = None) -> Config:
    """Load `path`, else $SHIFTDESK_CONFIG, else the platformdirs config file, else defaults."""
    source = config_path(path)
    if source is None:
        return Config()
    try:
        # bounded: `--config /dev/zero` must be an error, not a read that never ends
        with source.open("rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(str(source), f"larger than {MAX_CONFIG_BYTES:,} bytes")
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError(str(source), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(source), "is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), f"not valid TOML: {exc}") from None
    return parse_config(data, source)
