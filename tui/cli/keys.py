"""`shiftdesk keys`: the console's keys, from the command registry (`--markdown`: the README's
table, which a test keeps equal to it)."""

from __future__ import annotations

import click


@click.command("keys")
@click.option("--markdown", is_flag=True, help="The README's Markdown table.")
def keys_command(markdown: bool) -> None:
    """Every key of the console, grouped as the help screen (`?`) shows them."""
    from tui.registry import help_groups, markdown_table

    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    groups = help_groups()
    width = max(len(keys) for _, rows in groups for keys, _ in rows)
    for index, (group, rows) in enumerate(groups):
        if index:
            click.echo()
        click.echo(group)
        for keys, what in rows:
            click.echo(f"  {keys.ljust(width)}  {what}")
