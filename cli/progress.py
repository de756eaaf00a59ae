"""A tqdm bar per training phase (SFT, then GRPO) with the latest loss and reward beside it."""
from __future__ import annotations

import sys
import threading
from typing import Any

SHOWN = ("loss", "reward", "reward_std", "kl", "eval_loss")


class PhaseBars:
    """Fed from a database poll or from Socket.IO events (any thread); each phase gets its own bar."""

    def __init__(self, enabled: bool = True, file=None):
        self.enabled = enabled
        self.file = file or sys.stderr
        self._bar = None
        self._phase: str | None = None
        self._shown: dict | None = None
        self._lock = threading.Lock()

    def progress(self, phase: str | None, step: int | None, total: int | None) -> None:
        if not self.enabled or not phase:
            return
        with self._lock:
            self._switch(phase, total)
            if total and self._bar.total != total:
                self._bar.total = total
            if step is not None and step != self._bar.n:
                self._bar.n = min(step, total) if total else step
                self._bar.refresh()

    def metrics(self, phase: str | None, values: dict[str, Any]) -> None:
        if not self.enabled or not phase:
            return
        shown = {k: round(v, 4) for k in SHOWN if isinstance(v := values.get(k), (int, float)) and v is not None}
        if not shown:
            return
        with self._lock:
            if self._phase != phase or shown == self._shown:
                return  # a late row of the previous phase, or nothing new
            self._shown = shown
            self._bar.set_postfix(shown, refresh=True)

    def _switch(self, phase: str, total: int | None) -> None:
        if self._phase == phase:
            return
        if self._bar is not None:
            self._bar.close()
        from tqdm import tqdm

        self._phase = phase
        self._bar = tqdm(total=total, desc=phase, unit="step", file=self.file, dynamic_ncols=True, leave=True,
                         mininterval=0.2)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            self._phase = None
