"""learned model: labels, history tallies, model columns

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
        "risk_history_tally",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("labelled", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("log_value_sum", sa.Float(), nullable=False),
        sa.Column("log_value_per_kg_sum", sa.Float(), nullable=False),
        sa.Column("log_value_per_kg_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.create_table(
        "risk_label",
        sa.Column("declaration_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("order_no", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("finding_codes", sa.Text(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("declaration_id"),
    )
    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("model_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.Text(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.drop_column("facts")
        batch_op.drop_column("model_score")
        batch_op.drop_column("model_version")

    op.drop_table("risk_label")
    op.drop_table("risk_history_tally")
