"""load_config: file discovery, defaults, every section, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.policy.config import (
    CalendarConfig,
    Config,
    ConfigError,
    load_config,
    parse_duration,
    parse_fraction,
    parse_interval,
)

FULL = """
technician = "ana@example.com"

[calendar]
timezone = "America/New_York"
holidays = ["2026-12-25", 2026-12-31]
holiday_country = "US"
holiday_subdivision = "NY"

[calendar.hours]
mon = ["08:00-12:00", "13:00-17:00"]
fri = ["22:00-06:00"]
sat = "10:00-24:00"

[calendar.overrides]
"2026-12-24" = ["08:00-12:00"]
2026-12-26 = []

[sla]
standard = "1h30m"
emergency = "45m"
warning = "20%"
critical = "10m"

[smtp]
host = "mail.example.com"
port = 587
starttls = true
username = "desk"
password_env = "SHIFTDESK_SMTP_PASSWORD"
from = "Support <support@example.com>"

[company]
name = "Acme"
source_ip = "2001:db8::1"
forum_url = "https://forum.acme.test/"
support_address = "help@acme.test"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.technician == "ana@example.com"
    assert config.calendar.timezone == "America/New_York"
    assert config.calendar.holidays == ["2026-12-25", "2026-12-31"]
    assert config.calendar.hours == {
        "mon": ["08:00-12:00", "13:00-17:00"],
        "fri": ["22:00-06:00"],
        "sat": ["10:00-24:00"],
    }
    assert config.calendar.overrides == {"2026-12-24": ["08:00-12:00"], "2026-12-26": []}
    assert config.calendar.holiday_subdivision == "NY"
    assert config.sla.standard_seconds == 5400
    assert config.sla.emergency_seconds == 2700
    assert config.sla.warning_fraction == pytest.approx(0.2)
    assert config.sla.critical_seconds == 600
    assert config.smtp.port == 587 and config.smtp.starttls and not config.smtp.tls
    assert config.smtp.from_address == "Support <support@example.com>"
    assert config.company.source_ip == "2001:db8::1"
    assert config.source == tmp_path / "config.toml"


def test_defaults_without_any_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHIFTDESK_CONFIG", raising=False)
    monkeypatch.setattr("models.store.locations.config_file", lambda: tmp_path / "missing.toml")
    config = load_config()
    assert config == Config()
    assert config.calendar == CalendarConfig()
    assert config.calendar.timezone == "America/Phoenix"
    assert config.calendar.holiday_country == "auto"  # the zone's country (models.clock.zones)
    assert config.sla.standard_seconds == 4 * 3600 and config.sla.emergency_seconds == 3600


def test_env_then_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "env.toml"
    env_file.write_text('technician = "env@example.com"\n', encoding="utf-8")
    dir_file = tmp_path / "dir.toml"
    dir_file.write_text('technician = "dir@example.com"\n', encoding="utf-8")
    monkeypatch.setattr("models.store.locations.config_file", lambda: dir_file)
    monkeypatch.setenv("SHIFTDESK_CONFIG", str(env_file))
    assert load_config().technician == "env@example.com"
    monkeypatch.delenv("SHIFTDESK_CONFIG")
    assert load_config().technician == "dir@example.com"
    assert load_config(env_file).technician == "env@example.com"


def test_empty_country_disables_package_holidays(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[calendar]\nholiday_country = ""\n'))
    assert config.calendar.holiday_country is None


def test_subdivision_is_checked_against_the_zones_country(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[calendar]\ntimezone = "Europe/London"\nholiday_subdivision = "SCT"\n')
    )
    assert config.calendar.holiday_subdivision == "SCT"
    with pytest.raises(ConfigError, match=r"calendar\.holiday_subdivision: 'NY' is not a sub"):
        load_config(
            write(tmp_path, '[calendar]\ntimezone = "Europe/London"\nholiday_subdivision = "NY"\n')
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[calendar.hours]\nmon = ["25:00-17:00"]\n',
         "config error: calendar.hours.mon[0]: '25:00-17:00' is not a time"),
        ('[calendar.hours]\nmon = ["08:00-08:00"]\n',
         "config error: calendar.hours.mon[0]: '08:00-08:00' has zero length"),
        ('[calendar.hours]\nmonday = ["08:00-17:00"]\n', "config error: calendar.hours.monday:"),
        ('[calendar.hours]\nmon = ["08:00-17:00", 9]\n', "config error: calendar.hours.mon[1]:"),
        ('[calendar.hours]\nmon = ["24:00-02:00"]\n', "config error: calendar.hours.mon[0]:"),
        ('[calendar.hours]\nmon = ["8-17"]\n', "config error: calendar.hours.mon[0]:"),
        ('[calendar]\ntimezone = "Mars/Base"\n', "config error: calendar.timezone:"),
        ('[calendar]\nholidays = ["2026-02-30"]\n', "config error: calendar.holidays[0]:"),
        ('[calendar]\nholidays = "2026-12-25"\n', "config error: calendar.holidays:"),
        ('[calendar]\nholiday_country = "XX"\n', "config error: calendar.holiday_country:"),
        ('[calendar]\nholiday_subdivision = "ZZ"\n', "config error: calendar.holiday_subdivision:"),
        ('[calendar.overrides]\n"2026-13-01" = []\n',
         "config error: calendar.overrides.2026-13-01:"),
        ('[calendar.overrides]\n"2026-12-24" = ["x"]\n',
         "config error: calendar.overrides.2026-12-24[0]:"),
        ('[calendar]\nweekends = true\n', "config error: calendar.weekends: unknown key"),
        ('[sla]\nstandard = "4 hours"\n', "config error: sla.standard:"),
        ('[sla]\nstandard = "0m"\n', "config error: sla.standard:"),
        ('[sla]\nemergency = -5\n', "config error: sla.emergency:"),
        ('[sla]\nwarning = "150%"\n', "config error: sla.warning:"),
        ('[sla]\ncritical = true\n', "config error: sla.critical:"),
        ('[sla]\nstandrad = "4h"\n', "config error: sla.standrad: unknown key"),
        ('[smtp]\nport = 70000\n', "config error: smtp.port:"),
        ('[smtp]\nstarttls = "yes"\n', "config error: smtp.starttls:"),
        ('[smtp]\nstarttls = true\ntls = true\n', "config error: smtp.tls:"),
        ('[smtp]\nfrom = "nobody"\n', "config error: smtp.from:"),
        ('[company]\nsource_ip = "300.1.2.3"\n', "config error: company.source_ip:"),
        ('[company]\nforum_url = "forum"\n', "config error: company.forum_url:"),
        ('technician = 5\n', "config error: technician:"),
        ('colour = "blue"\n', "config error: colour: unknown key"),
        ('sla = "4h"\n', "config error: sla: must be a table"),
        ('[calendar\n', "config error: "),
    ],
)  # fmt: skip
def test_errors_are_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("1d", 86400), (600, 600),
     ("2h 15m", 8100), ("1H", 3600)],
)  # fmt: skip
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "h", "4", "4x", "-1h", "1m4h", 0, 1.5, True])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_parse_fraction_and_interval() -> None:
    assert parse_fraction("25%") == 0.25
    assert parse_fraction(0.5) == 0.5
    assert parse_interval("22:00-06:00") == (1320, 1440 + 360)
    assert parse_interval("08:00-24:00") == (480, 1440)
    assert parse_interval("00:00-24:00") == (0, 1440)
    assert parse_interval("17:00-08:00") == (1020, 1440 + 480)
