"""Versioned JSON API for scripts (``/api/v1``): its shapes only change with a new version."""
