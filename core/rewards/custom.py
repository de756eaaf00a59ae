"""A user's reward code as a TRL reward function: every call goes to the sandbox, never into this interpreter."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from core.rewards.base import RewardAborted, Sample, Score, Scored, samples_from_batch

log = logging.getLogger(__name__)

FAILED_BATCHES_LIMIT = 3  # batches in a row where every sample failed before a training run stops


class CodeReward:
    """``reward(prompt, completion, **fields) -> float | None`` run in the sandbox. A sample whose call raises,
    hangs or returns a non-number scores ``None``; the first traceback of a batch is logged (the Train page
    shows logs), and ``FAILED_BATCHES_LIMIT`` batches in a row with no score at all raise :class:`RewardAborted`."""

    def __init__(self, name: str, code: str, timeout_seconds: float = 2.0):
        self.__name__ = name
        self.code = code
        self.timeout_seconds = timeout_seconds
        self.failed_batches = 0

    def __getstate__(self):
        return {"name": self.__name__, "code": self.code, "timeout_seconds": self.timeout_seconds}

    def __setstate__(self, state):
        self.__init__(state["name"], state["code"], state["timeout_seconds"])

    def explain(self, samples: Sequence[Sample]) -> list[Scored]:
        from core.sandbox import SandboxUnavailable, shared_sandbox

        items = [{"prompt": s.prompt, "completion": s.completion, "fields": dict(s.fields)} for s in samples]
        try:
            return shared_sandbox(self.code, self.timeout_seconds).run(items)
        except SandboxUnavailable as exc:
            raise RewardAborted(f"custom reward {self.__name__!r} cannot run: {exc}") from None

    def __call__(self, prompts, completions, **columns) -> list[Score]:
        results = self.explain(samples_from_batch(prompts, completions, columns))
        errors = [error for score, error in results if score is None and error]
        if errors:
            log.warning("custom reward %r: %d of %d samples scored None; first error:\n%s", self.__name__,
                        len(errors), len(results), errors[0])
        all_failed = bool(results) and len(errors) == len(results) and \
            not all(e.startswith("returned None") for e in errors)  # None on purpose is "not applicable"
        self.failed_batches = self.failed_batches + 1 if all_failed else 0
        if self.failed_batches >= FAILED_BATCHES_LIMIT:
            raise RewardAborted(f"custom reward {self.__name__!r} failed on every sample of {self.failed_batches} "
                                f"batches in a row, so the run stopped; last error: {errors[-1].strip()[-600:]}")
        return [score for score, _ in results]
