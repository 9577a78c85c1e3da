"""Placeholder: being written."""

import click


@click.command("calendar")
def calendar_group() -> None:
    raise click.ClickException("not built yet")


@click.command("sla")
def sla_command() -> None:
    raise click.ClickException("not built yet")

