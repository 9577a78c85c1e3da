"""Working tickets from the command line: take, assign, reply, note, close, reopen, outbox.

Each command is one action (models.desk.actions): one transaction, one audit event. A refused action
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

from tui.cli.core import (
    EX_DATAERR,
    EX_TEMPFAIL,
    EX_USAGE,
    ID,
    VERSION,
    acting_technician,
    common_options,
    echo_text,
    fail,
    loaded_config,
    opened_store,
)

if TYPE_CHECKING:
    from models.store.db import Store
    from models.store.tables import Ticket

T = TypeVar("T")


_store = opened_store


def _run(do: Callable[[Store], T]) -> T:
    """Run one action; refusals and store failures become one line and an exit code."""
    from models.desk.actions import ActionError
    from models.store.db import StoreError, StoreUnavailable

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
    from models.desk.work import MAX_BODY_CHARS
    from models.policy.inputs import TooLarge, read_bounded

    # at most MAX_BODY_CHARS characters of UTF-8 (4 bytes each at most): never read
    # /dev/zero or a runaway pipe to the end
    try:
        if str(body_file) == "-":
            raw = read_bounded(sys.stdin.buffer, 4 * MAX_BODY_CHARS, "stdin")
        else:
            with body_file.open("rb") as stream:
                raw = read_bounded(stream, 4 * MAX_BODY_CHARS, str(body_file))
        text = raw.decode("utf-8")
    except TooLarge as exc:
        fail(str(exc), EX_DATAERR)
        raise
    except OSError as exc:
        fail(f"cannot read {body_file}: {exc.strerror or exc}", EX_USAGE)
        raise
    except UnicodeDecodeError:
        fail(f"{body_file} is not UTF-8 text", EX_DATAERR)
        raise
    if len(text) > MAX_BODY_CHARS:
        fail(f"{body_file}: longer than {MAX_BODY_CHARS:,} characters", EX_DATAERR)
    return text


_expect = click.option(
    "--expect-version",
    "expected_version",
    type=VERSION,
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
@click.argument("number", type=ID)
@_expect
@click.option(
    "--take-over",
    is_flag=True,
    help="Take it even from the colleague it is assigned to (refused otherwise).",
)
@common_options
def take_command(number: int, expected_version: int | None, take_over: bool) -> None:
    """Take ticket NUMBER (you become its assignee).

    A ticket assigned to a colleague is refused (exit 1) unless --take-over: ten racing `take`
    commands leave it with one technician, and nobody loses a ticket without deciding to.
    """
    from models.desk import actions

    actor = acting_technician()

    def take(store: Store) -> Ticket:
        try:
            return actions.take(
                store, number, actor, expected_version=expected_version, take_over=take_over
            )
        except actions.AssignedElsewhere as exc:
            fail(f"{exc} (add --take-over)", 1)
            raise

    ticket = _run(take)
    click.echo(f"#{number} taken by {actor.email} (version {ticket.version})")


@click.command("assign")
@click.argument("number", type=ID)
@click.argument("email", required=False)
@click.option("--nobody", is_flag=True, help="Unassign: the ticket goes back to nobody.")
@_expect
@click.option(
    "--take-over",
    is_flag=True,
    help="Reassign it even from the colleague who holds it (refused otherwise).",
)
@common_options
def assign_command(
    number: int, email: str | None, nobody: bool, expected_version: int | None, take_over: bool
) -> None:
    """Give ticket NUMBER to the technician EMAIL, or to nobody (--nobody).

    Only a technician the store knows (one who has used shiftdesk): an unknown address exits 65.
    A ticket a colleague holds is refused (exit 1) unless --take-over; their console is told.
    """
    from models.desk import actions
    from models.policy.sanitize import safe_line

    if (email is None) == (not nobody):
        fail("give the technician's EMAIL or --nobody (not both)", EX_USAGE)
    to = email.strip().lower() if email is not None else None
    if to is not None and ("@" not in to or safe_line(to) != to or len(to) > 320):
        fail(f"{email!r} is not an email address", EX_USAGE)
    actor = acting_technician()

    def give(store: Store) -> Ticket:
        try:
            return actions.assign(
                store, number, to, actor, expected_version=expected_version, take_over=take_over
            )
        except actions.UnknownTechnician as exc:
            fail(str(exc), EX_DATAERR)
            raise
        except actions.AssignedElsewhere as exc:
            fail(f"{exc} (add --take-over)", 1)
            raise

    ticket = _run(give)
    whom = f"assigned to {to}" if to else "unassigned"
    click.echo(f"#{number} {whom} by {actor.email} (version {ticket.version})")


_allow_secret = click.option(
    "--allow-secret",
    is_flag=True,
    help="Save the text even if it seems to contain a password, key or token (refused otherwise).",
)


@click.command("reply")
@click.argument("number", type=ID)
@_with_body
@_expect
@click.option(
    "--follow-up",
    is_flag=True,
    help="The ticket is already answered and this adds to that answer (refused otherwise).",
)
@_allow_secret
@click.option(
    "--no-signature",
    is_flag=True,
    help="Do not append your signature (`shiftdesk signature`) under the text.",
)
@common_options
def reply_command(
    number: int,
    body: str | None,
    body_file: Path | None,
    expected_version: int | None,
    follow_up: bool,
    allow_secret: bool,
    no_signature: bool,
) -> None:
    """Email the customer on ticket NUMBER (queued in the outbox).

    A reply answers a waiting customer: on a ticket that is already answered (a colleague's
    reply, or a racing `reply`, got there first) it is refused (exit 1) unless --follow-up. A
    text that seems to contain a credential is refused (exit 65) unless --allow-secret. Your
    signature is appended under a "-- " line (unless the text already ends with it, or
    --no-signature).
    """
    from models.desk import work
    from models.desk.canned import get_signature, with_signature

    actor = acting_technician()
    text = _body(body, body_file)
    config = loaded_config()

    def send(store: Store) -> work.ReplyResult:
        # an empty text stays empty (refused), never a signature alone
        signed = text
        if not no_signature and text.strip():
            signed = with_signature(text, get_signature(store, actor))
        try:
            return work.reply(
                store,
                number,
                actor,
                signed,
                expected_version=expected_version,
                config=config,
                follow_up=follow_up,
                allow_secret=allow_secret,
            )
        except work.AlreadyAnswered as exc:
            fail(f"{exc} (reply --follow-up)", 1)
            raise
        except work.LooksLikeSecret as exc:
            fail(f"{exc} (or --allow-secret)", EX_DATAERR)
            raise

    result = _run(send)
    first = ""
    if result.first_response:
        first = " · first response " + ("in time" if result.first_response_met else "late")
    echo_text(
        f"#{number} reply queued to {result.to_address} as {result.rfc_message_id}"
        f"{first} (version {result.ticket.version})"
    )


@click.command("note")
@click.argument("number", type=ID)
@_with_body
@_expect
@_allow_secret
@common_options
def note_command(
    number: int,
    body: str | None,
    body_file: Path | None,
    expected_version: int | None,
    allow_secret: bool,
) -> None:
    """Add an internal note to ticket NUMBER (never mailed).

    A text that seems to contain a credential is refused (exit 65) unless --allow-secret.
    """
    from models.desk import work

    actor = acting_technician()
    text = _body(body, body_file)

    def add(store: Store) -> Ticket:
        try:
            return work.note(
                store,
                number,
                actor,
                text,
                expected_version=expected_version,
                allow_secret=allow_secret,
            )
        except work.LooksLikeSecret as exc:
            fail(f"{exc} (or --allow-secret)", EX_DATAERR)
            raise

    ticket = _run(add)
    click.echo(f"#{number} note added (version {ticket.version})")


@click.command("close")
@click.argument("number", type=ID)
@click.option("--reason", help="Why (kept in the audit trail).")
@_expect
@common_options
def close_command(number: int, reason: str | None, expected_version: int | None) -> None:
    """Close ticket NUMBER (revokes its active RSAA)."""
    from models.desk import actions

    actor = acting_technician()
    closed = _run(
        lambda s: actions.close_ticket(
            s, number, actor, expected_version=expected_version, reason=reason
        )
    )
    revoked = " · its RSAA revoked" if closed.revoke_reminder else ""
    click.echo(f"#{number} closed{revoked} (version {closed.ticket.version})")
    if closed.revoke_reminder:  # what revoking left to undo by hand, as `rsaa revoke` says it
        click.echo(f"reminder: {closed.revoke_reminder}")


@click.command("reopen")
@click.argument("number", type=ID)
@_expect
@common_options
def reopen_command(number: int, expected_version: int | None) -> None:
    """Reopen closed ticket NUMBER."""
    from models.desk import actions

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
    from models.mail.outbox import deliver_all_due, failed_count, outbox_status, status_line

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
                echo_text(f"  {error}", err=True)
        waiting, last_error = outbox_status(store)
        failed = failed_count(store)
    echo_text(status_line(waiting, last_error, width=200))
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
