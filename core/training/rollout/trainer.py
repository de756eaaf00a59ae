"""What a custom rollout engine adds to TRL's GRPOTrainer: the sampler/trainer log-prob gap and its correction.

TRL 1.15 measures the gap between the sampling engine's and the trainer's log-probabilities, and corrects
the loss for it with importance sampling, only on its vLLM path (``use_vllm``). A ``rollout_func`` engine
returns the same per-token sampling log-probs, so the same correction applies; this mixin provides it at no
extra forward pass. With one iteration per generation TRL skips the "old" log-prob forward, and the
policy's log-probs of the sampled tokens are those the loss computes anyway: we read them as they come out
of ``_get_per_token_logps_and_entropies`` inside the loss, and before the loss reads the advantages.

* metrics ``sampling/sampling_logp_difference/{mean,max}`` (mean |logprob difference| per token, TRL's
  names), ``sampling/importance_sampling_ratio/{min,mean,max}``;
* truncated importance sampling per token (TRL's ``token_truncate`` mode): the policy-gradient term of each
  token is weighted by ``min(exp(logp_trainer - logp_engine), clip_max)``. Because every loss type here is
  linear in the advantage and the weight is positive, weighting the advantage equals TRL's weighting of the
  per-token loss (the KL term is left unweighted, as TRL does).
"""
from __future__ import annotations

import time

import torch


class RolloutTimingMixin:
    """``rollout/seconds``: the wall time of sampling a batch (tokenising, generating, decoding), whatever the
    engine, so a user and ``bench/rollouts.py`` can compare engines on the same metric."""

    def _generate(self, prompts):
        started = time.perf_counter()
        output = super()._generate(prompts)
        self._metrics["train" if self.model.training else "eval"]["rollout/seconds"].append(
            time.perf_counter() - started)
        return output


class SampledLogprobsMixin:
    rollout_is_correction: bool = True
    rollout_is_clip_max: float = 3.0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        use = "sampling_per_token_logps" in inputs and not getattr(self, "use_vllm", False)
        self._rollout_inputs = inputs if use else None
        try:
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        finally:
            self._rollout_inputs = None

    def _get_per_token_logps_and_entropies(self, *args, **kwargs):
        output = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        inputs = getattr(self, "_rollout_inputs", None)
        if inputs is not None and kwargs.get("compute_entropy"):  # the call from inside the loss
            self._rollout_inputs = None
            self._correct_for_sampler(inputs, output[0].detach())
        return output

    def _correct_for_sampler(self, inputs: dict, policy_logps: torch.Tensor) -> None:
        sampled = inputs["sampling_per_token_logps"].to(policy_logps.dtype)
        old = inputs.get("old_per_token_logps")
        old = policy_logps if old is None else old
        mask = inputs["completion_mask"].bool()
        if "tool_mask" in inputs:
            mask = mask & inputs["tool_mask"].bool()
        diff = torch.nan_to_num((old - sampled) * mask, nan=0.0)
        mode = "train" if self.model.training else "eval"
        delta = diff.abs()[mask]
        if delta.numel():
            self._metrics[mode]["sampling/sampling_logp_difference/mean"].append(delta.mean().item())
            self._metrics[mode]["sampling/sampling_logp_difference/max"].append(delta.max().item())
        if not self.rollout_is_correction:
            return
        ratio = torch.exp(diff).clamp(max=self.rollout_is_clip_max)
        flat = ratio[mask]
        if flat.numel():
            self._metrics[mode]["sampling/importance_sampling_ratio/min"].append(flat.min().item())
            self._metrics[mode]["sampling/importance_sampling_ratio/mean"].append(flat.mean().item())
            self._metrics[mode]["sampling/importance_sampling_ratio/max"].append(flat.max().item())
        # Keep the uncorrected advantages: a buffered batch reused by a later iteration is corrected afresh.
        base = inputs.setdefault("_advantages_before_sampler_is", inputs["advantages"])
        inputs["advantages"] = (base.unsqueeze(1) if base.dim() == 1 else base) * ratio


def with_rollout_mixins(trainer_cls: type, sampler_correction: bool) -> type:
    """``trainer_cls`` (GRPOTrainer or a subclass) with the rollout timing, and for a ``rollout_func`` engine
    the sampler correction, in front."""
    mixins = (RolloutTimingMixin, SampledLogprobsMixin) if sampler_correction else (RolloutTimingMixin,)
    return type(f"Rollout{trainer_cls.__name__}", (*mixins, trainer_cls), {})
