from clearway.alembic_env import run_migrations
from customs.db import metadata

run_migrations(metadata)
