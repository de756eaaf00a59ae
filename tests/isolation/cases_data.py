"""Isolation cases of the data objects: datasets, prompt templates, custom rewards and saved configs.

Datasets, templates and rewards are written as rows (with the dataset's file in its owner's upload folder); a
saved config through the service as its owner, since its file is what the route looks for.
"""
from __future__ import annotations

from pathlib import Path

from tests.auth_helpers import acting_as
from tests.isolation.registry import case


def _dataset(app, owner_id: int, status: str = "Ready") -> dict:
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models import DatasetRecord

    with app.app_context():
        root = Path(app.config["UPLOAD_FOLDER"])
        path = owner_folder(root, owner_id) / "isolation.csv"
        path.write_text("question,answer\n1+1,2\n", encoding="utf-8")
        record = DatasetRecord(name="mine", description="", tags=[], owner_id=owner_id, source_kind="upload",
                               format="csv", original_filename="mine.csv",
                               stored_path=path.relative_to(root).as_posix(), size_bytes=path.stat().st_size,
                               status=status, progress=1.0, row_count=1, warnings=[], error_details=[],
                               columns=[{"name": "question"}, {"name": "answer"}], sample_rows=[],
                               mapping={"instruction": "question", "response": "answer"})
        db.session.add(record)
        db.session.commit()
        return {"dataset_id": record.id}


def _processing_dataset(app, owner_id: int) -> dict:
    """Processing (and recent, so not stale): the owner's reprocess answers 409 and starts no job."""
    return _dataset(app, owner_id, status="Processing")


def _template(app, owner_id: int) -> dict:
    from extensions import db
    from services.models import PromptTemplate

    with app.app_context():
        row = PromptTemplate(name=f"template of {owner_id}", system_prompt="Think.", reasoning_start="<r>",
                             reasoning_end="</r>", solution_start="<s>", solution_end="</s>", owner_id=owner_id)
        db.session.add(row)
        db.session.commit()
        return {"template_id": str(row.id)}


def _reward(app, owner_id: int) -> dict:
    from extensions import db
    from services.models.rewards import CustomReward

    with app.app_context():
        row = CustomReward(name=f"reward of {owner_id}", kind="components", description="",
                           components=[{"name": "exact_match", "weight": 1.0}], owner_id=owner_id)
        db.session.add(row)
        db.session.commit()
        return {"reward_id": row.id}


def _config(app, owner_id: int) -> dict:
    from services import configs

    context = acting_as(app, owner_id)
    try:
        configs.save("baseline", {})
    finally:
        context.pop()
    return {"name": "baseline"}


case("datasets.get", _dataset)
case("datasets.download", _dataset)
case("datasets.update", _dataset, methods=("PATCH",), body={"name": "renamed"})
case("datasets.delete", _dataset, methods=("DELETE",))
case("datasets.reprocess", _processing_dataset, methods=("POST",), owner_statuses=(409,))
case("prompt_templates.get", _template)
case("prompt_templates.update", _template, methods=("PATCH",), body={"name": "renamed"})
case("prompt_templates.delete", _template, methods=("DELETE",))
case("rewards.get_custom", _reward)
case("rewards.update_custom", _reward, methods=("PATCH",), body={"description": "changed"})
case("rewards.delete_custom", _reward, methods=("DELETE",))
case("configs.delete", _config, methods=("DELETE",))
