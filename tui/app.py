"""The Textual app: thin. It owns the one 1 Hz timer and pushes the queue screen."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.timer import Timer

from tui.context import AppContext, stylesheet_path
from tui.screens.queue import QueueScreen


class ShiftdeskApp(App[None]):
    TITLE = "shiftdesk"
    CSS_PATH = str(stylesheet_path())
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.outbox_line = ""
        self._timer: Timer | None = None

    def get_default_screen(self) -> QueueScreen:
        return QueueScreen()

    def on_mount(self) -> None:
        if self.ctx.live:
            # one app-level timer: per-widget timers cost frames and CPU
            self._timer = self.set_interval(1.0, self.tick, name="tick")

    def tick(self) -> None:
        screen = self.screen if isinstance(self.screen, QueueScreen) else self._queue_screen()
        if screen is not None:
            screen.tick(self.ctx.clock())

    def _queue_screen(self) -> QueueScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                return screen
        return None
