"""an index for the gateway's once-a-day auto-reply check (outbox by address and time)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_to_address_created", "outbox", ["to_address", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_to_address_created", table_name="outbox")
