"""export summary results (CEB792) and the inventories they summarise

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_result",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column(
            "application_document_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        ),
        sa.Column("sum_no", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("decl_seq_no", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("head", sa.Text(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_document_id"],
            ["document.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_document_id", name="uq_summary_result_application"),
    )
    with op.batch_alter_table("summary_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_summary_result_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_summary_result_sum_no"), ["sum_no"], unique=False)

    op.create_table(
        "summarised_inventory",
        sa.Column("invt_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("summary_result_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("on_record", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["summary_result_id"],
            ["summary_result.id"],
        ),
        sa.PrimaryKeyConstraint("invt_no"),
    )
    with op.batch_alter_table("summarised_inventory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_summarised_inventory_summary_result_id"),
            ["summary_result_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("summarised_inventory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summarised_inventory_summary_result_id"))

    op.drop_table("summarised_inventory")
    with op.batch_alter_table("summary_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_result_sum_no"))
        batch_op.drop_index(batch_op.f("ix_summary_result_entry_id"))

    op.drop_table("summary_result")
