"""drop document's indexes on business_key alone and on buyer_key: no read uses them

Every read of documents by business key names their message type too, and is served by
(message_type, business_key); documents are never looked up by buyer (declarations are, by
ix_declaration_buyer_key). Each index cost every document insert its upkeep.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index("ix_document_business_key")
        batch_op.drop_index("ix_document_buyer_key")


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index("ix_document_buyer_key", ["buyer_key"], unique=False)
        batch_op.create_index("ix_document_business_key", ["business_key"], unique=False)
