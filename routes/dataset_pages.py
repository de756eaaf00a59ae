"""The Datasets page (``/datasets``); the wizard's Dataset step is rendered by ``routes.pages``."""
from flask import Blueprint, current_app, render_template

from core.datasets import CATEGORIES, FILE_FORMATS
from services import datasets
from services.datasets.uploads import human_size, max_upload_bytes

bp = Blueprint("dataset_pages", __name__)


@bp.get("/datasets")
def index():
    datasets.warm_tokenizer(current_app.config["MODEL_CACHE"])
    return render_template("datasets.html", formats=[*FILE_FORMATS, "hub"], categories=CATEGORIES,
                           statuses=[s.value for s in datasets.DatasetStatus], max_upload=max_upload_bytes(),
                           max_upload_text=human_size(max_upload_bytes()))
