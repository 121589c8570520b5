"""audit events name the operating-system account and host that wrote them, and carry a
MAC over their hash made with a key outside the database (issue #14)

Plain ADD COLUMN (no table copy), so the append-only triggers on audit_event stay.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("os_user", "host", "mac", "key_id")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("audit_event", sa.Column(name, AutoString(), nullable=True))


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        op.drop_column("audit_event", name)
