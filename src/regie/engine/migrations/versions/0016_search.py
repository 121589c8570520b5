"""the search index (issue 19, ``regie audit search``): ``search_entry`` holds every
searchable text (proposal titles and summaries, decision texts of every version,
correction comments, prior positions) with its Dutch stems; on SQLite the FTS5 table
``search_fts`` indexes the stems (ranked with bm25), on PostgreSQL a GIN index on
``to_tsvector('dutch', text)`` (ranked with ts_rank); ``search_stem`` counts in how many
entries each stem occurs, and ``search_decision`` holds one stemmed document per final
decision with its own full-text index (both for the similar-decision check). Filled from
the existing rows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _Connection:
    """The migration's connection as :mod:`regie.dispute.index` writes (``?`` placeholders)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dialect = str(conn.dialect.name)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.dialect != "sqlite":
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self.conn.exec_driver_sql(sql, tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(sql, params).fetchall()]


def upgrade() -> None:
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("ref", AutoString(), nullable=False),
        sa.Column("meeting_id", AutoString(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("stems", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_entry_proposal", "search_entry", ["proposal_id", "kind"])
    op.create_table(
        "search_stem",
        sa.Column("stem", AutoString(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stem"),
    )
    op.create_table(
        "search_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", AutoString(), nullable=False),
        sa.Column("stems", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", name="uq_search_decision_proposal"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(stems, content='search_entry', "
            "content_rowid='id')"
        )
        op.execute(
            "CREATE VIRTUAL TABLE search_fts_decisions USING fts5(stems, "
            "content='search_decision', content_rowid='id')"
        )
    else:
        op.execute(
            "CREATE INDEX ix_search_entry_tsv ON search_entry "
            "USING gin (to_tsvector('dutch', text))"
        )
        op.execute(
            "CREATE INDEX ix_search_decision_tsv ON search_decision "
            "USING gin (to_tsvector('simple', stems))"
        )
    from regie.dispute import index

    index.rebuild(_Connection(bind))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts_decisions")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_decision_tsv")
        op.execute("DROP INDEX IF EXISTS ix_search_entry_tsv")
    op.drop_table("search_decision")
    op.drop_index("ix_search_entry_proposal", table_name="search_entry")
    op.drop_table("search_stem")
    op.drop_table("search_entry")
