"""Isolation cases for projects: another user's project is a 404 on every route (rows written directly: the
routes' scoping is under test, not creation)."""
from __future__ import annotations

from tests.isolation.registry import case


def project(app, owner_id):
    from extensions import db
    from services.auth.folders import owner_folder
    from services.models.projects import Project

    with app.app_context():
        # Inside the owner's area of the output base, where resolve_output_dir accepts a project's folder.
        folder = owner_folder(app.config["OUTPUT_FOLDER"], owner_id) / f"p{owner_id}"
        row = Project(owner_id=owner_id, name=f"p{owner_id}", base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                      training_type="standard", max_rows=8, output_dir=str(folder), runs=[],
                      traits=[{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic",
                                                                        "percentage": 100.0}]}],
                      mix={}, config={}, status="draft")
        db.session.add(row)
        db.session.commit()
        return {"project_id": row.id}


case("projects.get", project)
case("projects.preview", project)
# Not started yet: no manifest to show (409), nothing to validate (409).
case("projects.manifest", project, owner_statuses=(409,))
case("projects.validate", project, methods=("POST",), owner_statuses=(409,))
case("projects.update", project, methods=("PATCH",), body={"description": "changed"})
case("projects.start", project, methods=("POST",), owner_statuses=(400, 409))
case("projects.delete", project, methods=("DELETE",))
case("project_pages.detail", project)
