"""Runs say how many dismissed pairs they hid; run pairs keep their contributions; decisions indexed by pair.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("hidden_dismissed", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("runs") as batch:  # the default only filled the existing runs
        batch.alter_column("hidden_dismissed", server_default=None)
    with op.batch_alter_table("run_pairs") as batch:
        batch.add_column(sa.Column("contributions", sa.Text))
    op.create_index("ix_decisions_pair", "decisions", ["project_id", "funder_id", "call_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_pair", "decisions")
    with op.batch_alter_table("run_pairs") as batch:
        batch.drop_column("contributions")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("hidden_dismissed")
