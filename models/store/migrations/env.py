"""Alembic environment: runs on the connection handed over by models.store.db.upgrade."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models.store.tables  # noqa: F401  (registers the tables on the metadata)
from models.store.search import schema_objects

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from models.store.db import make_engine

        url = context.config.get_main_option("sqlalchemy.url")
        engine = make_engine(url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=schema_objects,  # the search index is raw SQL (migration 0006)
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
