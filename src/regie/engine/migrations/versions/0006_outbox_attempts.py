"""outbox attempts (issue 14): each claim is one attempt with its own id, and the moment
DATA was started for it is stored before DATA goes out, so a message counts as "may have
been delivered" only if DATA was started

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_id", AutoString(), nullable=True))
        batch_op.add_column(sa.Column("data_started_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("data_started_at")
        batch_op.drop_column("attempt_id")
