"""Projects: one model trained from several datasets grouped by trait (no Flask here).

The dataset mix lives in :mod:`core.projects.mix`.
"""
