"""Samples CPU, memory, data-folder disk and NVIDIA GPUs. Works with zero GPUs.

GPUs are read through NVML (nvidia-ml-py), which answers in microseconds and
gives temperatures; GPUtil (which shells out to `nvidia-smi`) is the fallback
when NVML cannot be loaded but the tool exists.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import psutil
from flask import current_app

log = logging.getLogger(__name__)


def _nvml_gpus() -> list[dict] | None:
    """Every GPU through NVML, or None when NVML is not usable here (no driver, no GPU)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound / DriverNotLoaded on machines without a GPU
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            utilization = pynvml.nvmlDeviceGetUtilizationRates(handle)
            try:
                temperature = pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)
            except pynvml.NVMLError:
                temperature = None
            gpus.append({
                "index": index,
                "name": name.decode() if isinstance(name, bytes) else name,
                "utilization": float(utilization.gpu),
                "memory_used": int(memory.used) // 2**20,
                "memory_total": int(memory.total) // 2**20,
                "temperature": temperature,
            })
        return gpus
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _gputil_gpus() -> list[dict]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        import GPUtil

        return [{
            "index": gpu.id,
            "name": gpu.name,
            "utilization": round(gpu.load * 100, 1),
            "memory_used": int(gpu.memoryUsed),
            "memory_total": int(gpu.memoryTotal),
            "temperature": gpu.temperature,
        } for gpu in GPUtil.getGPUs()]
    except Exception:
        log.warning("GPUtil could not read the GPUs", exc_info=True)
        return []


def read_gpus() -> list[dict]:
    """GPU stats (memory in MiB, utilisation in %, temperature in °C); [] without GPUs."""
    gpus = _nvml_gpus()
    return gpus if gpus is not None else _gputil_gpus()


class SystemMonitor:
    """One sampler per app; ``sample()`` is cheap enough to call from a request."""

    def __init__(self, data_folders: list[str]):
        self.data_folders = data_folders
        self._lock = threading.Lock()
        psutil.cpu_percent(interval=None)  # prime: the first non-blocking reading is always 0.0

    def _disk(self) -> dict:
        # The folders usually share one filesystem; report the one with the least free space.
        usages = [psutil.disk_usage(folder) for folder in self.data_folders if Path(folder).exists()]
        usage = min(usages, key=lambda u: u.free) if usages else psutil.disk_usage("/")
        return {"percent": usage.percent, "used": usage.used, "free": usage.free, "total": usage.total}

    def sample(self) -> dict:
        with self._lock:
            memory = psutil.virtual_memory()
            disk = self._disk()
            return {
                "timestamp": time.time(),
                "cpu": psutil.cpu_percent(interval=None),
                "cpu_count": psutil.cpu_count(),
                "memory": memory.percent,
                "memory_used": memory.total - memory.available,
                "memory_total": memory.total,
                "disk": disk["percent"],
                "disk_free": disk["free"],
                "disk_total": disk["total"],
                "gpus": read_gpus(),
            }


def data_folders() -> list[str]:
    """The folders whose disk is reported: uploads, every output root (a custom output base too), exports."""
    from sqlalchemy.exc import SQLAlchemyError

    from extensions import db
    from services.output_base import output_roots

    try:
        outputs = [str(root) for root in output_roots()]
    except SQLAlchemyError:  # the factory builds the monitor before the first migration: no base is set yet
        db.session.rollback()
        outputs = [current_app.config["OUTPUT_FOLDER"]]
    return [current_app.config["UPLOAD_FOLDER"], *outputs, current_app.config["EXPORT_FOLDER"]]


def get_monitor() -> SystemMonitor:
    """The app's monitor, created on first use (not in the factory: psutil priming is I/O)."""
    monitor = current_app.extensions.get("tunewright.system_monitor")
    if monitor is None:
        monitor = current_app.extensions.setdefault("tunewright.system_monitor", SystemMonitor(data_folders()))
    return monitor


def refresh_data_folders() -> None:
    """Called when the output base changes: the running monitor reports the new base's disk too."""
    monitor = current_app.extensions.get("tunewright.system_monitor")
    if monitor is not None:
        monitor.data_folders = data_folders()
