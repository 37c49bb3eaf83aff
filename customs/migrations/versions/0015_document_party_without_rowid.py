"""document_party as a WITHOUT ROWID table on SQLite: its rows in its primary key's B-tree

A rowid table keeps each row in the table's B-tree and its (document_id, role) key again in
the key's own index; a WITHOUT ROWID table is that key's B-tree alone. PostgreSQL has no such
option: nothing changes there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "document_party", recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
    ):
        pass


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
