"""The class board's tables as the newest migration leaves them (SQLAlchemy Core; Alembic creates and changes them).

Times are seconds since the epoch (floats); secrets are stored only as SHA-256 digests (see aelab.codes).
tests/test_board_migrations.py checks that these definitions and `alembic upgrade head` agree.
"""
from __future__ import annotations

import sqlalchemy as sa

NAMES = {  # constraint and index names, so that migrations and these tables name them alike on every database
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "ck": "ck_%(table_name)s_%(constraint_name)s",
}
metadata = sa.MetaData(naming_convention=NAMES)

classes = sa.Table(
    "board_classes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("join_code", sa.String(16), nullable=False),  # canonical "7KQ-M2X-D9R": shown to the teacher
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the join code: lookups
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the teacher key (never stored)
    sa.Column("title", sa.String(60), nullable=False, server_default=""),  # optional, the teacher's words
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # created_at + AELAB_CLASS_DAYS days
    sa.Column("closed_at", sa.Float, nullable=True),  # set: no more joins or shares
    sa.Column("allow_weights", sa.Boolean, nullable=False, server_default=sa.false()),  # shares may carry weights
    sa.Column("spotlight_id", sa.Integer, nullable=True),  # board_shares.id on the big screen (revision 0002)
)

members = sa.Table(
    "board_members", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("board_classes.id"), nullable=False, index=True),
    sa.Column("name", sa.String(32), nullable=False),  # display name (validated by board_fields.clean_name)
    sa.Column("secret_hash", sa.String(64), nullable=False),  # SHA-256 of the member's secret (codes.browser_secret)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_board_members_secret", "secret_hash"),  # a browser finds its membership again (revision 0003)
)

shares = sa.Table(
    "board_shares", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("board_classes.id"), nullable=False),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("board_members.id"), nullable=False),
    sa.Column("client_id", sa.String(36), nullable=False),  # made by the sharing page: a retry is no duplicate
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),  # which page shared it: "train", "bottleneck", ...
    sa.Column("dataset", sa.String(24), nullable=False),
    sa.Column("summary", sa.String(160), nullable=False),  # the architecture as text, 64-128-3-128-64
    sa.Column("spec", sa.Text, nullable=False),  # JSON
    sa.Column("settings", sa.Text, nullable=False),  # JSON
    sa.Column("code_size", sa.Integer, nullable=False),
    sa.Column("params", sa.Integer, nullable=False),
    sa.Column("epochs", sa.Integer, nullable=False),
    sa.Column("train_error", sa.Float, nullable=True),  # mean squared error per pixel, eval mode
    sa.Column("test_error", sa.Float, nullable=True),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("question", sa.String(40), nullable=True),  # predict-first question id
    sa.Column("prediction", sa.String(40), nullable=True),  # the learner's committed answer (option key)
    sa.Column("measured", sa.String(40), nullable=True),  # the answer the run's own numbers give
    sa.Column("points", sa.Text, nullable=False, server_default="[]"),  # JSON: further models of the same run
    sa.Column("task", sa.String(24), nullable=False, server_default="reconstruct"),  # what the errors measure (0003)
    sa.Column("preview", sa.LargeBinary, nullable=True),  # PNG of reconstructions, <= 20 KB
    sa.Column("checkpoint", sa.LargeBinary, nullable=True),  # aelab checkpoint, only if the class allows weights
    sa.UniqueConstraint("class_id", "client_id", name="uq_board_shares_client"),
    sa.Index("ix_board_shares_class", "class_id", "id"),
)

rate = sa.Table(  # fixed-window counters: shared by every replica, so a limit holds across them
    "board_rate", metadata,
    sa.Column("key", sa.String(80), primary_key=True),  # "share|address|<sha256 of the address>"
    sa.Column("window", sa.Integer, primary_key=True),  # floor(time / window length)
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),  # end of the window: purged after
)
