"""The Datasets page (``/datasets``); the wizard's Dataset step is rendered by ``routes.pages``."""
from flask import Blueprint, current_app, render_template

from core.datasets import CATEGORIES, FILE_FORMATS
from services import datasets

bp = Blueprint("dataset_pages", __name__)


@bp.get("/datasets")
def index():
    datasets.warm_tokenizer(current_app.config["MODEL_CACHE"])
    return render_template("datasets.html", formats=[*FILE_FORMATS, "hub"], categories=CATEGORIES,
                           statuses=[s.value for s in datasets.DatasetStatus])
