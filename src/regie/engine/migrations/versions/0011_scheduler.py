"""scheduler firings (issue 18): one row per fired rule, item, person and due date, written
in the same transaction as the firing's audit event and notices; the unique key makes a
second firing (also a concurrent one, by another process) insert nothing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-15 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", AutoString(), nullable=False),
        sa.Column("item", AutoString(), nullable=False),
        sa.Column("person", AutoString(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "item", "person", "due_at", name="uq_firing_key"),
    )


def downgrade() -> None:
    op.drop_table("firing")
