"""LoRA adapter export: the PEFT adapter as trained, plus, for Ollama, the same adapter as a GGUF adapter and
a Modelfile that puts it on the base model's Ollama library tag (``FROM smollm2:135m`` / ``ADAPTER``).

The GGUF adapter comes from llama.cpp's own ``convert_lora_to_gguf.py`` (any architecture llama.cpp knows);
the live writer the llama.cpp rollout engine uses covers fewer architectures and exists for speed only.
LM Studio loads whole models, not adapters: the manifest says so and points at the GGUF export.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core import gguf_tools
from core.export import hf, modelfile
from core.export.gguf import file_stem

if TYPE_CHECKING:
    from core.export import ExportContext

LMSTUDIO_NOTE = ("LM Studio loads whole models, not LoRA adapters: export this session as GGUF (the adapter is "
                 "merged in) and follow that export's LM Studio steps.")


def export_adapter(ctx: "ExportContext") -> dict[str, Any]:
    ctx.progress("copy", 0.2, "Copying the LoRA adapter and tokenizer")
    files = hf.copy_adapter(ctx.source, ctx.export_dir / "adapter")
    config = json.loads((ctx.export_dir / "adapter" / "adapter_config.json").read_text())
    result: dict[str, Any] = {"verification": {"status": "checked", "peft_type": config.get("peft_type"),
                                               "r": config.get("r"), "target_modules": config.get("target_modules")},
                              "lmstudio": {"note": LMSTUDIO_NOTE}}
    base_tag = ctx.job.get("ollama_base")
    if not base_tag:
        result["ollama"] = {"note": f"Ollama's library has no model known to match the base "
                                    f"{ctx.job.get('base_model_name') or ctx.source.base_model!r}: export GGUF "
                                    "(merged) for Ollama instead."}
        return {"files": files, **result}
    ctx.progress("convert", 0.4, "convert_lora_to_gguf.py: the adapter as a GGUF adapter for Ollama")
    stem = file_stem(ctx.job.get("name") or ctx.job.get("session_id") or "model")
    adapter_gguf = f"{stem}-lora-F16.gguf"
    try:
        base_dir = gguf_tools.local_model_dir(ctx.source.base_model)
        gguf_tools.convert_lora_to_gguf(ctx.export_dir / "adapter", base_dir, ctx.export_dir / adapter_gguf)
    except Exception as exc:  # an architecture llama.cpp cannot convert, or a Hub base not in the local cache
        result["ollama"] = {"note": f"The adapter could not be converted for Ollama ({str(exc).splitlines()[-1]}): "
                                    "export GGUF (merged) instead."}
        return {"files": files, **result}
    tokenizer = hf.load_tokenizer(ctx.source)
    try:
        shape = modelfile.chat_shape(tokenizer)
    except modelfile.TemplateError:
        shape = None  # the library model's own template applies
    ctx.progress("modelfile", 0.9, "Writing the Ollama Modelfile")
    (ctx.export_dir / "Modelfile").write_text(modelfile.modelfile(
        None, shape, modelfile.stop_tokens(tokenizer, shape), ctx.job.get("system_prompt"),
        float(ctx.job.get("temperature", 0.7)), float(ctx.job.get("top_p", 0.9)), int(ctx.job.get("num_ctx", 2048)),
        base_tag=base_tag, adapter=adapter_gguf))
    name = stem.lower()
    result["ollama"] = {"modelfile": "Modelfile", "base": base_tag, "adapter": adapter_gguf,
                        "pull": f"ollama pull {base_tag}", "create": f"ollama create {name} -f Modelfile",
                        "run": f"ollama run {name}"}
    return {"files": [*files, ctx.export_dir / adapter_gguf, ctx.export_dir / "Modelfile"], **result}
