"""Subcommands of `shiftdesk`: click commands; none imports Textual at import time."""

from __future__ import annotations

import click

from tui.commands.intake import import_group, mailgate_command, purchase_group
from tui.commands.rsaa import rsaa_group
from tui.commands.run import demo_command
from tui.commands.sla import calendar_group, sla_command
from tui.commands.store import db_group, list_command, seed_command, show_command
from tui.commands.work import WORK_COMMANDS

COMMANDS: list[click.Command] = [
    demo_command,
    list_command,
    show_command,
    seed_command,
    db_group,
    sla_command,
    calendar_group,
    rsaa_group,
    mailgate_command,
    purchase_group,
    import_group,
    *WORK_COMMANDS,
]
