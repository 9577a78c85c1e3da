"""The console's side of on-call alerting: bell, toast, desktop notification, outbound hook.

The schedule is `models.desk.oncall.AlertTracker`, fed with the rows the queue reads from the store
(so an acknowledgement anywhere stops the alerts here) and driven by the app's one 1 Hz timer.
Everything written to the terminal goes through Textual's driver (`App._driver.write`), so it
reaches an SSH or web client as well as a local terminal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.notifications import Notification, Notify

from models.desk.oncall import Alert, AlertTracker, alert_payload, alert_text, notification_sequence
from models.desk.queue import QueueRow

if TYPE_CHECKING:
    from tui.app import ShiftdeskApp

# a toast that stays until the emergency is acknowledged or answered (each repeat renews it)
TOAST_SECONDS = 24 * 3600.0
# a store with thousands of unacknowledged emergencies (a seeded load test, a long outage) must
# not open thousands of toasts or hook processes at once: the most urgent few, and a summary
MAX_PER_BATCH = 5


class Alerter:
    def __init__(self, app: ShiftdeskApp) -> None:
        self.app = app
        config = app.ctx.config
        self.tracker = AlertTracker(
            repeat_seconds=config.oncall.repeat_seconds,
            before_breach=config.oncall.before_breach,
            emergency_seconds=config.sla.emergency_seconds,
        )
        self.tmux = bool(os.environ.get("TMUX"))
        self._toasts: dict[int, Notification] = {}
        self.fired: list[Alert] = []  # the most recent alerts (tests, the status line)

    def observe(self, rows: Iterable[QueueRow], gone: Iterable[int] = ()) -> None:
        """Rows just read from the store: alert for newly alerting emergencies at once, and
        stop (dismiss the toast) for those acknowledged, answered or closed."""
        fresh, stopped = self.tracker.observe(rows, self.app.ctx.clock(), gone)
        for number in stopped:
            self._dismiss(number)
        if fresh:
            self.fire(fresh)

    def tick(self, now: float) -> None:
        due = self.tracker.due(now)
        if due:
            self.fire(due)

    def fire(self, alerts: list[Alert]) -> None:
        """One bell and one desktop notification per batch (five at once are one wake-up), a
        toast per ticket, the outbound hook per ticket."""
        app = self.app
        alerts = sorted(alerts, key=lambda alert: (alert.deadline, alert.number))
        self.fired = (self.fired + alerts)[-20:]
        if app.ctx.config.oncall.sound and not app.ctx.mute:  # the bell only: never the toast
            app.bell()
        if not app.app_focus:  # focused: the toast is in front of them already
            title, body = alert_text(alerts[0])
            if len(alerts) > 1:
                body = f"{body} (+{len(alerts) - 1} more)"
            app.write_terminal(notification_sequence(title, body, tmux=self.tmux))
        for alert in alerts[:MAX_PER_BATCH]:
            self._toast(alert)
        if len(alerts) > MAX_PER_BATCH:
            app.notify(
                f"{len(alerts) - MAX_PER_BATCH} more emergencies alerting (shiftdesk oncall)",
                title="EMERGENCIES",
                severity="error",
                timeout=60,
                markup=False,
            )
        command = app.ctx.config.oncall.command
        if command:
            now = app.ctx.clock()
            for alert in alerts[:MAX_PER_BATCH]:
                app.run_oncall_hook(
                    command, alert_payload(alert.row, alert.deadline, alert.reason, now)
                )

    def _toast(self, alert: Alert) -> None:
        self._dismiss(alert.number)
        title, body = alert_text(alert)
        toast = Notification(body, title, "error", TOAST_SECONDS, markup=False)
        self._toasts[alert.number] = toast
        self.app.post_message(Notify(toast))

    def _dismiss(self, number: int) -> None:
        toast = self._toasts.pop(number, None)
        if toast is not None and toast in self.app._notifications:
            # Textual has no public way to withdraw one notification (a click uses this too)
            self.app._unnotify(toast)

    @property
    def toasts(self) -> dict[int, Notification]:
        return dict(self._toasts)
