"""link use (issue 17): a link from a mail that was used — the outbox row it names, when,
by whom, and what it did; written in the same transaction as the change the link made, so
a second use (also a concurrent one) fails on the primary key

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_use",
        sa.Column("row_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("person_id", AutoString(), nullable=False),
        sa.Column("outcome", AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["row_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("row_id"),
    )


def downgrade() -> None:
    op.drop_table("link_use")
