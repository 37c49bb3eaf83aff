"""export returns: returns of exported goods (CEB213) customs accepted, by inventory and waybill

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 00:00:33.851416
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_return",
        sa.Column("document_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("invt_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("logistics_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("logistics_no", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
        ),
        sa.ForeignKeyConstraint(
            ["invt_no"],
            ["export_inventory.invt_no"],
        ),
        sa.PrimaryKeyConstraint("document_id"),
    )
    with op.batch_alter_table("export_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_return_invt_no"), ["invt_no"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_export_return_logistics_no"), ["logistics_no"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("export_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_return_logistics_no"))
        batch_op.drop_index(batch_op.f("ix_export_return_invt_no"))

    op.drop_table("export_return")
