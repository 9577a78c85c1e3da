"""On-call from the command line: `shiftdesk oncall` (what is still alerting) and `shiftdesk ack`.

No Textual here. Customer text is printed through models.policy.sanitize (no escape sequences
reach the
terminal); `--json` prints one object per line, as `list --json` does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from tui.cli.core import acting_technician, common_options, echo_json, loaded_config
from tui.cli.work import _expect, _run

if TYPE_CHECKING:
    from models.desk.queue import QueueRow
    from models.store.db import Store


@click.command("oncall")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of objects.")
@common_options
def oncall_command(as_json: bool) -> None:
    """Emergencies nobody has acknowledged or answered yet, oldest first."""
    from models.clock.timefmt import countdown, overdue
    from models.desk.oncall import alert_payload, strip_emergency_prefix, unacknowledged
    from models.policy.sanitize import safe_line

    config = loaded_config()
    at = time.time()

    def read(store: Store) -> list[QueueRow]:
        with store.session() as session:
            return unacknowledged(session)

    rows = _run(read)
    budget = config.sla.emergency_seconds
    if as_json:  # the one --json shape (ASCII: customer text can't reach the terminal raw)
        echo_json(
            [alert_payload(row, row.received_at + budget, "unacknowledged", at) for row in rows]
        )
        return
    for row in rows:
        deadline = row.received_at + budget
        left = deadline - at
        due = countdown(left) + " left" if left > 0 else overdue(-left)
        subject = safe_line(strip_emergency_prefix(row.subject))
        click.echo(f"#{row.number}  {due:>14}  {safe_line(row.customer)} — {subject}")
    if not rows:
        click.echo("no unacknowledged emergencies")


@click.command("ack")
@click.argument("number", type=int)
@click.option("--comment", metavar="TEXT", help="Why / what you are doing (kept as a note).")
@_expect
@common_options
def ack_command(number: int, comment: str | None, expected_version: int | None) -> None:
    """Acknowledge emergency NUMBER: its alerts stop in every console."""
    from models.desk.oncall import acknowledge

    actor = acting_technician()
    _run(lambda s: acknowledge(s, number, actor, comment, expected_version=expected_version))
    click.echo(f"#{number} acknowledged by {actor.email}")
