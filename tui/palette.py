"""Command palette entries: every queue and ticket action, named with its key."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.screens.help import KEY_GROUPS

_HELP = {what: key for _, keys in KEY_GROUPS for key, what in keys}


def _describe(binding: Binding) -> str:
    key = binding.key_display or binding.key.split(",")[0]
    return f"key {key}"


def queue_commands(screen: Screen[object]) -> Iterable[SystemCommand]:
    from tui.screens.queue import QueueScreen
    from tui.widgets.queue_view import QueueView

    if not isinstance(screen, QueueScreen):
        return
    titles = {
        "queue.filter": "Filter by text",
        "queue.emergencies": "Toggle: emergencies only",
        "queue.mine": "Toggle: my tickets",
        "queue.unassigned": "Toggle: unassigned",
        "queue.breached": "Toggle: breached",
        "queue.view_waiting": "View: waiting queue",
        "queue.view_all": "View: all tickets",
        "queue.view_not_entitled": "View: not entitled",
        "queue.clear": "Clear filters",
        "ticket.acknowledge": "Acknowledge the emergency (stop its alerts)",
        "ticket.take": "Take the ticket",
        "ticket.reply": "Reply by email",
        "ticket.note": "Add an internal note",
        "ticket.phone": "Phone: grant, decline or log a call",
        "ticket.rsaa": "Remote server access agreement (RSAA)",
        "ticket.close": "Close the ticket",
        "ticket.reopen": "Reopen the ticket",
        "ticket.reclassify": "Reclassify emergency as standard",
        "ticket.accept": "Accept a not-entitled ticket",
        "ticket.schedule": "Schedule installation / training",
        "app.report": "SLA report",
        "app.help": "Keys and help",
    }
    for binding in screen.BINDINGS:
        if not isinstance(binding, Binding) or binding.id not in titles:
            continue
        key = binding.key.split(",")[0]
        yield SystemCommand(
            titles[binding.id],
            f"key: {key}",
            partial(screen.call_later, screen.run_action, binding.action),
        )
    view = screen.query_one(QueueView)
    yield SystemCommand("Open the highlighted ticket", "key: enter", view.action_select)
