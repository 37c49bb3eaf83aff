"""drop the indexes no read uses: observation's on business_key and ebp_code, and the
assessment's on order_no, ebc_code, buyer_key and route

Risk reads an observation by its document id and an assessment by its declaration id (the API,
its intake), or all of them in time order (its report, training); the history it scores with
is kept in its own tables (declaration_record, tallies, price samples) with their own indexes.
Each of these indexes cost every event stored its upkeep: eight B-tree inserts for a
declaration's four observations and four for its assessment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = {
    "observation": ("business_key", "ebp_code"),
    "risk_assessment": ("order_no", "ebc_code", "buyer_key", "route"),
}


def upgrade() -> None:
    for table, columns in _DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(f"ix_{table}_{column}")


def downgrade() -> None:
    for table, columns in _DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)
