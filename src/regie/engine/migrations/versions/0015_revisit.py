"""revisits (issue 19): a proposal that consciously reopens an earlier decision names it
at submission (``regie submit --revisits P-… --reason …``); the link is shown both ways

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 18:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revisit",
        sa.Column("proposal_id", AutoString(), nullable=False),
        sa.Column("earlier_id", AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.ForeignKeyConstraint(["earlier_id"], ["proposal.id"]),
        sa.PrimaryKeyConstraint("proposal_id", "earlier_id"),
    )
    op.create_index("ix_revisit_earlier", "revisit", ["earlier_id"])


def downgrade() -> None:
    op.drop_index("ix_revisit_earlier", table_name="revisit")
    op.drop_table("revisit")
