"""Placeholder: being written."""

from typing import Any

import click


def run_tui(settings: Any, demo: bool) -> None:
    raise click.ClickException("not built yet")


@click.command("demo")
def demo_command() -> None:
    raise click.ClickException("not built yet")
