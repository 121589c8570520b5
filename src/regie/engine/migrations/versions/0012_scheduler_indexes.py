"""indexes for the scheduler (issue 18): firing.due_at (the sweep reads the firings from the
oldest due item on), meeting.starts_at and meeting.ends_at (the rules read the meetings of a
time window) and decision.meeting_id (a meeting's decisions), so a sweep's cost follows what
is near now, not everything ever stored

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-16 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_firing_due_at", "firing", ["due_at"])
    op.create_index("ix_meeting_starts_at", "meeting", ["starts_at"])
    op.create_index("ix_meeting_ends_at", "meeting", ["ends_at"])
    op.create_index("ix_decision_meeting", "decision", ["meeting_id"])


def downgrade() -> None:
    op.drop_index("ix_decision_meeting", table_name="decision")
    op.drop_index("ix_meeting_ends_at", table_name="meeting")
    op.drop_index("ix_meeting_starts_at", table_name="meeting")
    op.drop_index("ix_firing_due_at", table_name="firing")
