"""Alembic revisions, one per schema change (a package, so that a wheel carries them)."""
