"""summary results per producer: one row per application part and declaration (summaryFlag 2
makes one declaration per producer, ownerCode)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:56:24.101612
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("summary_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_code", sa.String(length=18), server_default="", nullable=False)
        )
        batch_op.drop_constraint(batch_op.f("uq_summary_result_application"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_summary_result_declaration", ["application_document_id", "decl_seq_no"]
        )


def downgrade() -> None:
    with op.batch_alter_table("summary_result", schema=None) as batch_op:
        batch_op.drop_constraint("uq_summary_result_declaration", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_summary_result_application"), ["application_document_id"]
        )
        batch_op.drop_column("owner_code")
