"""Command palette entries: the registered commands (tui.registry) that have a palette title and
are available now, each named with its key."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import SystemCommand
from textual.screen import Screen
from textual.widget import Widget

from tui.registry import Owner, commands


def queue_commands(screen: Screen[object]) -> Iterable[SystemCommand]:
    from tui.screens.queue import QueueScreen

    if not isinstance(screen, QueueScreen):
        return
    owners: dict[Owner, Widget] = {Owner.QUEUE: screen, Owner.VIEW: screen.queue}
    for command in commands():
        target = owners.get(command.owner)
        if command.title is None or target is None:
            continue
        name, parameters = command.parsed_action
        if not target.check_action(name, parameters):
            continue
        yield SystemCommand(
            command.title,
            f"key: {command.key_display}",
            partial(target.call_later, target.run_action, command.action),
        )
