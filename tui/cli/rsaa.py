"""`shiftdesk rsaa`: list, record and revoke Remote Server Access Agreements (no Textual here).

Errors are one line on stderr: bad input exits 65, a refused action 1, an unreachable store 75,
a bad config 2. Credentials are never asked for and never stored.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from models.clock.timefmt import format_instant
from models.desk.actions import ActionError
from models.desk.rsaa import (
    RevokeReason,
    RsaaForm,
    RsaaInvalid,
    RsaaMethod,
    RsaaRow,
    list_rsaas,
    parse_accepted_at,
    record_rsaa,
    revoke_rsaa,
)
from models.policy.sanitize import safe_line
from models.store.db import Store, StoreError, StoreUnavailable, StoreUsageError, open_store
from tui.cli.core import (
    EX_DATAERR,
    EX_TEMPFAIL,
    EX_USAGE,
    ID,
    acting_technician,
    common_options,
    echo_json,
    echo_text,
    fail,
    loaded_config,
    settings,
)


@contextmanager
def _store() -> Iterator[Store]:
    """The store, with every failure turned into one line and an exit code."""
    store: Store | None = None
    try:
        store = open_store(settings().db)
        yield store
    except RsaaInvalid as exc:
        fail(str(exc), EX_DATAERR)
    except ActionError as exc:
        fail(str(exc))
    except StoreUnavailable as exc:
        fail(str(exc), EX_TEMPFAIL)
    except StoreUsageError as exc:
        fail(str(exc), EX_USAGE)
    except StoreError as exc:
        fail(str(exc))
    finally:
        if store is not None:
            store.dispose()


def _iso(at: float | None, zone: zoneinfo.ZoneInfo) -> str | None:
    return format_instant(at, zone)


def _short(at: float, zone: zoneinfo.ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")


def row_json(row: RsaaRow, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """The stable JSON shape of one agreement (times ISO 8601 with offset)."""
    return {
        "id": row.id,
        "ticket": row.ticket,
        "ticket_status": row.ticket_status,
        "customer": row.customer,
        "server": row.server,
        "method": row.method,
        "tool": row.tool_name,
        "source_ip": row.source_ip,
        "temp_account": row.temp_account,
        "active": row.active,
        "accepted_by": {"name": row.accepted_by_name, "email": row.accepted_by_email},
        "granted": {"at": _iso(row.accepted_at, zone), "by": row.recorded_by},
        "revoked": None
        if row.revoked_at is None
        else {"at": _iso(row.revoked_at, zone), "by": row.revoked_by, "reason": row.revoke_reason},
    }


@click.group("rsaa")
@common_options
def rsaa_group() -> None:
    """Remote Server Access Agreements (shiftdesk never stores credentials)."""


@rsaa_group.command("list")
@common_options
@click.option("--active", "active_only", is_flag=True, help="Only agreements still in force.")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts (a list of objects).")
def list_rsaas_command(active_only: bool, as_json: bool) -> None:
    """Agreements across tickets, for a security review."""
    zone = zoneinfo.ZoneInfo(loaded_config().calendar.timezone)
    with _store() as store:
        rows = list_rsaas(store, active_only)
    if as_json:
        echo_json([row_json(row, zone) for row in rows])
        return
    if not rows:
        click.echo("no active agreements" if active_only else "no agreements")
        return
    table = [("ID", "TICKET", "CUSTOMER", "SERVER", "METHOD", "GRANTED", "REVOKED")]
    for row in rows:
        granted = f"{_short(row.accepted_at, zone)} by {row.recorded_by}"
        revoked = (
            "active"
            if row.revoked_at is None
            else f"{_short(row.revoked_at, zone)} by {row.revoked_by} ({row.revoke_reason})"
        )
        table.append(
            (
                str(row.id),
                f"#{row.ticket}",
                safe_line(row.customer),
                safe_line(row.server),
                safe_line(row.method_text),
                safe_line(granted),
                safe_line(revoked),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        echo_text(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@rsaa_group.command("record")
@common_options
@click.argument("ticket", type=ID)
@click.option("--name", required=True, help="Who accepted the terms.")
@click.option("--email", required=True, help="Their email address.")
@click.option("--server", required=True, help="Host name or IP address of the server.")
@click.option(
    "--method",
    required=True,
    type=click.Choice([m.value for m in RsaaMethod]),
    help="rdp, tool (a named remote-management tool) or screen_share (needs phone escalation).",
)
@click.option("--tool", "tool_name", help="The tool's name (required for tool / screen_share).")
@click.option("--temp-account", help="Temporary account name (never its password).")
@click.option("--notes", help="Notes (never credentials).")
@click.option("--source-ip", help="Company source IP [default: company.source_ip in the config].")
@click.option(
    "--accepted-at",
    metavar="ISO",
    help="When the terms were accepted (ISO 8601; no offset = calendar zone) [default: now].",
)
def record_command(
    ticket: int,
    name: str,
    email: str,
    server: str,
    method: str,
    tool_name: str | None,
    temp_account: str | None,
    notes: str | None,
    source_ip: str | None,
    accepted_at: str | None,
) -> None:
    """Record the agreement a customer accepted for TICKET."""
    config = loaded_config()
    actor = acting_technician()
    accepted: float | None = None
    if accepted_at is not None:
        try:
            accepted = parse_accepted_at(accepted_at, config.calendar.timezone)
        except ValueError as exc:
            fail(f"accepted_at: {exc}", EX_DATAERR)
    form = RsaaForm(
        ticket=ticket,
        accepted_by_name=name,
        accepted_by_email=email,
        server=server,
        method=method,
        accepted_at=accepted,
        tool_name=tool_name,
        source_ip=source_ip,
        temp_account=temp_account,
        notes=notes,
    )
    with _store() as store:
        rsaa = record_rsaa(store, form, actor, config=config)
    tool = f" ({rsaa.tool_name})" if rsaa.tool_name else ""
    echo_text(
        f"recorded RSAA #{rsaa.id} on #{rsaa.ticket_number}: {rsaa.method}{tool} to {rsaa.server}"
        f" from {rsaa.source_ip}"
    )


@rsaa_group.command("revoke")
@common_options
@click.argument("rsaa_id", metavar="ID", type=ID)
@click.option(
    "--reason", required=True, type=click.Choice([r.value for r in RevokeReason]), help="Why."
)
@click.option("--note", help="A note for the audit trail (never credentials).")
def revoke_command(rsaa_id: int, reason: str, note: str | None) -> None:
    """Revoke agreement ID; prints what to remove on the customer's side."""
    actor = acting_technician()
    with _store() as store:
        result = revoke_rsaa(store, rsaa_id, actor, reason, note=note)
    click.echo(f"revoked RSAA #{rsaa_id} on #{result.rsaa.ticket_number} ({reason})")
    echo_text(f"reminder: {result.reminder}")
