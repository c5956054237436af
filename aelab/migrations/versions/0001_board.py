"""The class board's first schema: classes, members, shared runs and rate-limit counters.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_classes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("join_code", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.String(60), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float, nullable=True),
        sa.Column("allow_weights", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_board_classes"),
        sa.UniqueConstraint("code_hash", name="uq_board_classes_code_hash"),
        sa.UniqueConstraint("key_hash", name="uq_board_classes_key_hash"),
    )
    op.create_table(
        "board_members",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("class_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_board_members"),
        sa.ForeignKeyConstraint(["class_id"], ["board_classes.id"], name="fk_board_members_class_id_board_classes"),
    )
    op.create_index("ix_board_members_class_id", "board_members", ["class_id"])
    op.create_table(
        "board_shares",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("class_id", sa.Integer, nullable=False),
        sa.Column("member_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("dataset", sa.String(24), nullable=False),
        sa.Column("summary", sa.String(160), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("code_size", sa.Integer, nullable=False),
        sa.Column("params", sa.Integer, nullable=False),
        sa.Column("epochs", sa.Integer, nullable=False),
        sa.Column("train_error", sa.Float, nullable=True),
        sa.Column("test_error", sa.Float, nullable=True),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("question", sa.String(40), nullable=True),
        sa.Column("prediction", sa.String(40), nullable=True),
        sa.Column("measured", sa.String(40), nullable=True),
        sa.Column("points", sa.Text, nullable=False, server_default="[]"),
        sa.Column("preview", sa.LargeBinary, nullable=True),
        sa.Column("checkpoint", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_board_shares"),
        sa.ForeignKeyConstraint(["class_id"], ["board_classes.id"], name="fk_board_shares_class_id_board_classes"),
        sa.ForeignKeyConstraint(["member_id"], ["board_members.id"], name="fk_board_shares_member_id_board_members"),
        sa.UniqueConstraint("class_id", "client_id", name="uq_board_shares_client"),
    )
    op.create_index("ix_board_shares_class", "board_shares", ["class_id", "id"])
    op.create_table(
        "board_rate",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("window", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("key", "window", name="pk_board_rate"),
    )
    op.create_index("ix_board_rate_expires_at", "board_rate", ["expires_at"])


def downgrade() -> None:
    for table in ("board_rate", "board_shares", "board_members", "board_classes"):
        op.drop_table(table)
