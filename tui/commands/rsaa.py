"""Placeholder: being written."""

import click


@click.command("rsaa")
def rsaa_group() -> None:
    raise click.ClickException("not built yet")

