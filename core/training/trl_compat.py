"""A plain-torch stand-in for TRL 1.15's Triton-only fused LM head, so SFTTrainer runs on a CPU-only torch.

TRL 1.15's SFTTrainer computes per-token log-probs through
``trl.kernels.ChunkedLogProbFunction``, which imports Triton; the CPU build of
torch ships no Triton, so the import fails, TRL sets the symbol to ``None`` and
the first SFT step dies with "'NoneType' object has no attribute 'apply'".
TRL 1.16 adds its own torch fallback, but Unsloth pins ``trl<=1.15``, and our
core pins must stay installable beside Unsloth. So, only when TRL's kernel is
missing, we install this function: the same maths (scale, optional softcap,
temperature, log-softmax), computed with autograd on the full logits of the
completion tokens. It materialises [tokens, vocab] logits, which is fine at
CPU batch sizes. Remove with the move to TRL >= 1.16.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class TorchChunkedLogProb:
    """Same call signature and outputs as ``trl.kernels.ChunkedLogProbFunction.apply``."""

    @staticmethod
    def apply(hidden, weight, bias, targets, temperature, chunk_size, final_logit_softcapping=None,
              logit_scale=1.0, outputs=("log_probs",)):
        logits = F.linear(hidden, weight, bias).float() * logit_scale
        if final_logit_softcapping is not None:
            logits = final_logit_softcapping * torch.tanh(logits / final_logit_softcapping)
        logits = logits / temperature
        log_z = torch.logsumexp(logits, dim=-1)
        target_logits = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        log_probs = target_logits - log_z
        entropy = log_sum_sq = mean_logits = is_top1 = None
        if "entropy" in outputs:
            probs = torch.softmax(logits, dim=-1)
            entropy = log_z - (probs * logits).sum(-1)
        with torch.no_grad():
            if "log_sum_sq_probs" in outputs:
                log_sum_sq = torch.logsumexp(2 * logits, dim=-1) - 2 * log_z
            if "mean_logits" in outputs:
                mean_logits = logits.mean(-1)
            if "is_top1" in outputs:
                is_top1 = logits.argmax(-1) == targets
        return log_probs, entropy, log_sum_sq, mean_logits, is_top1


def ensure_fused_head_fallback() -> bool:
    """Install the torch fallback if TRL's Triton kernel could not be imported; True when installed."""
    import trl.trainer.utils as trl_utils

    if getattr(trl_utils, "_ChunkedLogProbFunction", True) is None:
        trl_utils._ChunkedLogProbFunction = TorchChunkedLogProb
        return True
    return False
