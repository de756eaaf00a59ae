"""System sampling works with zero GPUs and answers over HTTP."""
from __future__ import annotations

import shutil

from services.system_monitor import read_gpus

GPU_FIELDS = {"index", "name", "utilization", "memory_used", "memory_total", "temperature"}


def check_sample(sample: dict) -> None:
    for key in ("cpu", "memory", "disk"):
        assert 0.0 <= sample[key] <= 100.0
    assert sample["memory_total"] > sample["memory_used"] > 0
    assert sample["disk_total"] > 0
    assert isinstance(sample["gpus"], list)
    for gpu in sample["gpus"]:
        assert set(gpu) == GPU_FIELDS
        assert 0 <= gpu["memory_used"] <= gpu["memory_total"]


def test_status_endpoint_returns_a_sample(client):
    response = client.get("/api/system/status")
    assert response.status_code == 200
    check_sample(response.json)


def test_gpu_count_matches_nvidia_smi():
    gpus = read_gpus()
    if shutil.which("nvidia-smi") is None:
        assert gpus == []  # this machine: no GPU, no crash
    else:
        import subprocess

        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip().splitlines()
        assert len(gpus) == len(listed)
