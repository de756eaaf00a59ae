"""core/training/failures.py and the checkpoint completeness rule: the words a resource death is reported in, and
which checkpoint folders count as written. The real faults are in tests/reliability/test_faults.py."""
from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from core.export.sources import checkpoints
from core.training.failures import (exit_message, failure_message, format_size, is_out_of_memory, parse_size)
from core.training.paths import SessionPaths, checkpoint_complete, incomplete_checkpoints, latest_checkpoint


@pytest.mark.parametrize("text, size", [("4G", 4 * 1024**3), ("512M", 512 * 1024**2), ("1.5GiB", 1536 * 1024**2),
                                        ("800000k", 800000 * 1024), (str(2**31), 2**31), ("", None), ("0", None),
                                        (None, None), (3 * 1024**3, 3 * 1024**3)])
def test_memory_limits_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "4X", "-1G", "512"])  # "512": bytes, surely meant 512M
def test_a_bad_memory_limit_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="size|needs far more"):
        parse_size(text)


def test_the_app_refuses_a_bad_limit_at_start(test_config):
    from app_factory import create_app

    with pytest.raises(RuntimeError, match="TUNEWRIGHT_TRAINING_MEMORY_LIMIT"):
        create_app({**test_config, "TRAINING_MEMORY_LIMIT": "four gigs"})


def test_out_of_memory_in_any_library_words_becomes_one_message():
    torch_style = RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory")
    assert is_out_of_memory(MemoryError()) and is_out_of_memory(torch_style)
    assert is_out_of_memory(ImportError("libtorch_cpu.so: failed to map segment from shared object"))
    assert not is_out_of_memory(ValueError("the dataset has no usable rows"))
    message = failure_message(torch_style, memory_limit=4 * 1024**3)
    assert message.startswith("The training process ran out of memory (limit 4.0 GiB, TUNEWRIGHT_TRAINING_MEMORY_LIMIT)")
    assert "can't allocate memory" in message and "batch" in message
    assert failure_message(ValueError("bad rows")) == "ValueError: bad rows"


def test_a_full_disk_is_named_whatever_raised_it(tmp_path):
    os_error = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "optimizer.pt"))
    message = failure_message(os_error, output_dir=tmp_path)
    assert message.startswith("The disk is full") and "optimizer.pt" in message and "resume" in message
    wrapped = RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: \"No space "
                           "left on device\" })")  # safetensors
    assert failure_message(wrapped, output_dir=tmp_path).startswith("The disk is full")
    try:
        try:
            raise os_error
        except OSError as inner:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed") from inner
    except RuntimeError as outer:
        assert failure_message(outer, output_dir=tmp_path).startswith("The disk is full")
    # A write error on a disk with room is not called a full disk.
    assert failure_message(RuntimeError("file write failed"), output_dir=tmp_path) == \
        "RuntimeError: file write failed"


def test_a_native_crash_under_a_memory_limit_is_called_out_of_memory():
    assert exit_message(-9, "SIGKILL: killed", None) == "The training process exited with code -9 (SIGKILL: killed)."
    assert exit_message(-6, "SIGABRT: aborted", 2 * 1024**3).startswith(
        "The training process ran out of memory (limit 2.0 GiB)")
    assert format_size(1536 * 1024**2) == "1.5 GiB"


def _checkpoint(folder: Path, state: str | None = '{"global_step": 2}', weights: bytes = b"w") -> Path:
    folder.mkdir(parents=True)
    if weights is not None:
        (folder / "adapter_model.safetensors").write_bytes(weights)
    if state is not None:
        (folder / "trainer_state.json").write_text(state)
    return folder


def test_only_fully_written_checkpoints_count(tmp_path):
    paths = SessionPaths(tmp_path)
    good = _checkpoint(paths.grpo_checkpoints / "checkpoint-2")
    torn_state = _checkpoint(paths.grpo_checkpoints / "checkpoint-3", state='{"global_step": 3, "log_hi')
    no_state = _checkpoint(paths.grpo_checkpoints / "checkpoint-4", state=None)
    no_weights = _checkpoint(paths.grpo_checkpoints / "checkpoint-5", weights=b"")
    assert checkpoint_complete(good)
    assert not any(checkpoint_complete(p) for p in (torn_state, no_state, no_weights))
    assert latest_checkpoint(paths.grpo_checkpoints) == good
    assert checkpoints(tmp_path) == [good]  # what export and the Test step offer
    assert incomplete_checkpoints(paths) == [torn_state, no_state, no_weights]
    assert json.loads((good / "trainer_state.json").read_text())["global_step"] == 2
