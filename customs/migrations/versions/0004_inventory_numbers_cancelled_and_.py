"""inventory numbers, cancelled and returned declarations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counter",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("declaration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("returned", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("quota_use", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restored_units", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_column("restored")

    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invt_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.create_unique_constraint("uq_document_invt_no", ["invt_no"])


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint("uq_document_invt_no", type_="unique")
        batch_op.drop_column("invt_no")

    with op.batch_alter_table("declaration", schema=None) as batch_op:
        batch_op.drop_column("returned")
        batch_op.drop_column("cancelled")

    with op.batch_alter_table("quota_use", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restored", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_column("restored_units")

    op.drop_table("counter")
