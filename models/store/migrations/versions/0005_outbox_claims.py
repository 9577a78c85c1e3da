"""outbox claims apart from the retry schedule: `outbox --flush` attempts messages that are
backing off, yet never one another worker is sending right now; an index for the gateway's
global auto-reply cap

Revision ID: 0005
Revises: 0003 (no 0004: numbers were handed out to parallel branches)
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_until", sa.Float(), nullable=True))
    op.create_index("ix_outbox_kind_created", "outbox", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_kind_created", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
