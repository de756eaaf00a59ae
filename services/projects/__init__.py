"""Projects: capabilities (traits) trained from a previewed, frozen mix of datasets."""
from services.projects.records import to_dict
from services.projects.service import check, create, delete, get_project, list_projects, manifest, preview, start, \
    update
from services.projects.validation import validate_project


def init_app(app) -> None:
    from services.datasets import register_usage_checker
    from services.projects.references import projects_using_dataset

    register_usage_checker(projects_using_dataset)


def validate(project_id: int) -> dict:
    return validate_project(get_project(project_id))


__all__ = ["check", "create", "delete", "get_project", "list_projects", "manifest", "preview", "start", "to_dict",
           "update", "validate"]
