"""What the hardware allows: GPU-only options are mapped to CPU-valid ones with a warning."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

GPU_ONLY_OPTIMIZERS = {"paged_adamw_32bit", "paged_adamw_8bit", "adamw_8bit"}


@dataclass
class Runtime:
    cuda: bool
    optim: str
    bf16: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.bf16 else torch.float32


def resolve_runtime(optim: str, bf16: bool, cuda: bool | None = None) -> Runtime:
    cuda = torch.cuda.is_available() if cuda is None else cuda
    warnings = []
    if not cuda and optim in GPU_ONLY_OPTIMIZERS:
        warnings.append(f"optimizer {optim!r} needs a GPU; using 'adamw_torch' on this CPU")
        optim = "adamw_torch"
    if bf16 and not (cuda and torch.cuda.is_bf16_supported()):
        warnings.append("bf16 needs a GPU that supports it; training in float32")
        bf16 = False
    return Runtime(cuda=cuda, optim=optim, bf16=bf16, warnings=warnings)
