"""Placeholder: being written."""

import click


@click.group("db")
def db_group() -> None:
    """Store maintenance."""


@click.command("list")
def list_command() -> None:
    raise click.ClickException("not built yet")


@click.command("show")
def show_command() -> None:
    raise click.ClickException("not built yet")


@click.command("seed")
def seed_command() -> None:
    raise click.ClickException("not built yet")
