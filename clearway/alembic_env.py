"""The body of every service's migrations/env.py: online migrations on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from clearway.database import make_engine


def run_migrations(metadata: MetaData) -> None:
    """Run the pending migrations of one service against `sqlalchemy.url`."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set for the migrations")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
