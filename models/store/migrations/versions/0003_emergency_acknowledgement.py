"""on-call: when an emergency was acknowledged, and by whom (alerting stops everywhere)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("acknowledged_at", sa.Float(), nullable=True))
    op.add_column(
        "tickets", sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_at")
