"""Funder profiles (with their calls for proposals) and grant history."""

from funders.history import normalize_history
from funders.pipeline import normalize_funders

__all__ = ["normalize_funders", "normalize_history"]
