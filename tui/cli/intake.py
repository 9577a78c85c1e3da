"""`shiftdesk mailgate`, `shiftdesk purchase ...`, `shiftdesk import ...`.

Scripting commands for MTAs and the licensing system: they never import Textual, and import the
store only when they run (the gateway must start fast). Exit codes follow sysexits: 0 done,
65 unusable input, 75 store unreachable or locked (try again later).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui.cli.core import EX_DATAERR, EX_TEMPFAIL, EX_USAGE, common_options, echo_text, settings

if TYPE_CHECKING:
    from models.mail.intake import GateOutcome, Limits
    from models.policy.config import Config
    from models.store.db import Store

DEFAULT_QUARANTINE = ".quarantine"


class _Exit(Exception):
    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code
        self.line = line


def _config(code: int) -> Config:
    """The config from --config / $SHIFTDESK_CONFIG / the default file; bad config → `code`."""
    from models.policy.config import ConfigError, load_config

    try:
        return load_config(settings().config_path)
    except ConfigError as exc:
        raise _Exit(code, str(exc)) from exc


def _store(code: int = EX_TEMPFAIL, usage_code: int = EX_TEMPFAIL) -> Store:
    """Open the store (Store skips Alembic when the schema is already at head: the gateway
    runs once per message and must start fast). A wrong --db (no such file, not a database) is
    `usage_code`: 2 for imports, but 75 for the gateway, so the MTA keeps the mail meanwhile."""
    from models.store.db import StoreError, StoreUsageError, open_store

    try:
        return open_store(settings().db)
    except StoreUsageError as exc:
        raise _Exit(usage_code, str(exc)) from exc
    except StoreError as exc:
        raise _Exit(code, str(exc)) from exc


def _run(body: Any) -> None:
    """Run `body()`; map every failure to a one-line reason and an exit code (no tracebacks)."""
    try:
        code = body()
    except _Exit as exc:
        echo_text(f"shiftdesk: {exc.line}", err=True)
        sys.exit(exc.code)
    except click.exceptions.Exit:
        raise
    except Exception as exc:  # last resort for scripting callers: one line, temp failure
        from models.store.db import one_line

        echo_text(f"shiftdesk: {type(exc).__name__}: {one_line(exc)}", err=True)
        sys.exit(EX_TEMPFAIL)
    sys.exit(code or 0)


# --------------------------------------------------------------------------- mailgate


def _read_stdin(limit: int) -> bytes:
    """Read stdin, keeping at most `limit + 1` bytes (enough to know it is too big)."""
    stream = sys.stdin.buffer
    chunks, kept = [], 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        if kept <= limit:
            chunks.append(chunk[: limit + 1 - kept])
            kept += len(chunks[-1])
    return b"".join(chunks)


def _maildir_move(path: Path, target_dir: Path, suffix: str = "") -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (path.name + suffix)
    os.replace(path, target)
    return target


def process_maildir(
    store: Store, config: Config, maildir: Path, quarantine: Path, limits: Limits
) -> tuple[dict[str, int], bool]:
    """Deliver every message in `maildir/new`; returns counts and whether the store went down."""
    from models.mail.intake import gate

    counts = {"stored": 0, "ignored": 0, "quarantined": 0, "left": 0}
    new_dir, cur_dir = maildir / "new", maildir / "cur"
    names = sorted(p for p in new_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    for index, path in enumerate(names):
        try:
            raw = path.read_bytes()
        except OSError:
            continue  # taken by another reader meanwhile
        outcome: GateOutcome = gate(store, config, raw, limits=limits)
        if outcome.store_down:
            counts["left"] = len(names) - index
            echo_text(f"shiftdesk: {outcome.line}", err=True)
            return counts, True
        if outcome.code == 0:
            kept = outcome.result is not None and outcome.result.outcome != "ignored"
            counts["stored" if kept else "ignored"] += 1
            suffix = "" if ":2," in path.name else ":2,S"
            _maildir_move(path, cur_dir, suffix)
            continue
        target = _maildir_move(path, quarantine)
        target.with_name(target.name + ".reason").write_text(outcome.line + "\n", encoding="utf-8")
        counts["quarantined"] += 1
    return counts, False


@click.command("mailgate")
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Deliver every message in DIR/new instead of one on stdin.",
)
@click.option(
    "--quarantine",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Where rejected Maildir messages go [default: DIR/{DEFAULT_QUARANTINE}].",
)
@click.option(
    "--max-size",
    type=int,
    default=None,
    metavar="BYTES",
    help="Largest message accepted [default: 25 MB].",
)
@click.option(
    "--socket",
    "socket_path",
    envvar="SHIFTDESK_MAILGATE_SOCKET",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Hand messages to a resident gateway listening on this UNIX socket (fast); "
    "falls back to storing them itself when none listens [env SHIFTDESK_MAILGATE_SOCKET].",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Run the resident gateway on --socket (keeps the store open; stop with SIGTERM).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="With --serve: how long a client may take to send its message.",
)
@common_options
def mailgate_command(
    maildir: Path | None,
    quarantine: Path | None,
    max_size: int | None,
    socket_path: Path | None,
    serve: bool,
    read_timeout: float,
) -> None:
    """Store one RFC 5322 message from stdin (for an MTA pipe), or a whole Maildir.

    Exit 0 stored or ignored (prints `ticket #N new|reply` or `ignored: why`), 65 unusable
    message, 75 store unreachable or locked (the MTA retries later).
    """
    from models.mail.limits import MAX_MESSAGE_BYTES

    limit = MAX_MESSAGE_BYTES if max_size is None else max_size
    if serve:
        if socket_path is None:
            raise click.UsageError("--serve needs --socket PATH")
        _run(lambda: _serve(socket_path, limit, read_timeout))
        return
    raw = b""
    if maildir is None and socket_path is not None:
        raw = _read_stdin(limit)
        if len(raw) <= limit:
            from tui.mailgate_socket import send

            answer = send(socket_path, raw)
            if answer is not None:
                code, line = answer
                echo_text(line if code == 0 else f"shiftdesk: {line}", err=code != 0)
                sys.exit(code)

    def body() -> int:
        from models.desk.actions import set_program
        from models.mail.intake import Limits, gate

        set_program("shiftdesk mailgate")
        limits = Limits(max_message_bytes=limit)
        if maildir is None:
            data = raw if socket_path is not None else _read_stdin(limit)
            config = _config(EX_TEMPFAIL)
            store = _store()
            outcome = gate(store, config, data, limits=limits)
            store.dispose()
            echo_text(
                outcome.line if outcome.code == 0 else f"shiftdesk: {outcome.line}",
                err=outcome.code != 0,
            )
            return outcome.code
        config = _config(EX_TEMPFAIL)
        store = _store()
        started = time.perf_counter()
        counts, store_down = process_maildir(
            store, config, maildir, quarantine or maildir / DEFAULT_QUARANTINE, limits
        )
        store.dispose()
        elapsed = time.perf_counter() - started
        click.echo(
            f"{counts['stored']} stored, {counts['ignored']} ignored, "
            f"{counts['quarantined']} quarantined, {counts['left']} left in new/ "
            f"({elapsed:.2f} s)"
        )
        return EX_TEMPFAIL if store_down else 0

    _run(body)


def _serve(socket_path: Path, limit: int, read_timeout: float) -> int:
    """The resident gateway: one store, one config, each message its own transaction."""
    from models.desk.actions import set_program
    from models.mail.intake import Limits, gate
    from tui.mailgate_socket import AlreadyServing, serve

    set_program("shiftdesk mailgate --serve")
    config = _config(EX_TEMPFAIL)
    store = _store()
    limits = Limits(max_message_bytes=limit)

    def handle(raw: bytes) -> tuple[int, str]:
        outcome = gate(store, config, raw, limits=limits)
        return outcome.code, outcome.line

    try:
        serve(
            socket_path,
            handle,
            max_bytes=limit,
            ready=lambda: click.echo(f"mail gateway listening on {socket_path}", err=True),
            read_timeout=read_timeout,
        )
    except AlreadyServing as exc:
        raise _Exit(EX_TEMPFAIL, str(exc)) from exc
    except OSError as exc:  # cannot create the socket (directory, permissions)
        raise _Exit(EX_TEMPFAIL, f"cannot serve on {socket_path}: {exc.strerror or exc}") from exc
    finally:
        store.dispose()
    return 0


# --------------------------------------------------------------------------- purchases


@click.group("purchase")
def purchase_group() -> None:
    """Tickets the web shop submits after checkout (emergency, installation, training)."""


@purchase_group.command("add")
@click.option("--kind", type=click.Choice(["emergency", "installation", "training"]), required=True)
@click.option("--customer", "customer_email", required=True, metavar="EMAIL")
@click.option("--license", "license_key", metavar="KEY")
@click.option("--subject", required=True)
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="The customer's text ('-' for stdin).",
)
@click.option(
    "--at", "at_iso", metavar="ISO", help="Purchase time [default: now; no offset = UTC]."
)
@common_options
def purchase_add_command(
    kind: str,
    customer_email: str,
    license_key: str | None,
    subject: str,
    body_file: Any,
    at_iso: str | None,
) -> None:
    """Create one purchased ticket."""

    def body() -> int:
        from models.desk.actions import ActionError
        from models.policy.imports import add_purchase, parse_when

        try:
            at = parse_when(at_iso) if at_iso else time.time()
        except ValueError:
            raise _Exit(
                EX_DATAERR, f"--at {at_iso!r} is not an ISO date-time in the years 1970-2999"
            ) from None
        from models.desk.work import MAX_BODY_CHARS

        # bounded (a character more than the limit tells it is too long): never /dev/zero
        try:
            text = body_file.read(MAX_BODY_CHARS + 1) if body_file is not None else ""
        except UnicodeDecodeError:
            raise _Exit(EX_DATAERR, "--body-file is not UTF-8 text") from None
        if len(text) > MAX_BODY_CHARS:
            raise _Exit(EX_DATAERR, f"--body-file: longer than {MAX_BODY_CHARS:,} characters")
        store = _store(usage_code=EX_USAGE)
        try:
            number = add_purchase(store, kind, customer_email, license_key, subject, text, at)
        except ActionError as exc:
            raise _Exit(EX_DATAERR, str(exc)) from exc
        click.echo(f"ticket #{number} new ({kind})")
        return 0

    _run(body)


def _print_report(report: Any) -> int:
    # imported rows are customer text: echo_text, no escape sequences
    for line in report.changes:
        echo_text(line)
    for row, message in report.errors:
        echo_text(f"row {row}: {message}" if row else message, err=True)
    click.echo(report.summary(), err=bool(report.errors))
    return EX_DATAERR if report.errors else 0


@purchase_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@common_options
def purchase_import_command(file: Path) -> None:
    """Create the tickets in a JSON-lines file (kind, customer, license, subject, body, at,
    order); an `order` already imported is skipped. A bad row and nothing is created."""

    def body() -> int:
        from models.policy.imports import import_purchases

        return _print_report(import_purchases(_store(usage_code=EX_USAGE), file))

    _run(body)


# --------------------------------------------------------------------------- imports


@click.command("import")
@click.argument("kind", type=click.Choice(["customers", "licenses", "hosted", "partners"]))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count; change nothing.")
@common_options
def import_group(kind: str, file: Path, dry_run: bool) -> None:
    """Upsert customers, licenses, hosted subscriptions or partnerships from CSV / JSON lines.

    Every row is validated; any bad row (reported with its line number) and nothing changes.
    """

    def body() -> int:
        from models.policy.imports import import_rows

        return _print_report(import_rows(_store(usage_code=EX_USAGE), kind, file, dry_run=dry_run))

    _run(body)
