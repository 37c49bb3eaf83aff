"""export inventories as declarations: a declaration is one per order, platform and export
inventory number ("" for an import declaration)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The (ebp_code, order_no) constraint of 0002 has no name of its own: PostgreSQL named it, and
# SQLite's copy is named here through the batch's naming convention so that it can be dropped.
_SQLITE_NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _old_constraint() -> str:
    if op.get_bind().dialect.name == "sqlite":
        return "uq_declaration_ebp_code_order_no"
    return "declaration_ebp_code_order_no_key"


def upgrade() -> None:
    with op.batch_alter_table("declaration", naming_convention=_SQLITE_NAMING) as batch_op:
        batch_op.add_column(
            sa.Column("export_invt_no", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.drop_constraint(_old_constraint(), type_="unique")
        batch_op.create_unique_constraint(
            "uq_declaration_order_inventory", ["ebp_code", "order_no", "export_invt_no"]
        )
    _declare_held_export_inventories()


def _declare_held_export_inventories() -> None:
    """Every export inventory customs already holds gets its declaration, in its state."""
    declaration = sa.table(
        "declaration",
        sa.column("id", sa.String),
        sa.column("ebp_code", sa.String),
        sa.column("order_no", sa.String),
        sa.column("inventory_document_id", sa.String),
        sa.column("status", sa.Integer),
        sa.column("cancelled", sa.Boolean),
        sa.column("returned", sa.Boolean),
        sa.column("export_invt_no", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    inventory = sa.table(
        "export_inventory",
        sa.column("invt_no", sa.String),
        sa.column("document_id", sa.String),
        sa.column("cancelled", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    document = sa.table(
        "document",
        sa.column("id", sa.String),
        sa.column("head", sa.Text),
        sa.column("return_status", sa.Integer),
    )
    held = op.get_bind().execute(
        sa.select(
            inventory.c.invt_no,
            inventory.c.document_id,
            inventory.c.cancelled,
            inventory.c.created_at,
            inventory.c.updated_at,
            document.c.head,
            document.c.return_status,
        ).join_from(inventory, document, document.c.id == inventory.c.document_id)
    )
    rows = []
    for invt_no, document_id, cancelled, created_at, updated_at, head, status in held:
        fields = json.loads(head)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "ebp_code": fields.get("ebpCode", ""),
                "order_no": fields.get("orderNo", ""),
                "inventory_document_id": document_id,
                "status": status,
                "cancelled": bool(cancelled),
                "returned": False,
                "export_invt_no": invt_no,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
    if rows:
        op.bulk_insert(declaration, rows)


def downgrade() -> None:
    exported = "SELECT id FROM declaration WHERE export_invt_no <> ''"
    op.execute(f"DELETE FROM decision WHERE declaration_id IN ({exported})")
    op.execute("DELETE FROM declaration WHERE export_invt_no <> ''")
    with op.batch_alter_table("declaration", naming_convention=_SQLITE_NAMING) as batch_op:
        batch_op.drop_constraint("uq_declaration_order_inventory", type_="unique")
        batch_op.drop_column("export_invt_no")
        batch_op.create_unique_constraint(_old_constraint(), ["ebp_code", "order_no"])
