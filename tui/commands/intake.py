"""Placeholder: being written."""

import click


@click.command("import")
def import_group() -> None:
    raise click.ClickException("not built yet")


@click.command("mailgate")
def mailgate_command() -> None:
    raise click.ClickException("not built yet")


@click.command("purchase")
def purchase_group() -> None:
    raise click.ClickException("not built yet")

