"""Placeholder: being written."""

import click

WORK_COMMANDS: list[click.Command] = []
