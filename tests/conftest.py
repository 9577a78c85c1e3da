"""Shared fixtures: a real SQLite file per test, and a real PostgreSQL database per test when
SHIFTDESK_TEST_PG_URL is set (e.g. postgresql://postgres@127.0.0.1:5432/postgres)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.store.db import Store, normalize_url

PG_URL = os.environ.get("SHIFTDESK_TEST_PG_URL")
PG_SKIP_REASON = "PostgreSQL tests need SHIFTDESK_TEST_PG_URL (set by .ci/run)"
_TEMPLATE = f"shiftdesk_tmpl_{uuid.uuid4().hex[:8]}"


def _admin_engine():  # type: ignore[no-untyped-def]
    assert PG_URL is not None
    return create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
    url = make_url(normalize_url(PG_URL)).set(database=_TEMPLATE)
    store = Store(url.render_as_string(hide_password=False))
    store.dispose()
    yield _TEMPLATE
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


def new_pg_url(template: str) -> str:
    name = f"shiftdesk_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return (
        make_url(normalize_url(PG_URL or ""))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


def drop_pg(url: str) -> None:
    name = make_url(url).database
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shiftdesk.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated store URL: a SQLite file, and (when configured) a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shiftdesk.db'}"
        Store(url).dispose()
        yield url
        return
    template = request.getfixturevalue("pg_template")
    url = new_pg_url(template)
    try:
        yield url
    finally:
        drop_pg(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """SQLite only: for UI tests, where the backend is not what is under test."""
    s = Store(sqlite_url)
    yield s
    s.dispose()
