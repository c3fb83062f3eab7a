"""First workspace schema: imports, profiles with versions, decisions, runs.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("rows_normalised", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
    )
    op.create_index("ix_imports_sha256", "imports", ["sha256"])
    op.create_table(
        "import_problems",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("row", sa.Integer),
        sa.Column("column", sa.Text),
        sa.Column("value", sa.Text),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("reason_en", sa.Text, nullable=False),
        sa.Column("reason_fr", sa.Text, nullable=False),
    )
    op.create_index("ix_import_problems_import_id", "import_problems", ["import_id"])
    op.create_table(
        "profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.UniqueConstraint("kind", "key", "version", name="uq_profiles_kind_key_version"),
    )
    op.create_index("ix_profiles_kind_current", "profiles", ["kind", "current"])
    op.create_index("ix_profiles_import_id", "profiles", ["import_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("funder_id", sa.Text, nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_requested", sa.Float),
        sa.Column("amount_granted", sa.Float),
        sa.Column("date", sa.String(10)),
        sa.Column("reason", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("batch", sa.Text),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("run_date", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("funder_id", sa.Text, nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("eligibility", sa.String(16), nullable=False),
    )
    op.create_index("ix_run_pairs_run_id", "run_pairs", ["run_id"])


def downgrade() -> None:
    for table in ("run_pairs", "runs", "decisions", "profiles", "import_problems", "imports"):
        op.drop_table(table)
