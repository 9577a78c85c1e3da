"""`shiftdesk report`: the SLA report (models/desk/report.py) as text, JSON or CSV. No Textual here.

Exit codes: 0, 2 for a bad range (unreadable date, end before start, more than 366 days, --days
with --from/--to), 75 when the store is unreachable.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time

import click

from tui.cli.core import (
    EX_TEMPFAIL,
    EX_USAGE,
    common_options,
    echo_json,
    echo_text,
    fail,
    loaded_config,
    opened_store,
)


def _date(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)", EX_USAGE)
        raise  # unreachable: fail exits


@click.command("report")
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=None,
    help="The last N local days, today included [default: 30].",
)
@click.option("--from", "from_text", metavar="DATE", help="First day (YYYY-MM-DD, company zone).")
@click.option("--to", "to_text", metavar="DATE", help="Last day, included [default: from + 29].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV rows: totals, technicians, days.")
@common_options
def report_command(
    days: int | None,
    from_text: str | None,
    to_text: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """How first responses met the SLA: met %, median and p90 time to first response (business
    minutes for standard tickets, wall minutes for emergencies), breaches, per technician, and
    a daily trend. Judged from what was stored when each response was sent, never from today's
    config.

    \b
    shiftdesk report                       (the last 30 days)
    shiftdesk report --days 7 --json
    shiftdesk report --from 2026-11-01 --to 2026-11-30 --csv > november.csv
    """
    from models.clock.calendar import BusinessCalendar
    from models.clock.sla import SlaPolicy
    from models.desk.report import ReportError, report_days, sla_report
    from models.desk.report_output import report_record, report_rows, report_text
    from models.store.db import StoreError, StoreUnavailable

    if as_json and as_csv:
        fail("choose one of --json and --csv", EX_USAGE)
    now = time.time()
    config = loaded_config()
    zone = config.calendar.timezone
    try:
        first_day, last_day = report_days(
            now,
            zone,
            days=days,
            first_day=_date("--from", from_text),
            last_day=_date("--to", to_text),
        )
    except ReportError as exc:
        fail(str(exc), EX_USAGE)
        return
    # (not models.desk.work's sla_policy: that module pulls in the outbox and mail stack)
    policy = SlaPolicy(BusinessCalendar.from_config(config.calendar, now=now), config.sla)
    with opened_store() as store:
        try:
            with store.session() as session:
                report = sla_report(
                    session,
                    first_day=first_day,
                    last_day=last_day,
                    zone=zone,
                    now=now,
                    policy=policy,
                )
        except StoreUnavailable as exc:
            fail(str(exc), EX_TEMPFAIL)
            return
        except StoreError as exc:
            fail(str(exc), 1)
            return
    if as_json:
        echo_json(report_record(report))
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerows(report_rows(report))
    else:
        echo_text(report_text(report))
