"""Working tickets from the command line: take, reply, note, close, reopen, outbox.

Each command is one action (models.actions): one transaction, one audit event. A refused action
exits 1 with one line on stderr (`shiftdesk: #12 changed since you loaded it: bob@… took it …`);
an unreachable store exits 75. No Textual here.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from tui.cli import (
    EX_TEMPFAIL,
    EX_USAGE,
    acting_technician,
    common_options,
    fail,
    loaded_config,
    opened_store,
)

if TYPE_CHECKING:
    from models.db import Store

T = TypeVar("T")


_store = opened_store


def _run(do: Callable[[Store], T]) -> T:
    """Run one action; refusals and store failures become one line and an exit code."""
    from models.actions import ActionError
    from models.db import StoreError, StoreUnavailable

    with _store() as store:
        try:
            return do(store)
        except ActionError as exc:
            fail(str(exc), 1)
        except StoreUnavailable as exc:
            fail(str(exc), EX_TEMPFAIL)
        except StoreError as exc:
            fail(str(exc), 1)
    raise AssertionError("unreachable")  # fail() exits


def _body(body: str | None, body_file: Path | None) -> str:
    if (body is None) == (body_file is None):
        fail("give the text with --body TEXT or --body-file FILE (- for stdin)", EX_USAGE)
    if body is not None:
        return body
    assert body_file is not None
    try:
        if str(body_file) == "-":
            return sys.stdin.read()
        return body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {body_file}: {exc}", EX_USAGE)
        raise


_expect = click.option(
    "--expect-version",
    "expected_version",
    type=int,
    metavar="V",
    help="Refuse if the ticket's version is no longer V (someone else changed it).",
)
_body_options = [
    click.option("--body", metavar="TEXT", help="The text."),
    click.option(
        "--body-file",
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
        help="Read the text from FILE (- for stdin).",
    ),
]


def _with_body(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_body_options):
        func = option(func)
    return func


@click.command("take")
@click.argument("number", type=int)
@_expect
@common_options
def take_command(number: int, expected_version: int | None) -> None:
    """Take ticket NUMBER (you become its assignee)."""
    from models import actions

    actor = acting_technician()
    ticket = _run(lambda s: actions.take(s, number, actor, expected_version=expected_version))
    click.echo(f"#{number} taken by {actor.email} (version {ticket.version})")


@click.command("reply")
@click.argument("number", type=int)
@_with_body
@_expect
@common_options
def reply_command(
    number: int, body: str | None, body_file: Path | None, expected_version: int | None
) -> None:
    """Email the customer on ticket NUMBER (queued in the outbox)."""
    from models import work

    actor = acting_technician()
    text = _body(body, body_file)
    config = loaded_config()
    result = _run(
        lambda s: work.reply(
            s, number, actor, text, expected_version=expected_version, config=config
        )
    )
    first = ""
    if result.first_response:
        first = " · first response " + ("in time" if result.first_response_met else "late")
    click.echo(
        f"#{number} reply queued to {result.to_address} as {result.rfc_message_id}"
        f"{first} (version {result.ticket.version})"
    )


@click.command("note")
@click.argument("number", type=int)
@_with_body
@_expect
@common_options
def note_command(
    number: int, body: str | None, body_file: Path | None, expected_version: int | None
) -> None:
    """Add an internal note to ticket NUMBER (never mailed)."""
    from models import work

    actor = acting_technician()
    text = _body(body, body_file)
    ticket = _run(lambda s: work.note(s, number, actor, text, expected_version=expected_version))
    click.echo(f"#{number} note added (version {ticket.version})")


@click.command("close")
@click.argument("number", type=int)
@click.option("--reason", help="Why (kept in the audit trail).")
@_expect
@common_options
def close_command(number: int, reason: str | None, expected_version: int | None) -> None:
    """Close ticket NUMBER (revokes its active RSAA)."""
    from models import actions

    actor = acting_technician()
    ticket = _run(
        lambda s: actions.close(s, number, actor, expected_version=expected_version, reason=reason)
    )
    click.echo(f"#{number} closed (version {ticket.version})")


@click.command("reopen")
@click.argument("number", type=int)
@_expect
@common_options
def reopen_command(number: int, expected_version: int | None) -> None:
    """Reopen closed ticket NUMBER."""
    from models import actions

    actor = acting_technician()
    ticket = _run(lambda s: actions.reopen(s, number, actor, expected_version=expected_version))
    click.echo(f"#{number} reopened: {ticket.status} (version {ticket.version})")


@click.command("outbox")
@click.option(
    "--flush",
    is_flag=True,
    help="Attempt every queued message now over SMTP, backoff or not (like postqueue -f).",
)
@click.option(
    "--due",
    is_flag=True,
    help="Deliver only the messages whose retry time has come (for cron: keeps the backoff).",
)
@common_options
def outbox_command(flush: bool, due: bool) -> None:
    """Outgoing mail: how many wait and why; --flush attempts every queued message now,
    --due only those whose backoff has run out.

    Exits 75 when messages are still waiting after a delivery (the SMTP server refused or was
    unreachable), so a cron job can tell.
    """
    from models.outbox import deliver_all_due, failed_count, outbox_status, status_line

    if flush and due:
        raise click.UsageError("choose --flush (everything now) or --due (what is due), not both")
    with _store() as store:
        if flush or due:
            config = loaded_config()
            report = asyncio.run(deliver_all_due(store, config.smtp, force=flush))
            click.echo(
                f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
                + (f", skipped {report.skipped} (another worker)" if report.skipped else "")
            )
            for error in report.errors[:5]:
                click.echo(f"  {error}", err=True)
        waiting, last_error = outbox_status(store)
        failed = failed_count(store)
    click.echo(status_line(waiting, last_error, width=200))
    if failed:
        click.echo(f"outbox: {failed} refused for good (5xx) — see `shiftdesk show N`")
    if (flush or due) and report.retrying:
        sys.exit(EX_TEMPFAIL)


WORK_COMMANDS: list[click.Command] = [
    take_command,
    reply_command,
    note_command,
    close_command,
    reopen_command,
    outbox_command,
]
