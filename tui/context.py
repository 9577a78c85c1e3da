"""Everything the app needs, built once by `build_context` (used by the CLI and the tests)."""

from __future__ import annotations

import getpass
import locale
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.clock.calendar import BusinessCalendar
from models.clock.sla import SlaPolicy
from models.desk.actions import Actor
from models.policy.config import CalendarConfig, Config
from models.store.db import Store


def default_technician() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def unicode_terminal() -> bool:
    """Emoji flags only where the terminal can be trusted with them."""
    if os.environ.get("SHIFTDESK_ASCII"):
        return False
    encoding = (locale.getpreferredencoding(False) or "").lower().replace("-", "")
    lang = " ".join(os.environ.get(k, "") for k in ("LC_ALL", "LC_CTYPE", "LANG")).lower()
    return encoding == "utf8" or "utf-8" in lang or "utf8" in lang


# calendars built ahead by the fork server (tui.serve.zygote), before it forks the consoles: each
# takes its own once (a calendar is not shared between threads); ~0.03 s of CPU less per console
_PREPARED_CALENDARS: dict[str, BusinessCalendar] = {}


def prepare_calendar(config: CalendarConfig) -> None:
    """Build `config`'s calendar now, for the next AppContext with that calendar config."""
    _PREPARED_CALENDARS[repr(config)] = BusinessCalendar.from_config(config)


@dataclass
class AppContext:
    store: Store
    config: Config
    actor: Actor
    clock: Callable[[], float] = time.time
    demo: bool = False
    demo_speed: float = 1.0
    demo_arrivals: bool = True  # off for viewers of a shared demo: the server runs them
    ascii_flags: bool = field(default_factory=lambda: not unicode_terminal())
    live: bool = True  # tick and watch the change feed (off in snapshot tests)
    mute: bool = False  # --mute: no bell for emergencies (the toast and notification stay)
    view: str | None = None  # --view: the view the console starts in (else [oncall] view)
    policy: SlaPolicy = field(init=False)

    def __post_init__(self) -> None:
        calendar = _PREPARED_CALENDARS.pop(repr(self.config.calendar), None)
        if calendar is None:
            calendar = BusinessCalendar.from_config(self.config.calendar)
        oncall = self.config.oncall
        self.policy = SlaPolicy(
            calendar,
            self.config.sla,
            emergency_warning=oncall.warning_seconds,
            emergency_critical=oncall.critical_seconds,
        )

    @property
    def zone(self) -> str:
        return self.config.calendar.timezone


def stylesheet_path() -> Path:
    """screens.tcss: shipped inside the wheel as tui/screens.tcss; at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "screens.tcss", here.parent / "screens.tcss"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("screens.tcss is missing from this installation")
