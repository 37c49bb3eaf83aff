"""export inventory lifecycle: export inventories customs holds and their master bill links

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_inventory",
        sa.Column("invt_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("document_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("logistics_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("logistics_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
        ),
        sa.PrimaryKeyConstraint("invt_no"),
        sa.UniqueConstraint("document_id", name="uq_export_inventory_document"),
    )
    with op.batch_alter_table("export_inventory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_export_inventory_logistics_no"), ["logistics_no"], unique=False
        )

    op.create_table(
        "export_bill_link",
        sa.Column("invt_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bill_no", sqlmodel.sql.sqltypes.AutoString(length=37), nullable=False),
        sa.Column(
            "waybill_document_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        ),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invt_no"],
            ["export_inventory.invt_no"],
        ),
        sa.ForeignKeyConstraint(
            ["waybill_document_id"],
            ["document.id"],
        ),
        sa.PrimaryKeyConstraint("invt_no"),
    )
    with op.batch_alter_table("export_bill_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_bill_link_bill_no"), ["bill_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("export_bill_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_bill_link_bill_no"))

    op.drop_table("export_bill_link")
    with op.batch_alter_table("export_inventory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_inventory_logistics_no"))

    op.drop_table("export_inventory")
