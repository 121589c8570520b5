"""Alembic environment: regie passes the connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import regie.engine.models  # noqa: F401  (registers the tables)
import regie.notifications.models  # noqa: F401  (the outbox table)

config = context.config
target_metadata = SQLModel.metadata


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    # apscheduler's own table; the FTS5 search table of 0016 and its shadow tables
    ours = name != "apscheduler_jobs" and not str(name).startswith("search_fts")
    return type_ != "table" or ours


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` command line, for autogenerate during development
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url") or "sqlite:///dev-autogen.db"
        with create_engine(url).connect() as conn:
            _run(conn, url.startswith("sqlite"))
        return
    _run(connection, bool(config.attributes.get("is_sqlite", True)))


def _run(connection: object, is_sqlite: bool) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        include_name=_include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
