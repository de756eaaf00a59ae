"""Reward health: alerts computed from a GRPO run's metric rows (pure; the service stores and emits them).

Thresholds (documented here and returned by ``GET /api/rewards/health/<session>``):
- no_signal: ``reward_std`` ≤ 1e-6 for ``zero_std_steps`` logged steps in a row: every completion of every
  group scored alike, so advantages and the policy gradient are zero.
- flat_reward: the mean reward moved less than ``flat_delta`` over the last ``flat_steps`` steps.
- truncation: ``completions/clipped_ratio`` ≥ ``clipped_ratio`` on average over the last 5 steps: completions
  hit max_new_tokens before they end.
- kl_rising: ``kl`` above ``kl_floor`` and at least ``kl_growth`` × its value ``kl_window`` steps earlier.
- entropy_collapse: ``entropy`` below ``entropy_drop`` × its first GRPO value: sampling became deterministic.
- missing_field: a component's ``rewards/<name>/mean`` is empty (all samples None) for ``missing_steps`` steps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    zero_std_steps: int = 4
    flat_steps: int = 20
    flat_delta: float = 0.01
    clipped_ratio: float = 0.5
    kl_floor: float = 0.1
    kl_growth: float = 3.0
    kl_window: int = 10
    entropy_drop: float = 0.25
    missing_steps: int = 3


DEFAULT_THRESHOLDS = Thresholds()


def thresholds_dict(t: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    return asdict(t)


def _series(rows: list[dict], key: str) -> list[float | None]:
    return [r.get(key) if isinstance(r.get(key), (int, float)) else None for r in rows]


def _alert(code: str, step: int, value: Any, message: str, hint: str, component: str | None = None) -> dict:
    return {"code": code, "component": component, "step": step, "value": value, "message": message, "hint": hint}


def reward_alerts(rows: list[dict], t: Thresholds = DEFAULT_THRESHOLDS) -> list[dict[str, Any]]:
    """The alerts that hold at the latest GRPO row (``rows``: metric rows with ``phase`` and ``step``)."""
    rows = [r for r in rows if r.get("phase", "grpo") == "grpo" and "reward" in r]
    if not rows:
        return []
    step = rows[-1].get("step", len(rows))
    alerts = []
    std = _series(rows, "reward_std")
    tail = std[-t.zero_std_steps:]
    if len(tail) == t.zero_std_steps and all(v is not None and v <= 1e-6 for v in tail):
        alerts.append(_alert("no_signal", step, 0.0,
                             f"Reward std has been 0 for {t.zero_std_steps} steps: every completion scores the same, "
                             "so GRPO has nothing to learn from.",
                             "Use a reward with partial credit (e.g. add 'format' or a length range), raise the "
                             "temperature or num_generations, or check that the reward's fields exist."))
    mean = [v for v in _series(rows, "reward")[-t.flat_steps:] if v is not None]
    if len(rows) >= t.flat_steps and len(mean) == t.flat_steps and max(mean) - min(mean) < t.flat_delta and \
            not any(a["code"] == "no_signal" for a in alerts):
        alerts.append(_alert("flat_reward", step, max(mean) - min(mean),
                             f"Mean reward moved less than {t.flat_delta} over {t.flat_steps} steps.",
                             "Raise the learning rate, check the reward varies within a group (Rewards step test), "
                             "or stop: the run may have converged."))
    clipped = [v for v in _series(rows, "completions/clipped_ratio")[-5:] if v is not None]
    if clipped and sum(clipped) / len(clipped) >= t.clipped_ratio:
        alerts.append(_alert("truncation", step, sum(clipped) / len(clipped),
                             f"{sum(clipped) / len(clipped):.0%} of completions hit max_new_tokens (truncated).",
                             "Raise training.max_new_tokens, or reward shorter answers (a 'length' component)."))
    kl = _series(rows, "kl")
    if len(kl) > t.kl_window and kl[-1] is not None and kl[-1] > t.kl_floor:
        before = kl[-1 - t.kl_window]
        if before is not None and kl[-1] >= t.kl_growth * max(before, 1e-9):
            alerts.append(_alert("kl_rising", step, kl[-1],
                                 f"KL rose from {before:.3g} to {kl[-1]:.3g} in {t.kl_window} steps: the policy is "
                                 "drifting fast from the reference.",
                                 "Lower the learning rate or raise grpo.kl_penalty (beta)."))
    entropy = [v for v in _series(rows, "entropy") if v is not None]
    if len(entropy) >= 3 and entropy[0] > 0 and entropy[-1] < t.entropy_drop * entropy[0]:
        alerts.append(_alert("entropy_collapse", step, entropy[-1],
                             f"Entropy fell from {entropy[0]:.3g} to {entropy[-1]:.3g}: sampling has become almost "
                             "deterministic, so groups stop differing.",
                             "Raise the temperature, lower the learning rate, or add a diversity reward."))
    names = sorted({k.split("/")[1] for r in rows for k in r if k.startswith("rewards/") and k.endswith("/mean")})
    for name in names:
        recent = [r.get(f"rewards/{name}/mean") for r in rows[-t.missing_steps:]]
        if len(recent) == t.missing_steps and all(v is None for v in recent):
            alerts.append(_alert("missing_field", step, None,
                                 f"Reward '{name}' returned None for every sample in the last {t.missing_steps} steps "
                                 "(a dataset field it needs is missing, or it fails).",
                                 "Map the field it needs in the Dataset step, fix its parameters or code, or remove "
                                 "it.", component=name))
    return alerts
