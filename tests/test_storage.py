"""Paths from requests never leave their data folder."""
from __future__ import annotations

import os

import pytest

from services.storage import UnsafePathError, resolve_inside, safe_filename


@pytest.mark.parametrize("parts", [("../etc/passwd",), ("/etc/passwd",), ("a", "../../b"), ("..",), ("a/../../b",)])
def test_escapes_are_refused(tmp_path, parts):
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path, *parts)


def test_paths_inside_are_resolved(tmp_path):
    assert resolve_inside(tmp_path, "a", "b.json") == (tmp_path / "a" / "b.json").resolve()
    assert resolve_inside(tmp_path) == tmp_path.resolve()


def test_symlink_pointing_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "data"
    folder.mkdir()
    os.symlink(outside, folder / "link")
    with pytest.raises(UnsafePathError):
        resolve_inside(folder, "link", "x")


@pytest.mark.parametrize("name, expected", [("../../evil.csv", "evil.csv"), ("/abs/path.json", "abs_path.json"),
                                            ("", "file"), ("..", "file"), ("données.csv", "donnees.csv")])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected
