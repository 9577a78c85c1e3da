"""`shiftdesk canned` (list, show, add, edit, remove) and `shiftdesk signature` (show, set,
clear): canned replies shared by every technician, and the acting technician's signature.

Bad data (an empty body, an unknown `{variable}`, a lone brace, a credential) exits 65 with one
line naming what and where; a refused action (a taken name, a stale --expect-version, no such
reply) exits 1; an unreachable store 75. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tui.cli.core import (
    EX_DATAERR,
    VERSION,
    acting_technician,
    common_options,
    echo_json,
    echo_text,
    fail,
    loaded_config,
)
from tui.cli.work import _body, _run, _with_body

if TYPE_CHECKING:
    from models.desk.canned import CannedInfo
    from models.store.db import Store

T = TypeVar("T")


def _checked(do: Callable[[Store], T]) -> T:
    """`_run`, with bad data (CannedInvalid) exiting 65 instead of 1."""
    from models.desk.canned import CannedInvalid

    def guarded(store: Store) -> T:
        try:
            return do(store)
        except CannedInvalid as exc:
            fail(str(exc), EX_DATAERR)
            raise

    return _run(guarded)


def canned_json(info: CannedInfo, zone: str) -> dict[str, Any]:
    """The stable JSON shape of one canned reply (times ISO 8601 with offset)."""
    from models.clock.timefmt import format_instant

    return {
        "id": info.id,
        "name": info.name,
        "body": info.body,
        "version": info.version,
        "created_by": info.created_by,
        "updated_at": format_instant(info.updated_at, zone),
    }


def _first_line(body: str, width: int) -> str:
    from models.desk.canned import summary_line

    line = summary_line(body)
    return line if len(line) <= width else line[: width - 1] + "…"


_expect = click.option(
    "--expect-version",
    "expected_version",
    type=VERSION,
    metavar="V",
    help="Refuse if the canned reply's version is no longer V (someone else changed it).",
)


@click.group("canned")
@common_options
def canned_group() -> None:
    """Canned replies: reusable reply texts with {customer}, {ticket}, {technician} and
    {deadline} (write {{ and }} for literal braces). In the reply editor, ctrl+t picks one."""


@canned_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts (a list of objects).")
@common_options
def list_command(as_json: bool) -> None:
    """Every canned reply, by name."""
    from models.desk.canned import list_canned

    rows = _run(list_canned)
    if as_json:
        zone = loaded_config().calendar.timezone
        echo_json([canned_json(row, zone) for row in rows])
        return
    if not rows:
        click.echo("no canned replies (add one: shiftdesk canned add NAME --body-file FILE)")
        return
    width = max(len(row.name) for row in rows)
    for row in rows:
        echo_text(f"{row.name.ljust(width)}  v{row.version:<3} {_first_line(row.body, 60)}")


@canned_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts (one object).")
@common_options
def show_command(name: str, as_json: bool) -> None:
    """The canned reply NAME, as stored (variables not filled in)."""
    from models.desk.canned import get_canned

    info = _run(lambda store: get_canned(store, name))
    if as_json:
        echo_json(canned_json(info, loaded_config().calendar.timezone))
        return
    by = f" · by {info.created_by}" if info.created_by else ""
    echo_text(f"{info.name} · version {info.version}{by}\n")
    echo_text(info.body.rstrip("\n"))


@canned_group.command("add")
@click.argument("name")
@_with_body
@common_options
def add_command(name: str, body: str | None, body_file: Path | None) -> None:
    """Add the canned reply NAME (names are unique, ignoring case)."""
    from models.desk.canned import add_canned

    actor = acting_technician()
    text = _body(body, body_file)
    info = _checked(lambda store: add_canned(store, name, text, actor))
    echo_text(f"canned reply {info.name!r} added (version {info.version})")


@canned_group.command("edit")
@click.argument("name")
@_with_body
@click.option("--rename", "new_name", metavar="NEW", help="Give it a new name.")
@_expect
@common_options
def edit_command(
    name: str,
    body: str | None,
    body_file: Path | None,
    new_name: str | None,
    expected_version: int | None,
) -> None:
    """Replace the text of canned reply NAME (--body / --body-file) and/or --rename it."""
    from models.desk.canned import edit_canned

    actor = acting_technician()
    text = _body(body, body_file) if body is not None or body_file is not None else None
    if text is None and new_name is None:
        fail("give the new text with --body TEXT / --body-file FILE, or --rename NEW", 2)
    info = _checked(
        lambda store: edit_canned(
            store, name, actor, body=text, new_name=new_name, expected_version=expected_version
        )
    )
    echo_text(f"canned reply {info.name!r} saved (version {info.version})")


@canned_group.command("remove")
@click.argument("name")
@_expect
@common_options
def remove_command(name: str, expected_version: int | None) -> None:
    """Delete the canned reply NAME (its text stays in the audit trail)."""
    from models.desk.canned import remove_canned

    actor = acting_technician()
    info = _run(lambda store: remove_canned(store, name, actor, expected_version=expected_version))
    echo_text(f"canned reply {info.name!r} removed")


@click.group("signature", invoke_without_command=True)
@common_options
@click.pass_context
def signature_group(ctx: click.Context) -> None:
    """Your signature, put under every reply after a "-- " line (the reply editor shows it;
    `shiftdesk reply` appends it unless --no-signature). With no command: show it."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(signature_show)


@signature_group.command("show")
@common_options
def signature_show() -> None:
    """Print your signature."""
    from models.desk.canned import get_signature

    actor = acting_technician()
    signature = _run(lambda store: get_signature(store, actor))
    if signature is None:
        echo_text(f"{actor.email} has no signature (set one: shiftdesk signature set --body TEXT)")
        return
    echo_text(signature)


@signature_group.command("set")
@_with_body
@common_options
def signature_set(body: str | None, body_file: Path | None) -> None:
    """Set your signature (plain text, at most 2,000 characters)."""
    from models.desk.canned import set_signature

    actor = acting_technician()
    text = _body(body, body_file)
    _checked(lambda store: set_signature(store, actor, text))
    echo_text(f"signature of {actor.email} saved")


@signature_group.command("clear")
@common_options
def signature_clear() -> None:
    """Remove your signature."""
    from models.desk.canned import clear_signature

    actor = acting_technician()
    had = _run(lambda store: clear_signature(store, actor))
    echo_text(f"signature of {actor.email} {'removed' if had else 'was not set'}")
