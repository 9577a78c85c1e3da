"""`shiftdesk serve`: the console over SSH (and in a browser), one process per session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import click

from tui.cli.core import EX_USAGE, common_options, fail, loaded_config, settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_address(text: str, option: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT`, `[V6]:PORT`; no host = every interface."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = "", text.strip()
    host = host.strip("[]")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise click.BadParameter(f"{option}: {text!r} is not [HOST:]PORT")
    return host, int(port_text)


def parse_duration(text: str) -> float:
    """`30m`, `90s`, `2h`, `45` (seconds); 0 = never."""
    match = _DURATION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 90s or 2h")
    return float(match.group(1)) * _UNITS[match.group(2)]


@click.command("serve")
@click.option("--ssh", "ssh_address", metavar="[HOST:]PORT", help="Serve the console over SSH.")
@click.option(
    "--web",
    "web_address",
    metavar="[HOST:]PORT",
    help="Serve the console to browsers (textual-serve; no authentication: put it behind a "
    "reverse proxy that has).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Anyone may connect (any key, or none); each viewer gets a throwaway demo store.",
)
@click.option(
    "--shared-demo",
    is_flag=True,
    help="With --demo: one demo world for every viewer, who see each other's actions live.",
)
@click.option(
    "--authorized-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help='Public keys allowed in, each naming its technician (technician="EMAIL" option or an '
    "email comment) [default: authorized_keys in the data dir].",
)
@click.option(
    "--host-key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The server's SSH host key, generated on first use "
    "[default: ssh_host_ed25519_key in the data dir].",
)
@click.option(
    "--max-sessions",
    type=click.IntRange(min=1, max=1000),
    default=10,
    show_default=True,
    help="Sessions at once; more are refused with a one-line message.",
)
@click.option(
    "--idle-timeout",
    default="30m",
    show_default=True,
    metavar="DURATION",
    help="Disconnect a session after this long without a key (30m, 90s, 2h; 0 = never).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.1, max=100.0),
    default=1.0,
    show_default=True,
    help="Demo: how fast new tickets arrive.",
)
@click.option("--at", "at", metavar="WHEN", help="Demo: pretend it is WHEN (see `demo --at`).")
@click.option(
    "--public-url",
    metavar="URL",
    help="With --web: the URL browsers reach the server at (behind a reverse proxy).",
)
@common_options
def serve_command(
    ssh_address: str | None,
    web_address: str | None,
    demo: bool,
    shared_demo: bool,
    authorized_keys: Path | None,
    host_key: Path | None,
    max_sessions: int,
    idle_timeout: str,
    speed: float,
    at: str | None,
    public_url: str | None,
) -> None:
    """Serve the console: `ssh -p PORT host` and you are in it, one console per session."""
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        fail("serve needs the serve extra: pip install 'shiftdesk[serve]'", EX_USAGE)
    from models.store.locations import data_dir
    from tui.serve.child import ConsolePlan
    from tui.serve.keys import AuthorizedKeys, KeyFileError, load_host_key
    from tui.serve.ssh import ServeState, clear_stale_work_dirs

    if ssh_address is None and web_address is None:
        fail("nothing to serve: pass --ssh [HOST:]PORT and/or --web [HOST:]PORT", EX_USAGE)
    if shared_demo and not demo:
        fail("--shared-demo needs --demo", EX_USAGE)
    try:
        ssh_at = parse_address(ssh_address, "--ssh") if ssh_address is not None else None
        web_at = parse_address(web_address, "--web") if web_address is not None else None
    except click.BadParameter as exc:
        fail(exc.message, EX_USAGE)
        raise
    try:
        idle = parse_duration(idle_timeout)
    except click.BadParameter as exc:
        fail(f"--idle-timeout: {exc.message}", EX_USAGE)
        raise
    s = settings()
    config = loaded_config()
    for folder in clear_stale_work_dirs():
        click.echo(f"shiftdesk serve: removed {folder} (left by a server that died)", err=True)
    keys: AuthorizedKeys | None = None
    keys_path = authorized_keys or data_dir() / "authorized_keys"
    if ssh_at is not None and (authorized_keys is not None or not demo):
        if not keys_path.exists():
            fail(
                f"no authorized keys file {keys_path}: pass --authorized-keys FILE "
                "(or --demo for anonymous viewers)",
                EX_USAGE,
            )
        try:
            keys = AuthorizedKeys.load(keys_path)
        except KeyFileError as exc:
            fail(str(exc), EX_USAGE)
    if web_at is not None and not demo and not s.technician:
        fail("--web without --demo needs --as EMAIL: every browser acts as that one technician", 2)
    if not demo:
        from tui.cli.core import opened_store

        with opened_store():  # reachable and migrated before anyone connects (or exit 75)
            pass

    clock_offset: float | None = None
    shared_dir: Path | None = None
    state_plan = ConsolePlan(demo=demo, db=s.db, config_path=s.config_path, speed=speed, at=at)
    if demo and at is not None:
        from tui.cli.run import demo_clock_offset

        offset = demo_clock_offset(config, at)  # exit 2 now for a bad WHEN, not per session
        if shared_demo:
            clock_offset = offset
    state = ServeState(plan=state_plan, keys=keys, max_sessions=max_sessions, idle_timeout=idle)
    if shared_demo:
        shared_dir = state.work_dir / "shared"
        shared_dir.mkdir()
        from tui.serve.world import populate_shared_world

        populate_shared_world(shared_dir, time.time() + (clock_offset or 0.0))
    state.plan = ConsolePlan(
        demo=demo,
        db=s.db,
        config_path=s.config_path,
        speed=speed,
        at=at,
        shared_dir=shared_dir,
        clock_offset=clock_offset,
    )
    host = None
    if ssh_at is not None:
        try:
            host = load_host_key(host_key or data_dir() / "ssh_host_ed25519_key")
        except KeyFileError as exc:
            shutil.rmtree(state.work_dir, ignore_errors=True)
            fail(str(exc), EX_USAGE)
    logging.basicConfig(level=logging.INFO, format="shiftdesk serve: %(message)s")
    for noisy in ("asyncssh", "alembic"):  # a line per channel event, per migration step
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(state, ssh_at, host, web_at, public_url, s.technician))
    finally:
        shutil.rmtree(state.work_dir, ignore_errors=True)


async def _serve(
    state: object,
    ssh_at: tuple[str, int] | None,
    host_key: object,
    web_at: tuple[str, int] | None,
    public_url: str | None,
    technician: str | None,
) -> None:
    from tui.serve.ssh import ServeState, start_ssh_server
    from tui.serve.world import offset_clock, run_arrivals

    assert isinstance(state, ServeState)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    plan = state.plan
    await state.prepare()
    tasks: list[asyncio.Task[None]] = []
    acceptor = None
    runner = None
    try:
        if plan.shared_dir is not None:
            clock = offset_clock(plan.clock_offset or 0.0)
            tasks.append(asyncio.create_task(run_arrivals(plan.shared_dir, clock, plan.speed)))
        what = "demo, shared world" if plan.shared_dir else "demo" if plan.demo else "console"
        if ssh_at is not None:
            try:
                acceptor = await start_ssh_server(state, ssh_at[0], ssh_at[1], host_key)  # type: ignore[arg-type]
            except OSError as exc:
                fail(f"cannot listen on {ssh_at[0] or '*'}:{ssh_at[1]}: {exc.strerror}", 75)
            assert acceptor is not None
            port = acceptor.sockets[0].getsockname()[1]
            fingerprint = host_key.get_fingerprint()  # type: ignore[attr-defined]
            click.echo(
                f"shiftdesk serve: ssh on {ssh_at[0] or '*'}:{port} ({what}); "
                f"host key {fingerprint}"
            )
        if web_at is not None:
            from tui.serve.web import start_web_server

            argv = plan.argv(technician or "browser@viewer.demo", None)
            try:
                runner = await start_web_server(argv, web_at[0], web_at[1], public_url)
            except OSError as exc:
                fail(f"cannot listen on {web_at[0] or '*'}:{web_at[1]}: {exc.strerror}", 75)
            click.echo(f"shiftdesk serve: web on {web_at[0] or '*'}:{web_at[1]} ({what})")
        sys.stdout.flush()
        await stop.wait()
    finally:
        if acceptor is not None:
            acceptor.close()
        await state.close_all("the server is shutting down")
        for leftover in list(state.background):
            leftover.cancel()
        await asyncio.gather(*state.background, return_exceptions=True)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runner is not None:
            await runner.cleanup()
