"""Alembic environment: runs online against the URL the caller configured."""

from __future__ import annotations

from alembic import context

import core.db.models  # noqa: F401  (populates Base.metadata)
from core.db.base import Base
from core.db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER via table copy
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run()
