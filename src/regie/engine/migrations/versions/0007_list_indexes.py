"""list indexes (issue 15, goal 4): `regie list` pages newest first and filters by state,
stage, body (through the meeting) and concerned party on indexes, at 100,000 proposals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_proposal_submitted", "proposal", ["submitted_at"]),
    ("ix_proposal_state_submitted", "proposal", ["state", "submitted_at"]),
    ("ix_proposal_stage_submitted", "proposal", ["stage", "submitted_at"]),
    ("ix_proposal_meeting", "proposal", ["meeting_id"]),
    ("ix_proposal_party_party", "proposal_party", ["party_id", "proposal_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
