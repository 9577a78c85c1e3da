"""The TOML configuration: calendar, SLA targets, SMTP, company, technician.

STRUCTURE ONLY (owned by the SLA-clock work): `load_config` validates and raises `ConfigError`
naming the offending key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A bad configuration value. `str()` is one line that names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config error: {key}: {message}")
        self.key = key


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
    holiday_country: str | None = "US"
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

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class CompanyConfig:
    name: str = "Example Software"
    source_ip: str = "203.0.113.10"  # the address technicians connect from (RSAA)
    forum_url: str = "https://community.example.com"
    support_address: str = "support@example.com"


@dataclass(frozen=True)
class Config:
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    sla: SlaConfig = field(default_factory=SlaConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    company: CompanyConfig = field(default_factory=CompanyConfig)
    technician: str | None = None  # default technician email
    source: Path | None = None  # the file it came from, if any


def load_config(path: Path | None = None) -> Config:
    """Load `path`, else $SHIFTDESK_CONFIG, else the platformdirs config file, else defaults."""
    raise NotImplementedError
