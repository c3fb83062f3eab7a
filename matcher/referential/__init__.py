"""referential layer."""
