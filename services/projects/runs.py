"""Where a project's runs keep their frozen mix, looked up as the caller or as a run's owner."""
from __future__ import annotations

from pathlib import Path

from extensions import db
from services.auth.scope import get_owned
from services.errors import NotFoundError, ServiceError
from services.ids import as_id
from services.models.projects import Project


def latest_mix_dir(project_id: str | int, owner_id: int | None, *, as_caller: bool = True) -> Path:
    key = as_id(project_id)  # None beyond any stored id (and PostgreSQL's INTEGER)
    if key is None:
        raise NotFoundError(f"No project with id {project_id!r}.")
    if as_caller:
        project = get_owned(Project, key, label="Project")
    else:
        project = db.session.get(Project, key)
        if project is None or (owner_id is not None and project.owner_id != owner_id):
            raise NotFoundError(f"No project with id {key}.")
    if not project.session_id:
        raise ServiceError(f"Project {project.name!r} has no frozen mix yet: start the project to build it.")
    folder = Path(project.output_dir) / project.session_id / "mix"
    if not folder.is_dir():
        raise ServiceError(f"The mix of project {project.name!r} is missing from {folder}.", status_code=410)
    return folder
