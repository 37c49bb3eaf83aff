from clearway.alembic_env import run_migrations
from risk.db import metadata

run_migrations(metadata)
