"""The Output Directory Base and ``resolve_output_dir`` on the real filesystem: the default, setting it, every
refusal with its reason, per-owner areas with accounts, the probe leaving nothing behind, and sessions whose
folder lies under a custom base still being found."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.errors import ServiceError
from tests.auth_helpers import accounts_app, acting_as, add_user  # noqa: F401  (fixture)

pytestmark = pytest.mark.db

as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield app


@pytest.fixture
def custom(ctx, tmp_path) -> Path:
    """A custom base, set: an absolute folder outside every data folder."""
    from services.output_base import set_output_base

    return set_output_base(str(tmp_path / "elsewhere" / "outputs"))


def _refused(call, *args, **kwargs) -> str:
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    assert caught.value.status_code == 400
    return caught.value.message


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".tunewright-probe-*")]


# -- the base ------------------------------------------------------------------------------------------------
def test_the_default_base_is_the_output_folder(ctx):
    from services.output_base import output_base, output_roots

    assert output_base() == Path(ctx.config["OUTPUT_FOLDER"]).resolve()
    assert output_roots() == [output_base()]


def test_set_creates_stores_resolved_and_adds_an_output_root(ctx, tmp_path):
    from services.output_base import output_base, output_roots, set_output_base
    from services.settings_store import get_setting

    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    chosen = set_output_base(f"  {tmp_path}/alias/new/outputs  ")
    assert chosen == (tmp_path / "real" / "new" / "outputs").resolve() and chosen.is_dir()
    assert get_setting("output_base") == str(chosen) and output_base() == chosen
    assert output_roots() == [Path(ctx.config["OUTPUT_FOLDER"]).resolve(), chosen]
    assert _leftovers(chosen) == []


def test_setting_the_default_again_clears_the_setting(ctx, custom):
    from services.output_base import output_base, set_output_base
    from services.settings_store import get_setting

    set_output_base(ctx.config["OUTPUT_FOLDER"])
    assert get_setting("output_base") is None and output_base() == Path(ctx.config["OUTPUT_FOLDER"])


@pytest.mark.parametrize("value, reason", [
    ("relative/outputs", "must be an absolute path"),
    ("", "give the absolute path"),
    (17, "must be a string"),
    ("/tmp/a\x00b", "NUL"),
    ("/tmp/" + "x" * 300, "longer than 255 bytes"),
    ("/" + "a/" * 2100, "longer than 4096 bytes"),
    ("/", "filesystem root"),
])
def test_set_refuses_what_is_no_usable_path(ctx, value, reason):
    from services.output_base import set_output_base

    assert reason in _refused(set_output_base, value)


def test_set_refuses_a_file_and_other_data_folders(ctx, tmp_path):
    from services.output_base import output_base, set_output_base

    (tmp_path / "file.txt").write_text("x")
    assert "is a file, not a folder" in _refused(set_output_base, str(tmp_path / "file.txt"))
    assert "overlaps the uploads folder" in _refused(set_output_base, ctx.config["UPLOAD_FOLDER"])
    assert "overlaps the exports folder" in _refused(set_output_base, ctx.config["EXPORT_FOLDER"] + "/sub")
    assert "overlaps the" in _refused(set_output_base, str(tmp_path))  # holds the data folders
    assert output_base() == Path(ctx.config["OUTPUT_FOLDER"])  # nothing was stored


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_set_refuses_a_folder_that_cannot_be_created(ctx):
    """/proc refuses new entries even to root, so this runs everywhere (the chmod case below skips as root)."""
    from services.output_base import set_output_base

    assert "cannot be created" in _refused(set_output_base, "/proc/tunewright-outputs")


@as_root
def test_set_refuses_a_read_only_folder(ctx, tmp_path):
    from services.output_base import set_output_base

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "is not writable" in _refused(set_output_base, str(locked))
    finally:
        locked.chmod(0o700)


def test_changing_the_base_is_audited_in_accounts_mode(accounts_app, tmp_path):
    from services.auth import audit
    from services.output_base import set_output_base

    admin = add_user(accounts_app, "root", role="admin")
    context = acting_as(accounts_app, admin)
    try:
        chosen = set_output_base(str(tmp_path / "team-outputs"))
        [event] = audit.events(action="settings.output_base")
    finally:
        context.pop()
    assert event["actor"] == "root" and event["target"] == str(chosen)
    assert event["detail"]["previous"] == str(Path(accounts_app.config["OUTPUT_FOLDER"]).resolve())


# -- the probe ----------------------------------------------------------------------------------------------
def test_probe_leaves_no_file_behind_and_never_creates_folders(ctx, tmp_path):
    from services.output_base import probe_writable

    folder = tmp_path / "probe"
    folder.mkdir()
    assert probe_writable(folder) == (True, f"{folder} is writable.")
    assert list(folder.iterdir()) == []
    writable, detail = probe_writable(folder / "not" / "yet")
    assert writable and "does not exist yet" in detail and not (folder / "not").exists()
    assert list(folder.iterdir()) == []
    (folder / "f").write_text("x")
    assert probe_writable(folder / "f") == (False, f"{folder / 'f'} is a file, not a folder.")
    assert probe_writable(folder / "f" / "below")[0] is False


@as_root
def test_probe_reports_a_read_only_folder(ctx, tmp_path):
    from services.output_base import probe_writable

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        writable, detail = probe_writable(locked)
        assert not writable and "not writable" in detail
    finally:
        locked.chmod(0o700)


# -- resolve_output_dir -------------------------------------------------------------------------------------
def test_relative_absolute_and_default_folders_inside_the_base(ctx, custom):
    from services.output_base import resolve_output_dir

    assert resolve_output_dir("runs/first", None) == custom / "runs" / "first"
    assert (custom / "runs" / "first").is_dir()
    assert resolve_output_dir(str(custom / "abs"), None) == custom / "abs"
    assert resolve_output_dir(None, None, default_name="project-7") == custom / "project-7"
    assert resolve_output_dir("  ", None, default_name="project-8") == custom / "project-8"
    assert resolve_output_dir("later", None, create=False) == custom / "later"
    assert not (custom / "later").exists()
    assert _leftovers(custom) == []


def test_the_default_base_is_used_until_one_is_set(ctx):
    from services.output_base import resolve_output_dir

    assert resolve_output_dir("p1", None) == Path(ctx.config["OUTPUT_FOLDER"]) / "p1"


@pytest.mark.parametrize("requested, reason", [
    ("../escape", "holds '..'"),
    ("runs/../../escape", "holds '..'"),
    ("/etc", "lies outside"),
    (".", "not the area itself"),
    ("", "name a folder"),
    (None, "name a folder"),
    ("a\x00b", "NUL"),
    ("x" * 256, "longer than 255 bytes"),
    ("a/" * 2100, "longer than 4096 bytes"),
    (["list"], "must be a string"),
])
def test_resolve_refuses_with_the_reason(ctx, custom, requested, reason):
    from services.output_base import resolve_output_dir

    assert reason in _refused(resolve_output_dir, requested, None)


def test_resolve_refuses_the_default_folder_outside_the_base(ctx, custom, tmp_path):
    from services.output_base import resolve_output_dir

    assert "lies outside" in _refused(resolve_output_dir, str(tmp_path / "outside"), None)
    assert "lies outside" in _refused(resolve_output_dir, ctx.config["OUTPUT_FOLDER"] + "/p", None)
    assert "holds '..'" in _refused(resolve_output_dir, None, None, default_name="../p")


def test_resolve_refuses_a_file(ctx, custom):
    from services.output_base import resolve_output_dir

    (custom / "taken").write_text("x")
    assert "is a file, not a folder" in _refused(resolve_output_dir, "taken", None)
    assert "cannot be created" in _refused(resolve_output_dir, "taken/below", None)


def test_resolve_refuses_symlinks_that_lead_out_of_the_base(ctx, custom, tmp_path):
    from services.output_base import resolve_output_dir

    outside = tmp_path / "outside"
    outside.mkdir()
    (custom / "link").symlink_to(outside)
    (custom / "dangling").symlink_to(tmp_path / "nowhere")
    (custom / "inner").mkdir()
    (custom / "inner" / "up").symlink_to(custom.parent)
    for requested in ("link", "link/run", str(custom / "link" / "run"), "dangling/run", "inner/up/x"):
        assert "a symbolic link on the way points elsewhere" in _refused(resolve_output_dir, requested, None)
    assert list(outside.iterdir()) == [] and not (tmp_path / "nowhere").exists()
    (custom / "fine").mkdir()
    (custom / "inside-link").symlink_to(custom / "fine")
    assert resolve_output_dir("inside-link/run", None) == custom / "fine" / "run"


@as_root
def test_resolve_refuses_a_read_only_folder(ctx, custom):
    from services.output_base import resolve_output_dir

    locked = custom / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "is not writable" in _refused(resolve_output_dir, "locked", None)
        assert "cannot be created" in _refused(resolve_output_dir, "locked/run", None)
    finally:
        locked.chmod(0o700)


def test_each_user_has_an_area_of_their_own(accounts_app, tmp_path):
    from services.output_base import resolve_output_dir, set_output_base

    ada, bob = add_user(accounts_app, "ada"), add_user(accounts_app, "bob")
    with accounts_app.test_request_context("/"):
        base = set_output_base(str(tmp_path / "team"))
        mine = resolve_output_dir("run", ada)
        assert mine == base / f"u{ada}" / "run" and mine.is_dir()
        assert resolve_output_dir(str(base / f"u{ada}" / "abs"), ada) == base / f"u{ada}" / "abs"
        assert "lies outside" in _refused(resolve_output_dir, str(base / f"u{bob}" / "run"), ada)
        assert "lies outside" in _refused(resolve_output_dir, str(base / "shared"), ada)
        (base / f"u{ada}" / "peek").symlink_to(base / f"u{bob}")
        assert "points elsewhere" in _refused(resolve_output_dir, "peek/run", ada)


# -- output roots in use ------------------------------------------------------------------------------------
def test_a_session_under_a_custom_base_is_found(ctx, custom, tmp_path):
    from extensions import db
    from services.models import TrainingSession

    folder = custom / "u-less" / "s1custom"
    folder.mkdir(parents=True)
    stray = tmp_path / "stray" / "s2stray"
    stray.mkdir(parents=True)
    db.session.add_all([
        TrainingSession(id="s1custom", name="custom", config={}, status="completed", output_dir=str(folder),
                        last_logs=[]),
        TrainingSession(id="s2stray", name="stray", config={}, status="completed", output_dir=str(stray),
                        last_logs=[])])
    db.session.commit()
    service = ctx.extensions["tunewright.training"]
    assert service.session_folder(db.session.get(TrainingSession, "s1custom")) == folder
    # a folder outside every output root falls back to outputs/<id>, as before
    assert service.session_folder(db.session.get(TrainingSession, "s2stray")) == \
        Path(ctx.config["OUTPUT_FOLDER"]) / "s2stray"


def test_registry_and_monitor_see_the_custom_base(ctx, custom, tmp_path):
    from services.registry.versions import inside_data_folders
    from services.system_monitor import get_monitor

    (custom / "run").mkdir()
    assert inside_data_folders(custom / "run") == custom / "run"
    assert inside_data_folders(tmp_path / "elsewhere") is None
    assert str(custom) in get_monitor().data_folders
