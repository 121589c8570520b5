"""feasibility (issue 18, rule 8): a proposal may have a follow-up (``regie submit
--follow-up``); its concerned parties state whether it is feasible (``regie feasibility``),
the latest statement per proposal and party standing; an index on mandate.valid_until for
the scheduler's mandate-expiry rule

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-17 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposal") as batch:
        batch.add_column(
            sa.Column("follow_up", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "feasibility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", AutoString(), nullable=False),
        sa.Column("party_id", AutoString(), nullable=False),
        sa.Column("person_id", AutoString(), nullable=False),
        sa.Column("feasible", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("stated_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feasibility_proposal_party", "feasibility", ["proposal_id", "party_id"])
    op.create_index("ix_mandate_valid_until", "mandate", ["valid_until"])


def downgrade() -> None:
    op.drop_index("ix_mandate_valid_until", table_name="mandate")
    op.drop_index("ix_feasibility_proposal_party", table_name="feasibility")
    op.drop_table("feasibility")
    with op.batch_alter_table("proposal") as batch:
        batch.drop_column("follow_up")
