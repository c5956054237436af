"""A browser finds its class membership again, and a shared run says what its errors measure.

board_members.secret_hash gets an index: a member's secret is derived from the browser's token (codes.browser_secret),
so after a reload or on another replica the membership is found by that hash. board_shares.task names what the
errors of the main model measure (board_fields.TASKS); every run shared before was a plain reconstruction. The
Bigger-bottleneck question's id became "bottleneck" (aelab/questions.py): old rows follow. Revision 0003, after 0002.
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    op.create_index("ix_board_members_secret", "board_members", ["secret_hash"])
    with op.batch_alter_table("board_shares") as batch:  # SQLite cannot alter in place: batch mode copies
        batch.add_column(sa.Column("task", sa.String(24), nullable=False, server_default="reconstruct"))
    op.execute("UPDATE board_shares SET question = 'bottleneck' WHERE question = 'bigger_bottleneck'")


def downgrade() -> None:
    op.execute("UPDATE board_shares SET question = 'bigger_bottleneck' WHERE question = 'bottleneck'")
    with op.batch_alter_table("board_shares") as batch:
        batch.drop_column("task")
    op.drop_index("ix_board_members_secret", "board_members")
