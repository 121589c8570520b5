"""governance rules of seed 002: prior-position stances, dissent and retraction of a
recorded decision, the addressee of an advice, the leads of a focus point

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine]]] = {
    "prior_position": [("stance", AutoString())],  # agree | disagree | abstain
    "decision": [
        ("dissent", sa.Text()),  # JSON {"parties": [...], "text": "..."}
        ("retracted_by", AutoString()),
        ("retracted_at", sa.DateTime()),
    ],
    "proposal": [("addressee", AutoString())],  # "party:<id>" | "body:<id>" (advice)
    "focus_point": [("admin_lead", AutoString()), ("official_lead", AutoString())],
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in columns:
                batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table, columns in reversed(_COLUMNS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _type in reversed(columns):
                batch_op.drop_column(name)
