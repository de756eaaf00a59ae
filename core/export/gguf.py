"""GGUF export through llama.cpp's own tools (core.gguf_tools): merge, convert, quantise, read back the real
tensor-type mix, verify against the merged model, and write the Ollama Modelfile and LM Studio notes."""
from __future__ import annotations

import shutil
from collections import Counter
from typing import TYPE_CHECKING, Any

from core import gguf_tools
from core.export import hf, modelfile
from core.export.verify import verify

if TYPE_CHECKING:
    from core.export import ExportContext

QUANTIZATIONS = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0")
# The tensor types each quantisation is made of when no tensor needs a fallback (K_M mixes keep some Q6_K).
EXPECTED_TYPES = {"F16": {"F16"}, "Q8_0": {"Q8_0"}, "Q6_K": {"Q6_K"}, "Q5_K_M": {"Q5_K", "Q6_K"},
                  "Q4_K_M": {"Q4_K", "Q6_K"}, "Q4_0": {"Q4_0"}}
PRIMARY_TYPE = {"F16": "F16", "Q8_0": "Q8_0", "Q6_K": "Q6_K", "Q5_K_M": "Q5_K", "Q4_K_M": "Q4_K", "Q4_0": "Q4_0"}
UNQUANTISED = {"F32"}  # norms and biases stay F32 in every llama.cpp file


def describe_mix(quantization: str, types: dict[str, int]) -> dict[str, Any]:
    """What the file really is: the requested type where llama.cpp could use it, else its dominant type."""
    weights = Counter({k: v for k, v in types.items() if k not in UNQUANTISED})
    fallback = {k: v for k, v in weights.items() if k not in EXPECTED_TYPES[quantization]}
    has_primary = weights.get(PRIMARY_TYPE[quantization], 0) > 0
    dominant = weights.most_common(1)[0][0] if weights else "F32"
    return {"tensor_types": dict(types), "quantization_applied": quantization if has_primary else dominant,
            "fallback": bool(fallback), "fallback_tensors": sum(fallback.values()), "fallback_types": fallback,
            "note": (f"{sum(fallback.values())} of {sum(weights.values())} weight tensors have shapes the "
                     f"{quantization} blocks do not divide (llama.cpp chose {', '.join(sorted(fallback))} for them)."
                     if fallback else "")}


def file_stem(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.")
    return keep[:60] or "model"


def export_gguf(ctx: "ExportContext") -> dict[str, Any]:
    quantization = (ctx.job.get("quantization") or "Q4_K_M").upper()
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}.")
    work = ctx.export_dir / ".work"
    shutil.rmtree(work, ignore_errors=True)
    tokenizer = hf.load_tokenizer(ctx.source)
    try:
        shape, template_note = modelfile.chat_shape(tokenizer), ""
    except modelfile.TemplateError as exc:
        shape, template_note = None, str(exc)
    stops = modelfile.stop_tokens(tokenizer, shape)
    stop_ids = [i for i in tokenizer.convert_tokens_to_ids(stops) if i is not None and i != tokenizer.unk_token_id]

    ctx.progress("merge", 0.05, "Merging the adapter into the base model")
    merged = hf.merge(ctx.source, work / "merged", stop_ids)
    stem = file_stem(ctx.job.get("name") or ctx.job["session_id"])
    if quantization in ("F16", "Q8_0"):
        ctx.progress("convert", 0.3, f"convert_hf_to_gguf.py --outtype {quantization.lower()}")
        produced = gguf_tools.convert_hf_to_gguf(merged, work / f"{stem}.gguf", quantization.lower())
    else:
        ctx.progress("convert", 0.3, "convert_hf_to_gguf.py --outtype f16")
        f16 = gguf_tools.convert_hf_to_gguf(merged, work / f"{stem}-F16.gguf", "f16")
        ctx.progress("quantize", 0.55, f"llama_model_quantize → {quantization}")
        produced = gguf_tools.quantize(f16, work / f"{stem}.gguf", quantization)
        f16.unlink()
    mix = describe_mix(quantization, gguf_tools.tensor_types(produced))
    # Named for what it holds: never a quantisation the file does not have.
    gguf_name = f"{stem}-{mix['quantization_applied']}.gguf"
    target = ctx.export_dir / gguf_name
    shutil.move(str(produced), target)

    verification: dict[str, Any] = {"status": "skipped"}
    if ctx.job.get("verify", True):
        ctx.progress("verify", 0.7, "Comparing greedy answers with the merged model")
        verification = verify(target, merged, quantization, ctx.job.get("system_prompt"),
                              max_tokens=int(ctx.job.get("verify_max_tokens", 48)), stop_ids=stop_ids)

    ctx.progress("modelfile", 0.95, "Writing the Ollama Modelfile and LM Studio notes")
    settings = dict(temperature=float(ctx.job.get("temperature", 0.7)), top_p=float(ctx.job.get("top_p", 0.9)),
                    num_ctx=int(ctx.job.get("num_ctx", 2048)))
    (ctx.export_dir / "Modelfile").write_text(
        modelfile.modelfile(gguf_name, shape, stops, ctx.job.get("system_prompt"), **settings))
    (ctx.export_dir / "LMSTUDIO.md").write_text(
        modelfile.lmstudio_readme(gguf_name, "tunewright", f"{stem}-GGUF", ctx.job.get("system_prompt"), stops,
                                  **settings))
    shutil.rmtree(work, ignore_errors=True)
    return {"files": [target, ctx.export_dir / "Modelfile", ctx.export_dir / "LMSTUDIO.md"], "gguf": gguf_name,
            "quantization": quantization, **mix, "verification": verification, "stop_tokens": stops,
            "chat_template": {"translated": shape is not None, "note": template_note},
            "ollama": {"modelfile": "Modelfile", "create": f"ollama create {stem.lower()} -f Modelfile",
                       "run": f"ollama run {stem.lower()}"},
            "lmstudio": {"folder": f"tunewright/{stem}-GGUF", "steps": "LMSTUDIO.md"}}
