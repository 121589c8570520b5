"""short names of parties and bodies, for mails ("SWV PO", "OOGO")

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("party", "body"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("short_name", AutoString(), nullable=True))


def downgrade() -> None:
    for table in ("body", "party"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("short_name")
