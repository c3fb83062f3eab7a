"""Alembic migrations of the workspace schema, shipped in the package (run by :mod:`matcher.workspace.store`)."""
