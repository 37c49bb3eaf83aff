"""hosted signing identities, upload jobs and their rows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:23:35.962190
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_identity",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("key_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("codes", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signing_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_identity_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "upload_job",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("upload_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_job_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_upload_job_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "upload_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["upload_job.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "row_number"),
    )
    with op.batch_alter_table("upload_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_row_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_row_job_id"))

    op.drop_table("upload_row")
    with op.batch_alter_table("upload_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_job_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_upload_job_state"))

    op.drop_table("upload_job")
    with op.batch_alter_table("signing_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_identity_tenant_id"))

    op.drop_table("signing_identity")
