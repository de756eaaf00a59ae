"""Dataset reading, field mapping, the built-in generated sets and the Hub catalogue (no Flask here).

The training engine needs only :class:`DatasetSpec` and :func:`load_examples`; a project's mix streams
rows with :func:`iter_examples`.
"""
from core.datasets.builtin import BUILTINS, describe_builtins, get_builtin
from core.datasets.catalog import CATALOG, CATEGORIES, catalog_entries, find_entry
from core.datasets.loader import iter_examples, load_examples, seeded_sample
from core.datasets.mapping import detect_mapping, mapping_problems, normalise_row
from core.datasets.profile import DatasetProfile, profile_file
from core.datasets.prompts import DEFAULT_MARKERS, Markers, grpo_system_prompt, render_prompt
from core.datasets.readers import RowReader, detect_format
from core.datasets.spec import (DatasetFormatError, DatasetSpec, DatasetUnavailableError, FieldMapping,
                                FILE_FORMATS)

__all__ = [
    "BUILTINS", "CATALOG", "CATEGORIES", "DEFAULT_MARKERS", "FILE_FORMATS", "DatasetFormatError", "DatasetProfile",
    "DatasetSpec", "DatasetUnavailableError", "FieldMapping", "Markers", "RowReader", "catalog_entries",
    "describe_builtins", "detect_format", "detect_mapping", "find_entry", "get_builtin", "grpo_system_prompt",
    "iter_examples", "load_examples", "mapping_problems", "normalise_row", "profile_file", "render_prompt",
    "seeded_sample",
]
