"""Datasets: uploads, processing, catalogue, preview, and what the training engine asks for.

Public API (others import from here, not from the submodules):
``resolve_for_training`` and ``register_usage_checker`` for the training
engine; the rest for the routes.
"""
from services.datasets.catalog import add_hub_dataset, catalog
from services.datasets.jobs import wait_all
from services.datasets.preview import preview, warm_tokenizer
from services.datasets.records import (DatasetStatus, delete_record, get_record, list_records, reprocess_record,
                                       stored_file, to_dict, update_record)
from services.datasets.training import resolve_for_training
from services.datasets.uploads import save_upload
from services.datasets.usage import register_usage_checker, sessions_using, unregister_usage_checker

__all__ = [
    "DatasetStatus", "add_hub_dataset", "catalog", "delete_record", "get_record", "list_records", "preview",
    "register_usage_checker", "reprocess_record", "resolve_for_training", "save_upload", "sessions_using",
    "stored_file", "to_dict", "unregister_usage_checker", "update_record", "wait_all", "warm_tokenizer",
]
