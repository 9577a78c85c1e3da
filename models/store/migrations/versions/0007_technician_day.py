"""the technician's day: what a first response was measured against when it was recorded (for
the SLA report, never recomputed from today's config), canned replies, a signature per
technician, and who is viewing which ticket right now (presence, expiring)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("first_response_deadline", sa.Float(), nullable=True))
    op.add_column("tickets", sa.Column("first_response_minutes", sa.Float(), nullable=True))
    op.add_column("tickets", sa.Column("first_response_by_id", sa.Integer(), nullable=True))
    op.create_index("ix_tickets_first_response_at", "tickets", ["first_response_at"])
    op.add_column("technicians", sa.Column("signature", sa.Text(), nullable=True))
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["technicians.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("ticket_number", sa.Integer(), nullable=False),
        sa.Column("console", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["technician_id"], ["technicians.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("console"),
    )
    op.create_index("ix_presence_ticket_number", "presence", ["ticket_number"])


def downgrade() -> None:
    op.drop_index("ix_presence_ticket_number", table_name="presence")
    op.drop_table("presence")
    op.drop_table("canned_replies")
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy of `tickets` would trip the search
    # triggers of 0006, which name the table
    op.drop_column("technicians", "signature")
    op.drop_index("ix_tickets_first_response_at", table_name="tickets")
    for column in ("first_response_by_id", "first_response_minutes", "first_response_deadline"):
        op.drop_column("tickets", column)
