"""What the bench scripts share: how to run the installed `shiftdesk` command, an environment
without the caller's SHIFTDESK_* settings (each bench passes its own store), and a scratch
PostgreSQL database for `--pg`."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path


def command() -> list[str]:
    script = Path(sys.executable).with_name("shiftdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIFTDESK_")}


def scratch_database(server: str, prefix: str) -> str:
    """A new, empty database on the PostgreSQL `server` URL; its URL (drop it with
    drop_database)."""
    from sqlalchemy import create_engine, text

    from models.store.db import normalize_url

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, server: str) -> None:
    from sqlalchemy import create_engine, text

    from models.store.db import normalize_url

    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
    admin.dispose()
