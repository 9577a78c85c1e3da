"""The top bar: company time, business hours open or closed and until when, queue counts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import Static

from models.clock.calendar import BusinessCalendar


def _when(at: float, now: float, zone: ZoneInfo) -> str:
    local = dt.datetime.fromtimestamp(at, zone)
    today = dt.datetime.fromtimestamp(now, zone).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (local.date() - today).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%d %b %H:%M")


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, calendar: BusinessCalendar, zone: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.calendar = calendar
        self.zone = ZoneInfo(zone)
        self._last = ""

    def show(
        self, now: float, waiting: int, emergencies: int, breached: int, extra: str = ""
    ) -> None:
        local = dt.datetime.fromtimestamp(now, self.zone)
        is_open = self.calendar.is_open(now)
        change = self.calendar.next_change(now)
        narrow = self.size.width < 100
        text = Text(no_wrap=True, overflow="ellipsis")
        if not narrow:
            text.append("shiftdesk ", style="bold")
        text.append(local.strftime("%a %H:%M %Z" if narrow else "%a %d %b %H:%M %Z"))
        if is_open:
            text.append("  open", style="bold green")
            text.append(f" until {_when(change, now, self.zone)}")
        else:
            text.append("  closed", style="bold yellow")
            text.append(f" · opens {_when(change, now, self.zone)}")
        text.append(f"  waiting {waiting}")
        # NO_COLOR turns red into a dark grey on black: urgent counts are reversed instead
        urgent = "bold reverse" if self.app.no_color else "bold red"
        text.append("  emerg " if narrow else "  emergencies ")
        text.append(str(emergencies), style=urgent if emergencies else "")
        text.append("  breached ")
        text.append(str(breached), style=urgent if breached else "")
        if extra:
            text.append(f"  {extra}", style="dim")
        plain = text.plain
        if plain != self._last:  # an unchanged header costs no bytes on the wire
            self._last = plain
            self.update(text, layout=False)
