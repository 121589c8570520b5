"""indexes for the scheduler's after-meeting rule (issue 18): a partial index on the open
proposals' meeting (the deferral of items left open on meetings that ended reads only the
few open items, not every decided or withdrawn one of the last months), and one on when
a meeting's decisions were confirmed (news is due only where a decision was confirmed
since the meeting's last news)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the literals of regie.engine.machine.OPEN_STATE_SQL when this revision was written
OPEN = "state NOT IN ('awaiting_confirmation', 'decided', 'noted', 'withdrawn')"


def upgrade() -> None:
    op.create_index(
        "ix_proposal_open",
        "proposal",
        ["meeting_id"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_index("ix_decision_meeting_confirmed", "decision", ["meeting_id", "confirmed_at"])


def downgrade() -> None:
    op.drop_index("ix_decision_meeting_confirmed", table_name="decision")
    op.drop_index("ix_proposal_open", table_name="proposal")
