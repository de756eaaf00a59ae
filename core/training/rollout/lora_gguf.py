"""The live PEFT LoRA weights as a llama.cpp GGUF adapter, written in memory-speed every GRPO step.

llama.cpp's ``convert_lora_to_gguf.py`` (see :func:`core.gguf_tools.convert_lora_to_gguf`) is the reference,
but it reloads the base model's config and the adapter from disk and takes seconds; the rollout policy has
to follow the trained one every step, so this module writes the same file straight from the tensors in
memory with ``gguf.GGUFWriter`` (tens of milliseconds). What it must reproduce from the converter, for the
architectures listed in :data:`ARCHS`:

* tensor names: the base GGUF name (``blk.N.attn_q.weight``, via gguf-py's own name map) + ``.lora_a`` /
  ``.lora_b``; metadata ``general.type=adapter``, ``adapter.type=lora``, ``adapter.lora.alpha``;
* the Q/K row permutation the Llama converter applies to the base weights (rotary layout), applied to
  ``lora_B`` (its output rows) so that ``B @ A`` lines up with the permuted base;
* float16 matrices (the converter's default ``--outtype f16``) or float32.

``tests/core/training/test_rollout_llama_cpp.py`` checks the output tensor for tensor against the converter.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

# transformers model_type -> (GGUF architecture name, whether the converter permutes Q/K rows).
ARCHS = {"llama": ("llama", True), "mistral": ("llama", True), "qwen2": ("qwen2", False),
         "qwen3": ("qwen3", False)}

_LORA = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<which>[AB])\.(?P<adapter>[^.]+)\.weight$")


# GGUFWriter logs every file at INFO; this one is written every step and would fill the session log.
logging.getLogger("gguf.gguf_writer").setLevel(logging.WARNING)


class LiveAdapterUnsupported(ValueError):
    """The model or adapter has a shape this writer does not reproduce; use the transformers engine."""


def supported_reason(model_type: str) -> str | None:
    """None when a live GGUF adapter can be written for this architecture, else why not."""
    if model_type not in ARCHS:
        return (f"the llama.cpp rollout engine supports {', '.join(sorted(ARCHS))} models; "
                f"this one is {model_type!r}")
    return None


def _permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    # The same reshuffle as llama.cpp's LlamaModel.permute (rotary halves interleaved), on the rows only.
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


class LoraGGUFWriter:
    """Writes one model's adapter again and again; the name map is built once."""

    def __init__(self, model_config, adapter_name: str = "default"):
        import gguf

        model_type = getattr(model_config, "model_type", "")
        reason = supported_reason(model_type)
        if reason:
            raise LiveAdapterUnsupported(reason)
        self.arch, self.permute = ARCHS[model_type]
        arch_enum = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == self.arch)
        self.name_map = gguf.get_tensor_name_map(arch_enum, model_config.num_hidden_layers)
        self.n_head = model_config.num_attention_heads
        self.n_kv_head = getattr(model_config, "num_key_value_heads", None) or self.n_head
        self.adapter_name = adapter_name

    def _gguf_name(self, module: str) -> str:
        name = self.name_map.get_name(module + ".weight", try_suffixes=(".weight",))
        if name is None:
            raise LiveAdapterUnsupported(f"no llama.cpp tensor corresponds to the LoRA target {module!r}")
        return name

    def tensors(self, peft_model, dtype=np.float16) -> list[tuple[str, np.ndarray]]:
        """(GGUF name, array) for every LoRA matrix of the adapter, in a stable (name) order."""
        pairs: dict[str, dict[str, np.ndarray]] = {}
        for name, param in peft_model.named_parameters():
            match = _LORA.match(name)
            if not match or match["adapter"] != self.adapter_name:
                if "lora_embedding" in name:
                    raise LiveAdapterUnsupported("LoRA on the embeddings is not supported by the live writer")
                continue
            pairs.setdefault(match["module"], {})[match["which"]] = param.detach().float().cpu().numpy()
        out = []
        for module, ab in pairs.items():
            base = self._gguf_name(module)
            lora_a, lora_b = ab["A"], ab["B"]
            if self.permute and module.endswith("q_proj"):
                lora_b = _permute_rows(lora_b, self.n_head)
            elif self.permute and module.endswith("k_proj"):
                lora_b = _permute_rows(lora_b, self.n_kv_head)
            out.append((base + ".lora_a", np.ascontiguousarray(lora_a, dtype=dtype)))
            out.append((base + ".lora_b", np.ascontiguousarray(lora_b, dtype=dtype)))
        if not out:
            raise LiveAdapterUnsupported(f"the model holds no LoRA weights for adapter {self.adapter_name!r}")
        return sorted(out, key=lambda item: item[0])

    def alpha(self, peft_model) -> float:
        """llama.cpp scales by alpha / r; PEFT's rsLoRA scales by alpha / sqrt(r): write the alpha that gives
        PEFT's scaling."""
        config = peft_model.peft_config[self.adapter_name]
        alpha = float(config.lora_alpha)
        return alpha * (config.r ** 0.5) if getattr(config, "use_rslora", False) else alpha

    def write(self, peft_model, outfile: str | os.PathLike, outtype: str = "f16") -> Path:
        """Write the adapter atomically (a reader never sees half a file)."""
        import gguf

        dtype = {"f16": np.float16, "f32": np.float32}[outtype]
        outfile = Path(outfile)
        outfile.parent.mkdir(parents=True, exist_ok=True)
        partial = outfile.with_name(outfile.name + ".partial")
        writer = gguf.GGUFWriter(str(partial), self.arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, self.alpha(peft_model))
        for name, array in self.tensors(peft_model, dtype):
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(partial, outfile)
        return outfile
