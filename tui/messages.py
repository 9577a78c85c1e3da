"""Messages that travel up to the queue screen."""

from __future__ import annotations

from textual.message import Message

from models.desk.queue import QueueRow
from tui.widgets.queue_view import QueueData


class QueueLoaded(Message):
    """A load of the queue: the first few hundred rows as they are, or everything with its
    derived lists already built by the worker."""

    def __init__(self, data: QueueData | list[QueueRow], complete: bool) -> None:
        super().__init__()
        self.data = data
        self.complete = complete


class TicketsChanged(Message):
    """Rows changed in the store (coalesced; a newer one replaces an unhandled older one)."""

    def __init__(self, rows: list[QueueRow], numbers: set[int]) -> None:
        super().__init__()
        self.rows = rows
        self.numbers = numbers

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, TicketsChanged):
            # merge: keep every ticket the older message carried that this one does not
            newer = {row.number for row in self.rows}
            self.rows = [*self.rows, *(r for r in message.rows if r.number not in newer)]
            self.numbers |= message.numbers
            return True
        return False


class PresenceChanged(Message):
    """Who views which ticket now (models.desk.presence.live_viewers); a newer one replaces an
    unhandled older one."""

    def __init__(self, viewers: dict[int, list[str]]) -> None:
        super().__init__()
        self.viewers = viewers

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PresenceChanged)
