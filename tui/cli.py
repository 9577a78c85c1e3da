"""The `shiftdesk` command line.

Scripting commands (sla, list, show, mailgate, ...) never import Textual: the TUI is imported
lazily by the commands that run it. Shared options (`--db`, `--config`, `--as`) are accepted before
or after the subcommand and also come from SHIFTDESK_DB, SHIFTDESK_CONFIG, SHIFTDESK_TECHNICIAN.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tui import __version__

if TYPE_CHECKING:
    from models.actions import Actor
    from models.config import Config
    from models.db import Store

F = TypeVar("F", bound=Callable[..., Any])

# sysexits
EX_USAGE = 2  # click's own usage code; config errors use it too
EX_DATAERR = 65
EX_TEMPFAIL = 75


@dataclass
class Settings:
    db: str | None = None
    config_path: Path | None = None
    technician: str | None = None


def _store_option(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        settings = ctx.find_root().ensure_object(Settings)
        if value is not None:
            setattr(settings, name, value)
        return value

    return callback


def common_options(func: F) -> F:
    """--db/--config/--as on the group and on every subcommand; the later one wins."""
    options = [
        click.option(
            "--db",
            "db",
            envvar="SHIFTDESK_DB",
            metavar="URL",
            expose_value=False,
            callback=_store_option("db"),
            help="SQLAlchemy URL of the store [env SHIFTDESK_DB; default: SQLite in the data dir].",
        ),
        click.option(
            "--config",
            "config_path",
            envvar="SHIFTDESK_CONFIG",
            metavar="FILE",
            type=click.Path(dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_store_option("config_path"),
            help="TOML config file [env SHIFTDESK_CONFIG].",
        ),
        click.option(
            "--as",
            "technician",
            envvar="SHIFTDESK_TECHNICIAN",
            metavar="EMAIL",
            expose_value=False,
            callback=_store_option("technician"),
            help="The technician you act as [env SHIFTDESK_TECHNICIAN].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings() -> Settings:
    return click.get_current_context().find_root().ensure_object(Settings)


@contextmanager
def opened_store() -> Iterator[Store]:
    """The store from --db / SHIFTDESK_DB, migrated; one-line errors (exit 75 if unreachable)."""
    from models.db import StoreError, StoreUnavailable, open_store

    try:
        store = open_store(settings().db)
    except StoreUnavailable as exc:
        fail(str(exc), EX_TEMPFAIL)
        raise
    except StoreError as exc:
        fail(str(exc), 1)
        raise
    try:
        yield store
    finally:
        store.dispose()


def loaded_config() -> Config:
    """The config from --config / SHIFTDESK_CONFIG / the default file; exit 2 naming the key."""
    from models.config import ConfigError, load_config

    try:
        config = load_config(settings().config_path)
    except ConfigError as exc:
        fail(str(exc), EX_USAGE)
        raise
    from models.actions import set_display_zone

    set_display_zone(config.calendar.timezone)
    return config


def acting_technician() -> Actor:
    """The technician from --as / SHIFTDESK_TECHNICIAN / the config's `technician` (as the
    console does); exit 2 with the reason if there is none."""
    from models.actions import Actor

    email = (settings().technician or loaded_config().technician or "").strip()
    if not email:
        fail(
            "no technician: pass --as EMAIL, set SHIFTDESK_TECHNICIAN or the config's technician",
            EX_USAGE,
        )
    if "@" not in email:
        fail(f"--as {email!r} is not an email address", EX_USAGE)
    return Actor(email)


def fail(message: str, code: int = 1) -> None:
    """Exit with a one-line reason on stderr."""
    click.echo(f"shiftdesk: {message}", err=True)
    sys.exit(code)


# command name -> (module, attribute): a command's module is imported only when it runs (the
# mail gateway must not pay for the TUI's or the SLA clock's imports)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tui.commands.run", "demo_command"),
    "list": ("tui.commands.store", "list_command"),
    "show": ("tui.commands.store", "show_command"),
    "seed": ("tui.commands.store", "seed_command"),
    "db": ("tui.commands.store", "db_group"),
    "sla": ("tui.commands.sla", "sla_command"),
    "calendar": ("tui.commands.sla", "calendar_group"),
    "rsaa": ("tui.commands.rsaa", "rsaa_group"),
    "mailgate": ("tui.commands.intake", "mailgate_command"),
    "purchase": ("tui.commands.intake", "purchase_group"),
    "import": ("tui.commands.intake", "import_group"),
    "take": ("tui.commands.work", "take_command"),
    "reply": ("tui.commands.work", "reply_command"),
    "note": ("tui.commands.work", "note_command"),
    "close": ("tui.commands.work", "close_command"),
    "reopen": ("tui.commands.work", "reopen_command"),
    "outbox": ("tui.commands.work", "outbox_command"),
    "search": ("tui.commands.search", "search_command"),
}


class LazyGroup(click.Group):
    """Imports a subcommand's module on first use: fast starts, no import cycles."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            import importlib

            module, attribute = LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(LAZY_COMMANDS) | set(self.commands))


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="shiftdesk")
@common_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """shiftdesk: the support technician's console. With no command, opens the queue."""
    if ctx.invoked_subcommand is None:
        from tui.commands.run import run_tui

        run_tui(settings(), demo=False)
