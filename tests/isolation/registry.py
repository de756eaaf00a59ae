"""What the isolation test knows about each route with an id or name in its URL.

Each domain adds ``Case``s in its own module (``cases_*.py``); ``tests/isolation/test_isolation.py`` walks the
URL map and fails on a route with a parameter that no case and no ``NOT_OWNED`` entry covers.

``make(app, owner_id)`` creates the object as that owner (rows may be written directly: the route's scoping is
under test, not creation) and returns the URL's keyword arguments. The owner (A) must not get 404; any other
user (B) must get exactly 404, or 403 for ``admin_only`` routes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    make: Callable[[Any, int], dict[str, Any]]
    methods: tuple[str, ...] = ("GET",)
    body: dict[str, Any] | None = None
    admin_only: bool = False
    owner_statuses: tuple[int, ...] = field(default=())  # statuses A may get besides < 400 (e.g. 409 while busy)


# Routes whose parameter is not an owned object, with the reason.
NOT_OWNED: dict[str, str] = {
    "static": "static files",
    "pages.wizard_step": "the step name of a wizard page, not an object",
}

CASES: dict[str, Case] = {}


def case(endpoint: str, make: Callable[[Any, int], dict[str, Any]], **kwargs: Any) -> None:
    assert endpoint not in CASES, f"{endpoint} has two cases"
    CASES[endpoint] = Case(make=make, **kwargs)
