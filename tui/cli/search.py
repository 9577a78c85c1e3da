"""`shiftdesk search QUERY`: the store's ticket search for scripts. No Textual here.

Exit codes: 0 with hits, 1 when nothing matches (like grep), 2 for a query with nothing to search
for, 75 when the store is unreachable.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from tui.cli.core import EX_USAGE, common_options, echo_json, fail

if TYPE_CHECKING:
    from models.store.db import Store
    from models.store.search import SearchHit


@click.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of the matching tickets.")
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=10_000),
    default=20,
    show_default=True,
    help="At most this many tickets, newest first.",
)
@common_options
def search_command(words: tuple[str, ...], as_json: bool, limit: int) -> None:
    """Tickets (open and closed) whose subject, messages, customer name / email / organisation
    or license key match every word; `#N` is exactly ticket N. Newest first.

    \b
    shiftdesk search ldap timeout
    shiftdesk search bob@acme.example      (an address, or part of one: acme.example)
    shiftdesk search HD-1234-ABCD-5678     (a license key)
    shiftdesk search '"sync fails"' 'print*'
    """
    from models.policy.sanitize import safe_line
    from models.store.search import SearchError, search
    from tui.cli.work import _run

    text = " ".join(words)

    def find(store: Store) -> tuple[list[SearchHit], bool]:
        with store.session() as session:
            return search(session, text, limit=limit)

    try:
        hits, more = _run(find)  # store failures: one line, exit 75 / 1
    except SearchError as exc:
        fail(str(exc), EX_USAGE)
        return
    if as_json:  # the one --json shape: an array, `[]` when nothing matches (exit 1 still)
        echo_json(
            [
                {
                    "number": hit.number,
                    "status": hit.status,
                    "customer": hit.customer,
                    "subject": hit.subject,
                    "snippet": hit.snippet,
                }
                for hit in hits
            ]
        )
    if not hits:
        fail(f"no ticket matches {safe_line(text)!r}", 1)
        return
    out = sys.stdout
    for hit in hits:
        if not as_json:
            out.write(
                f"#{hit.number:<7} {hit.status:<9} {safe_line(hit.customer)[:20]:<20} "
                f"{safe_line(hit.subject)}\n"
            )
            if hit.snippet:
                out.write(f"          {hit.snippet}\n")
    if more:
        click.echo(f"shiftdesk: more than {limit} tickets match; newest {limit} shown", err=True)
