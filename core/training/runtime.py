"""What the hardware allows: GPU-only options are mapped to CPU-valid ones with a warning, and CPU mixed
precision is switched on where the CPU computes bfloat16 natively."""
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
    cpu_amp: bool = False  # bf16 autocast on the CPU: weights, LoRA and optimizer state stay float32

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.bf16 else torch.float32

    @property
    def trainer_bf16(self) -> bool:
        """TrainingArguments.bf16: on a CPU (``use_cpu``) accelerate turns it into ``torch.autocast("cpu")``."""
        return self.bf16 or self.cpu_amp


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: there oneDNN runs bf16 matmuls about twice as fast as float32 (bench/rollouts.py,
    the GRPO loss forward and backward 6.1 s -> 3.0 s on a 2-core AVX512-BF16 machine). Elsewhere bf16 is
    emulated and slower than float32, so ``auto`` leaves it off."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def resolve_runtime(optim: str, bf16: bool, cuda: bool | None = None, cpu_autocast: str = "off") -> Runtime:
    cuda = torch.cuda.is_available() if cuda is None else cuda
    warnings = []
    if not cuda and optim in GPU_ONLY_OPTIMIZERS:
        warnings.append(f"optimizer {optim!r} needs a GPU; using 'adamw_torch' on this CPU")
        optim = "adamw_torch"
    if bf16 and not (cuda and torch.cuda.is_bf16_supported()):
        warnings.append("bf16 needs a GPU that supports it; training in float32"
                        + (" (with bf16 autocast: training.cpu_autocast)" if cpu_autocast != "off" else ""))
        bf16 = False
    cpu_amp = not cuda and (cpu_autocast == "bf16" or (cpu_autocast == "auto" and cpu_has_native_bf16()))
    if not cuda and cpu_autocast == "bf16" and not cpu_has_native_bf16():
        warnings.append("this CPU has no native bfloat16 (AVX512-BF16 or AMX): bf16 autocast is emulated and slow")
    return Runtime(cuda=cuda, optim=optim, bf16=bf16, warnings=warnings, cpu_amp=cpu_amp)
