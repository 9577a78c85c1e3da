"""Engine and session factory; migrations on start.

SQLite (default) gets WAL, foreign keys and a busy timeout on every connection. Any SQLAlchemy URL
works (`--db` / SHIFTDESK_DB); `postgresql://` is taken as psycopg 3.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models import locations

BUSY_TIMEOUT_MS = 5000


class StoreError(RuntimeError):
    """The store can't be used (bad URL, unreachable, locked, too new)."""


class StoreUnavailable(StoreError):
    """Unreachable or locked: try again later (sysexits 75)."""


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` and file paths."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    raw = url or locations.default_db_url()
    try:
        sa_url = make_url(normalize_url(raw))
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {raw!r}") from exc
    kwargs: dict[str, Any] = {"echo": echo}
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(sa_url, **kwargs)
    except Exception as exc:  # unknown dialect, missing driver
        raise StoreError(f"cannot use {sa_url.render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


SCHEMA_HEAD = "0006"  # the newest migration; a test checks it against Alembic's head


def at_head(engine: Engine) -> bool:
    """Cheap check (no Alembic import) that the store is already at SCHEMA_HEAD."""
    from sqlalchemy import text

    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except OperationalError as exc:
        if "no such table" in str(exc).lower():
            return False
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc
    except Exception:  # e.g. PostgreSQL UndefinedTable: an empty database
        return False
    return [r[0] for r in rows] == [SCHEMA_HEAD]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision`."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(locations.migrations_dir()))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Store:
    """An engine plus a session factory; migrated on open."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or locations.default_db_url()
        self.engine = make_engine(self.url)
        if migrate and not at_head(self.engine):
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """Open and migrate, mapping driver failures to StoreError/StoreUnavailable."""
    try:
        return Store(url)
    except StoreError:
        raise
    except OperationalError as exc:
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc
