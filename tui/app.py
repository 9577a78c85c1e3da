"""The Textual app: thin. It owns the one 1 Hz timer and pushes the queue screen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.timer import Timer

from models.desk.actions import set_display_zone
from tui.alerts import Alerter
from tui.context import AppContext, stylesheet_path
from tui.registry import Owner, bindings
from tui.screens.queue import QueueScreen

OUTBOX_INTERVAL = 15.0  # seconds between delivery passes (failed messages wait for backoff)


class ShiftdeskApp(App[None]):
    TITLE = "shiftdesk"
    CSS_PATH = str(stylesheet_path())
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = bindings(Owner.APP)  # tui.registry

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        set_display_zone(ctx.config.calendar.timezone)  # "alex took it at 14:02:11 MST"
        self.outbox_line = ""
        self.oncall_line = ""  # the outbound hook's last failure
        self._timer: Timer | None = None
        self.ticks = 0  # how many times the 1 Hz timer ran (tests wait on it, never sleep)
        self.alerts = Alerter(self)

    def write_terminal(self, data: str) -> None:
        """Raw output through Textual's driver: reaches SSH and web clients too."""
        if self._driver is not None:
            self._driver.write(data)

    def bell(self) -> None:
        # App.bell() skips headless drivers; going through the driver always lets a test see it
        self.write_terminal("\a")

    @work(thread=True, group="oncall-hook", exit_on_error=False)
    def run_oncall_hook(self, command: str, payload: dict[str, Any]) -> None:
        """The [oncall] command, off the event loop; its failure goes to the status line."""
        from models.desk.oncall import run_hook

        error = run_hook(command, payload, self.ctx.config.oncall.command_timeout_seconds)
        line = error or ""
        if line != self.oncall_line:
            self.oncall_line = line
            self.call_from_thread(self._outbox_changed)

    def on_key(self, event: events.Key) -> None:
        """Keys typed ahead of a focus change. Textual hands a key to the widget focused when the
        key is read, but runs bindings when it bubbles up here, with the focus of that moment.
        After a fast "r" the keys behind it were read while the queue had the focus and arrive
        here once the editor has it: they are text for the editor (the bindings already skipped
        them because the editor consumes them), so they go to it, in order, instead of being
        lost. A key the focused widget would not take is left alone."""
        focused = self.focused
        if (
            focused is not None
            and event.is_printable
            and not getattr(event, "typed_ahead", False)
            and focused.check_consume_key(event.key, event.character)
        ):
            event.stop()
            again = events.Key(event.key, event.character)
            again.typed_ahead = True  # type: ignore[attr-defined]  # never passed on twice
            focused.post_message(again)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from tui.palette import queue_commands

        yield from queue_commands(screen)
        yield from super().get_system_commands(screen)

    def get_default_screen(self) -> QueueScreen:
        return QueueScreen()

    def on_mount(self) -> None:
        if self.ctx.live:
            # one app-level timer: per-widget timers cost frames and CPU
            self._timer = self.set_interval(1.0, self.tick, name="tick")
        if self.ctx.demo and self.ctx.live and self.ctx.demo_arrivals:
            self.demo_arrivals()
        if self.ctx.live:
            self.set_interval(OUTBOX_INTERVAL, self.kick_outbox, name="outbox")
            self.kick_outbox()

    def kick_outbox(self) -> None:
        """Deliver what is due now (after a reply, and every OUTBOX_INTERVAL seconds)."""
        if self.ctx.live:
            self.deliver_outbox()

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def deliver_outbox(self) -> None:
        import asyncio

        from models.mail.outbox import deliver_all_due, outbox_status, status_line

        if not self.ctx.demo:  # the demo never mails anyone
            try:
                asyncio.run(deliver_all_due(self.ctx.store, self.ctx.config.smtp))
            except Exception as exc:  # delivery failures are recorded per message; this is worse
                self.outbox_line = f"outbox: {exc}"
        try:
            waiting, error = outbox_status(self.ctx.store)
            line = status_line(waiting, error) if waiting else ""
            if self.ctx.demo and waiting:
                line = f"outbox: {waiting} waiting (demo: not sent)"
        except Exception as exc:
            line = f"outbox: {exc}"
        self.outbox_line = line
        self.call_from_thread(self._outbox_changed)

    def _outbox_changed(self) -> None:
        screen = self._queue_screen()
        if screen is not None:
            screen.update_status_line()

    @work(thread=True, exclusive=True, group="demo", exit_on_error=False)
    def demo_arrivals(self) -> None:
        """The demo's customers keep writing in: a new ticket every few seconds."""
        from textual.worker import get_current_worker

        from models.demo.demo import ArrivalStream

        worker = get_current_worker()
        stream = ArrivalStream(self.ctx.store)
        while not worker.is_cancelled:
            deadline = self.ctx.clock() + stream.interval() / self.ctx.demo_speed
            # asleep until the next arrival (a cancel wakes it at once): an idle console must not
            # wake four times a second for nothing (ten SSH viewers share two cores); at most
            # 5 s at a time, in case the demo clock is moved
            while not worker.is_cancelled and (left := deadline - self.ctx.clock()) > 0:
                worker.cancelled_event.wait(min(left, 5.0))
            if not worker.is_cancelled:
                stream.arrive(self.ctx.clock())

    def tick(self) -> None:
        if not self.is_running:  # shutting down: the screens' widgets may be gone already
            return
        screen = self.screen if isinstance(self.screen, QueueScreen) else self._queue_screen()
        self.ticks += 1
        now = self.ctx.clock()
        if screen is not None:
            screen.tick(now)
        self.alerts.tick(now)  # repeats and before-breach points ride on the same timer

    def _queue_screen(self) -> QueueScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                return screen
        return None
