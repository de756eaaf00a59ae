"""Reward-health alerts from metric rows, each at its documented threshold."""
from __future__ import annotations

from core.rewards.health import DEFAULT_THRESHOLDS as T, reward_alerts


def rows(n, **series):
    out = []
    for i in range(n):
        row = {"phase": "grpo", "step": i + 1, "reward": 0.5 + 0.01 * i, "reward_std": 0.2}
        for key, values in series.items():
            row[key] = values(i) if callable(values) else values
        out.append(row)
    return out


def codes(metric_rows):
    return {a["code"] for a in reward_alerts(metric_rows)}


def test_a_healthy_run_has_no_alerts():
    assert codes(rows(30, kl=0.01, entropy=1.0, **{"completions/clipped_ratio": 0.1, "rewards/format/mean": 0.5})) \
        == set()


def test_zero_std_for_the_threshold_steps():
    assert "no_signal" in codes(rows(T.zero_std_steps, reward_std=0.0))
    assert "no_signal" not in codes(rows(T.zero_std_steps - 1, reward_std=0.0))
    assert "no_signal" not in codes(rows(10, reward_std=lambda i: 0.0 if i % 2 else 0.1))


def test_flat_mean_truncation_kl_entropy_and_missing_fields():
    assert "flat_reward" in codes(rows(T.flat_steps, reward=0.4))
    assert "truncation" in codes(rows(5, **{"completions/clipped_ratio": 0.8}))
    assert "kl_rising" in codes(rows(15, kl=lambda i: 0.002 * (i + 1) ** 2))
    assert "entropy_collapse" in codes(rows(6, entropy=lambda i: 2.0 if i == 0 else 0.1))
    missing = reward_alerts(rows(5, **{"rewards/correctness/mean": None, "rewards/format/mean": 0.5}))
    assert [(a["code"], a["component"]) for a in missing] == [("missing_field", "correctness")]
    assert all(a["hint"] for a in missing)


def test_sft_rows_are_ignored():
    assert reward_alerts([{"phase": "sft", "step": 1, "loss": 1.0}]) == []
