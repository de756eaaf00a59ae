"""Plain-Python ML layer (no Flask): importable by the CLI and by remote workers."""
