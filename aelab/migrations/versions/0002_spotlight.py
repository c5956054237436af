"""The teacher's spotlight: which shared run the board shows on the big screen.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_classes") as batch:  # SQLite cannot alter in place: batch mode copies
        batch.add_column(sa.Column("spotlight_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("board_classes") as batch:
        batch.drop_column("spotlight_id")
