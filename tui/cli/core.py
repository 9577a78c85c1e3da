"""The `shiftdesk` command line.

Scripting commands (sla, list, show, mailgate, ...) never import Textual: the TUI is imported
lazily by the commands that run it. Shared options (`--db`, `--config`, `--as`) are accepted before
or after the subcommand and also come from SHIFTDESK_DB, SHIFTDESK_CONFIG, SHIFTDESK_TECHNICIAN;
an option given on the command line (anywhere) always wins over the environment.

Every failure is one line on stderr and a sysexits code (2 usage/config, 65 bad data, 75 try
again later); an unexpected exception is one line and 70 (SHIFTDESK_DEBUG=1 shows the traceback).
Plain-text output of stored (customer) text goes through `echo_text`, which removes terminal
control sequences; `--json` output goes through `echo_json`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tui import __version__

if TYPE_CHECKING:
    from models.desk.actions import Actor
    from models.policy.config import Config
    from models.store.db import Store

F = TypeVar("F", bound=Callable[..., Any])

# sysexits
EX_USAGE = 2  # click's own usage code; config errors use it too
EX_DATAERR = 65
EX_TEMPFAIL = 75
EX_SOFTWARE = 70  # a bug: an exception nobody turned into a message

# ticket, RSAA and version numbers are SQL BIGINTs: a larger number is a usage error, not an
# OverflowError deep in the driver
MAX_ID = 2**63 - 1
ID = click.IntRange(min=1, max=MAX_ID)
VERSION = click.IntRange(min=0, max=MAX_ID)


@dataclass
class Settings:
    db: str | None = None
    config_path: Path | None = None
    technician: str | None = None


def _store_option(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        settings = ctx.find_root().ensure_object(Settings)
        if value is None:
            return value
        # the option is declared on the group and on each subcommand, and click fills a
        # missing one from the environment: without this an env var on the subcommand level
        # would override `shiftdesk --db X list`. Explicit always wins; the env only fills in.
        from_env = (
            ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.ENVIRONMENT
        )
        if not from_env or getattr(settings, name) is None:
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


def console_options(func: F) -> F:
    """--view / --mute for the commands that open the console (`shiftdesk`, `shiftdesk demo`)."""
    from models.policy.config import ONCALL_VIEWS

    func = click.option(
        "--mute",
        is_flag=True,
        help="No terminal bell for emergencies (the toast and desktop notification still show).",
    )(func)
    return click.option(
        "--view",
        type=click.Choice(ONCALL_VIEWS),
        help="The view the console starts in, e.g. `emergencies` for on-call "
        "[default: the config's oncall.view, else waiting].",
    )(func)


def settings() -> Settings:
    return click.get_current_context().find_root().ensure_object(Settings)


@contextmanager
def opened_store(*, create: bool = False) -> Iterator[Store]:
    """The store from --db / SHIFTDESK_DB, migrated; one-line errors (exit 75 if unreachable,
    2 if the URL or path is wrong). Only the default location is created when missing (and
    `db upgrade` / `seed`, which pass create=True)."""
    from models.store.db import StoreError, StoreUnavailable, StoreUsageError, open_store

    try:
        store = open_store(settings().db, create=create)
    except StoreUnavailable as exc:
        fail(str(exc), EX_TEMPFAIL)
        raise
    except StoreUsageError as exc:
        fail(str(exc), EX_USAGE)
        raise
    except StoreError as exc:
        fail(str(exc), 1)
        raise
    try:
        yield store
    finally:
        store.dispose()


def loaded_config() -> Config:
    """The config from --config / SHIFTDESK_CONFIG / the default file; exit 2 naming the key.
    (A calendar the config describes but that cannot work, e.g. hours with no day, is a
    ConfigError where the calendar is built: LazyGroup.invoke turns it into exit 2.)"""
    from models.policy.config import ConfigError, load_config

    try:
        config = load_config(settings().config_path)
    except ConfigError as exc:
        fail(str(exc), EX_USAGE)
        raise
    from models.desk.actions import set_display_zone

    set_display_zone(config.calendar.timezone)
    return config


def acting_technician() -> Actor:
    """The technician from --as / SHIFTDESK_TECHNICIAN / the config's `technician` (as the
    console does); exit 2 with the reason if there is none."""
    from models.desk.actions import Actor

    email = (settings().technician or loaded_config().technician or "").strip()
    if not email:
        fail(
            "no technician: pass --as EMAIL, set SHIFTDESK_TECHNICIAN or the config's technician",
            EX_USAGE,
        )
    if "@" not in email:
        fail(f"--as {email!r} is not an email address", EX_USAGE)
    from models.policy.sanitize import safe_line

    if safe_line(email) != email:  # it is echoed, stored and shown in every audit trail
        fail(f"--as {email!r} contains control characters or spaces", EX_USAGE)
    return Actor(email)


def fail(message: str, code: int = 1) -> None:
    """Exit with a one-line reason on stderr (made safe: it may quote customer text)."""
    from models.policy.sanitize import safe_line

    click.echo(f"shiftdesk: {safe_line(message)}", err=True)
    sys.exit(code)


def echo_text(text: str, *, err: bool = False) -> None:
    """Print plain text that may hold stored (customer) text: control characters (ESC, BEL, C1,
    bidi overrides) are shown as visible placeholders, newlines kept (models.policy.sanitize)."""
    from models.policy.sanitize import safe_text

    click.echo(safe_text(text), err=err)


def echo_json(value: Any) -> None:
    """The one `--json` shape: lists of records are one JSON array (`[]` when empty), a single
    record one object; keys snake_case; times ISO 8601 with offset. ASCII-only, so no control
    character (C1, bidi override) reaches the terminal raw: json escapes them as \\uXXXX."""
    click.echo(json.dumps(value, ensure_ascii=True, indent=2))


# command name -> (module, attribute): a command's module is imported only when it runs (the
# mail gateway must not pay for the TUI's or the SLA clock's imports)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tui.cli.run", "demo_command"),
    "list": ("tui.cli.store", "list_command"),
    "show": ("tui.cli.store", "show_command"),
    "seed": ("tui.cli.store", "seed_command"),
    "db": ("tui.cli.store", "db_group"),
    "sla": ("tui.cli.sla", "sla_command"),
    "calendar": ("tui.cli.sla", "calendar_group"),
    "rsaa": ("tui.cli.rsaa", "rsaa_group"),
    "mailgate": ("tui.cli.intake", "mailgate_command"),
    "purchase": ("tui.cli.intake", "purchase_group"),
    "import": ("tui.cli.intake", "import_group"),
    "take": ("tui.cli.work", "take_command"),
    "assign": ("tui.cli.work", "assign_command"),
    "reply": ("tui.cli.work", "reply_command"),
    "note": ("tui.cli.work", "note_command"),
    "close": ("tui.cli.work", "close_command"),
    "reopen": ("tui.cli.work", "reopen_command"),
    "outbox": ("tui.cli.work", "outbox_command"),
    "oncall": ("tui.cli.oncall", "oncall_command"),
    "ack": ("tui.cli.oncall", "ack_command"),
    "serve": ("tui.cli.serve", "serve_command"),
    "search": ("tui.cli.search", "search_command"),
    "canned": ("tui.cli.canned", "canned_group"),
    "signature": ("tui.cli.canned", "signature_group"),
    "keys": ("tui.cli.keys", "keys_command"),
    "report": ("tui.cli.report", "report_command"),
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

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's standalone mode, but a usage error is ONE line on stderr (click prints a
        usage block, a hint and a blank line: four lines a script has to untangle)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else ""
            hint = f" (see `{where} --help`)" if where else ""
            fail(" ".join(exc.format_message().split()) + hint, exc.exit_code)
        except click.Abort:
            fail("aborted", 1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """The last line of defence: known failures as one line and their exit code, anything
        else as one line and 70 (SHIFTDESK_DEBUG=1 re-raises it for the traceback)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            code, message = _exit_for(exc)
            if code == EX_SOFTWARE and os.environ.get("SHIFTDESK_DEBUG"):
                raise
            fail(message, code)


def _exit_for(exc: Exception) -> tuple[int, str]:
    from models.policy.config import ConfigError
    from models.store.db import StoreError, StoreUnavailable, StoreUsageError, one_line

    if isinstance(exc, ConfigError):
        return EX_USAGE, str(exc)
    if isinstance(exc, StoreUnavailable):
        return EX_TEMPFAIL, str(exc)
    if isinstance(exc, StoreUsageError):
        return EX_USAGE, str(exc)
    if isinstance(exc, StoreError):
        return 1, str(exc)
    if isinstance(exc, OverflowError):
        return EX_DATAERR, f"number out of range: {one_line(exc)}"
    return EX_SOFTWARE, f"internal error: {type(exc).__name__}: {one_line(exc)}"


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="shiftdesk")
@common_options
@console_options
@click.pass_context
def main(ctx: click.Context, view: str | None, mute: bool) -> None:
    """shiftdesk: the support technician's console. With no command, opens the queue."""
    if ctx.invoked_subcommand is None:
        from tui.cli.run import run_tui

        run_tui(settings(), demo=False, view=view, mute=mute)
