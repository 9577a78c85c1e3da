"""Engine and session factory; migrations on start.

SQLite (default) gets WAL, foreign keys and a busy timeout on every connection. Any SQLAlchemy URL
works (`--db` / SHIFTDESK_DB); `postgresql://` is taken as psycopg 3.

A SQLite store holds customer data: its directory is created 0700 and the file 0600 (SQLite gives
the -wal and -shm files the database file's mode), whatever the umask. A missing file is created
only at the default location or when the caller asks (`db upgrade`, `seed`, the demo); a typo in
an explicit path is an error, never a new empty store.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.store import locations

BUSY_TIMEOUT_MS = 5000


class StoreError(RuntimeError):
    """The store can't be used (bad URL, unreachable, locked, too new)."""


class StoreUnavailable(StoreError):
    """Unreachable or locked: try again later (sysexits 75)."""


class StoreUsageError(StoreError):
    """The URL or path is wrong: no such file, not a database, not a URL (exit 2)."""


DIR_MODE = 0o700
FILE_MODE = 0o600


def _make_private_dir(directory: Path) -> None:
    """Create `directory` (and missing parents); the directory itself is 0700 (chmod after
    mkdir: mkdir's mode is filtered by the umask)."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
    directory.chmod(DIR_MODE)


def _create_private_file(path: Path) -> None:
    """Create an empty database file 0600 before SQLite does (it would use 0644 & ~umask)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def _prepare_sqlite_file(path: Path, *, create: bool, default: bool) -> None:
    """Check (or create) the SQLite file at `path`; StoreUsageError with one line if unusable."""
    if path.exists():
        if not stat.S_ISREG(path.stat().st_mode):
            raise StoreUsageError(f"{path} is not a regular file (not a shiftdesk store)")
        return
    if not (create or default):
        raise StoreUsageError(
            f"{path} does not exist (create a store there with `shiftdesk db upgrade --db ...`)"
        )
    if default:
        _make_private_dir(path.parent)
    elif not path.parent.is_dir():
        raise StoreUsageError(f"directory {path.parent} does not exist")
    _create_private_file(path)


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


def make_engine(url: str | None = None, *, echo: bool = False, create: bool = True) -> Engine:
    """An engine for `url` (default: the SQLite file in the data dir). With create=False a
    SQLite file that does not exist is a StoreUsageError (the default location is always
    created)."""
    raw = url or locations.default_db_url()
    try:
        sa_url = make_url(normalize_url(raw))
    except ArgumentError as exc:
        raise StoreUsageError(f"not a database URL: {raw!r}") from exc
    except ValueError as exc:  # e.g. a port that is not a number
        raise StoreUsageError(f"not a database URL: {raw!r}: {exc}") from exc
    kwargs: dict[str, Any] = {"echo": echo}
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _prepare_sqlite_file(Path(database).expanduser(), create=create, default=not url)
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


SCHEMA_HEAD = "0007"  # the newest migration; a test checks it against Alembic's head


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
    except DatabaseError as exc:
        if "not a database" in str(exc).lower():  # SQLite: "file is not a database"
            raise StoreUsageError(f"not a shiftdesk store: {one_line(exc)}") from exc
        return False  # e.g. PostgreSQL UndefinedTable: an empty database
    except Exception:  # e.g. PostgreSQL UndefinedTable: an empty database
        return False
    return [r[0] for r in rows] == [SCHEMA_HEAD]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision`."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(locations.migrations_dir()))
    from alembic.util.exc import CommandError

    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc
    except CommandError as exc:
        # typically a store migrated by a newer shiftdesk: its revision is unknown here
        raise StoreError(
            f"cannot migrate the store to {revision} (schema {SCHEMA_HEAD} here): {one_line(exc)}"
        ) from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc
    except DatabaseError as exc:
        raise StoreUsageError(f"not a shiftdesk store: {one_line(exc)}") from exc


def one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Store:
    """An engine plus a session factory; migrated on open."""

    def __init__(
        self, url: str | None = None, *, migrate: bool = True, create: bool = True
    ) -> None:
        self.url = url or locations.default_db_url()
        self.engine = make_engine(url, create=create)
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


def open_store(url: str | None = None, *, create: bool = False) -> Store:
    """Open and migrate, mapping driver failures to StoreError/StoreUnavailable. A missing
    SQLite file at an explicit `url` is a StoreUsageError unless create=True."""
    try:
        return Store(url, create=create)
    except StoreError:
        raise
    except OperationalError as exc:
        raise StoreUnavailable(f"store unreachable: {one_line(exc)}") from exc
    except DatabaseError as exc:
        raise StoreUsageError(f"not a shiftdesk store: {one_line(exc)}") from exc
