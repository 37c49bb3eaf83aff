from clearway.alembic_env import run_migrations
from gateway.db import metadata

run_migrations(metadata)
