"""audit index on meeting and action (issue 15, goal 3): the latest agenda approval of a
meeting, its placements and its last published agenda are read on an index instead of by
walking the audit trail, so a decision costs the same on a trail of any length

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_event_meeting_action", "audit_event", ["meeting_id", "action"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_meeting_action", table_name="audit_event")
