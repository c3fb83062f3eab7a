"""Project profiles: the canonical project schema and its normalisation pipeline."""

from projects.pipeline import normalize_projects

__all__ = ["normalize_projects"]
