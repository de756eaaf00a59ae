"""OR-GRPO: outlier-robust group advantages on top of TRL's GRPOTrainer.

GRPO's advantage is ``(r - mean(group)) / std(group)``: one wild reward (a
buggy scorer returning 1000, a judge's fluke) shifts the mean and inflates the
std, flattening every other completion's signal. OR-GRPO uses robust
statistics instead. For each group of G weighted total rewards r:

    center = median(r)
    scale  = 1.4826 * MAD(r), MAD = median(|r - center|)      (= sigma for normal data)
             if that is 0 (more than half the group ties): 1.2533 * mean(|r - center|)
             if that is 0 too (all equal): advantages are 0
    A      = clip((r - center) / (scale + 1e-4), -c, +c)       c = grpo.robust_clip (default 3)

An outlier gets at most c, and the rest keep the spread they would have had
without it. With binary rewards where most of the group fails, failures sit at
the median and get 0 (no push down) while the rare success gets a positive
advantage, as with a median baseline. Everything else (loss, clipping, KL,
logging of the raw rewards) is TRL's.
"""
from __future__ import annotations

import torch
from trl import GRPOTrainer

MAD_TO_SIGMA = 1.4826
MEAN_ABS_TO_SIGMA = 1.2533


def robust_advantages(rewards: torch.Tensor, group_size: int, clip: float = 3.0) -> torch.Tensor:
    """Advantages for a flat tensor of total rewards laid out group after group (NaN = unscorable -> 0)."""
    grouped = rewards.view(-1, group_size)
    center = torch.nanmedian(grouped, dim=1, keepdim=True).values
    deviation = (grouped - center).abs()
    scale = MAD_TO_SIGMA * torch.nanmedian(deviation, dim=1, keepdim=True).values
    fallback = MEAN_ABS_TO_SIGMA * torch.nanmean(deviation, dim=1, keepdim=True)
    scale = torch.where(scale > 1e-8, scale, fallback)
    advantages = torch.where(scale > 1e-8, (grouped - center) / (scale + 1e-4), torch.zeros_like(grouped))
    advantages = advantages.clamp(-clip, clip)
    return torch.nan_to_num(advantages, nan=0.0).view(-1)


class RobustGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages come from :func:`robust_advantages`.

    TRL computes advantages inline in ``_generate_and_score_completions``; we
    keep the gathered rewards from ``_calculate_rewards`` and replace the
    advantages in its output, so no TRL code is copied.
    """

    def __init__(self, *args, robust_clip: float = 3.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.robust_clip = robust_clip
        self._last_rewards_per_func: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        rewards_per_func = self._last_rewards_per_func
        mode = "train" if self.model.training else "eval"
        group = self.num_generations if mode == "train" else self.num_generations_eval
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        totals = (rewards_per_func * weights).nansum(dim=1)
        totals[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
        advantages = robust_advantages(totals, group, self.robust_clip)
        local = len(output["advantages"])
        start = self.accelerator.process_index * local
        output["advantages"] = advantages[start:start + local].to(output["advantages"].device)
        self._metrics[mode]["or_grpo/clipped_frac"].append((advantages.abs() >= self.robust_clip).float().mean().item())
        return output
