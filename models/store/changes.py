"""The change feed: which tickets changed since the last look.

Writers append to `change_log` in the same transaction as the change (models.desk.actions). Readers
remember the highest id they have seen. SQLite: `PRAGMA data_version` on a dedicated connection
says cheaply (~0.15 ms) whether any other connection committed; only then is the log read.
PostgreSQL: LISTEN on a dedicated autocommit connection (NOTIFY is sent by mark_changed) wakes the
reader; it then reads the log the same way, so a missed notification only delays, never loses.
`woke` tells the reader that something was committed at all: presence (models.desk.presence) is
re-read then, without a change-log row of its own.
"""

from __future__ import annotations

import select as _select
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from models.desk.actions import NOTIFY_CHANNEL
from models.desk.presence import PRESENCE_PAYLOAD
from models.store.db import Store
from models.store.tables import ChangeLog


class ChangeFeed:
    """Poll from one thread: `poll(timeout)` returns the set of changed ticket numbers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Connection | None = None
        self._data_version: int | None = None
        self._pg_raw: Any = None
        self.last_id = self._max_id()
        # something was committed (SQLite) or notified (PostgreSQL) since the reader last
        # cleared it: the presence table (models.desk.presence) may have changed too
        self.woke = True

    def _max_id(self) -> int:
        with self.store.engine.connect() as conn:
            newest = conn.execute(select(func.max(col(ChangeLog.id)))).scalar_one()
            return int(newest or 0)

    def _sqlite_changed(self) -> bool:
        if self._conn is None:
            self._conn = self.store.engine.connect()
            self._conn.rollback()  # (the pool's reset) no transaction stays open: see below
        # on the driver's own cursor: through SQLAlchemy (execute, result, rollback) a poll costs
        # ~5x as much, and every console polls twice a second while it waits
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            # a PRAGMA opens no transaction in sqlite3, so each poll sees the latest commit
            raw = cursor.execute("PRAGMA data_version").fetchone()[0]
        finally:
            cursor.close()
        changed = self._data_version is not None and raw != self._data_version
        first = self._data_version is None
        self.woke = self.woke or changed
        self._data_version = int(raw) if raw is not None else None
        # our own commits don't move our connection's data_version, so also read on first call
        return changed or first

    def _pg_wait(self, timeout: float) -> bool:
        if self._pg_raw is None:
            import psycopg

            url = self.store.engine.url.set(drivername="postgresql")
            self._pg_raw = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True
            )
            self._pg_raw.execute(f"LISTEN {NOTIFY_CHANNEL}")
            return True  # resync after (re)connecting
        got = False
        readable, _, _ = _select.select([self._pg_raw.fileno()], [], [], timeout)
        if readable:
            for notice in self._pg_raw.notifies(timeout=0.05):
                self.woke = True
                if notice.payload != PRESENCE_PAYLOAD:
                    got = True
        return got

    def poll(self, timeout: float = 0.0) -> set[int]:
        """Changed ticket numbers since the last poll (empty set if none)."""
        if self.store.dialect == "postgresql":
            try:
                if not self._pg_wait(timeout):
                    return set()
            except Exception:
                self.close()
                raise
        elif not self._sqlite_changed():
            return set()
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(col(ChangeLog.id), col(ChangeLog.ticket_number))
                .where(col(ChangeLog.id) > self.last_id)
                .order_by(col(ChangeLog.id))
            ).all()
        if rows:
            self.last_id = int(rows[-1][0] or 0)
        return {int(r[1]) for r in rows}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pg_raw is not None:
            try:
                self._pg_raw.close()
            finally:
                self._pg_raw = None
