"""audited reveals of personal data

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_data_reveal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("officer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declaration.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personal_data_reveal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_data_reveal_declaration_id"), ["declaration_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("personal_data_reveal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_reveal_declaration_id"))

    op.drop_table("personal_data_reveal")
