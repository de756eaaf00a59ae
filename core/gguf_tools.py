"""llama.cpp's own GGUF tools, called from Python: HF folder -> GGUF, PEFT adapter -> GGUF adapter, quantisation.

We never hand-write a converter: ``convert_hf_to_gguf.py`` / ``convert_lora_to_gguf.py`` come from the
llama-cpp-python source distribution at the pinned version (``scripts/fetch_llama_tools.sh`` puts them in
``.cache/llama.cpp-tools/<version>/``) and run in a subprocess with their own ``gguf-py``; quantisation
goes through ``llama_cpp.llama_model_quantize`` (the bindings are installed). Export, the rollout engine
and the playground all use these functions.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOOLS_ENV = "TUNEWRIGHT_LLAMA_TOOLS_DIR"

# Output types the HF converter writes itself; everything else is a quantisation of its F16 output.
CONVERTER_TYPES = {"f32", "f16", "bf16", "q8_0"}
# Quantisation name -> llama_cpp LLAMA_FTYPE constant name.
QUANT_FTYPES = {
    "F16": "LLAMA_FTYPE_MOSTLY_F16",
    "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "Q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "Q5_K_M": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "Q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
}


class GGUFToolError(RuntimeError):
    """A llama.cpp tool is missing or failed; the message carries the tool's own words."""


def local_model_dir(model_path: str) -> Path:
    """A local folder for ``model_path`` (llama.cpp's converters read files): itself, or the Hub snapshot
    already in the local cache."""
    if Path(model_path).is_dir():
        return Path(model_path).resolve()
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model_path, local_files_only=True))


def llama_cpp_version() -> str:
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("llama-cpp-python=="):
            return line.split("==", 1)[1].strip()
    raise GGUFToolError("llama-cpp-python is not pinned in requirements.txt")


def tools_dir() -> Path:
    """Where the converters live (``TUNEWRIGHT_LLAMA_TOOLS_DIR`` overrides); checked, with a fix in the error."""
    folder = Path(os.environ.get(TOOLS_ENV) or PROJECT_ROOT / ".cache" / "llama.cpp-tools" / llama_cpp_version())
    missing = [name for name in ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion", "gguf-py")
               if not (folder / name).exists()]
    if missing:
        raise GGUFToolError(f"llama.cpp's converters are missing from {folder} ({', '.join(missing)}): "
                            "run `bash scripts/fetch_llama_tools.sh` (part of `make run` / `make test`).")
    return folder


def _run_tool(script: str, args: list[str], timeout: float | None) -> None:
    folder = tools_dir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(folder / "gguf-py")]),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    try:
        result = subprocess.run([sys.executable, str(folder / script), *args], env=env, cwd=folder,
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GGUFToolError(f"{script} did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise GGUFToolError(f"{script} failed (exit code {result.returncode}):\n{tail}")


def _mislabelled_byte_level(tokenizer_json: dict) -> bool:
    """A byte-level BPE tokenizer that also declares SentencePiece-style byte fallback. transformers writes this
    hybrid when it rebuilds a tokenizer from a GGUF (our bundled SmolLM2 is prepared that way);
    convert_hf_to_gguf.py then takes it for a Llama SentencePiece vocab and writes a GGUF whose tokenizer
    aborts llama.cpp on the first newline."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    pre_types = [pre.get("type")] + [p.get("type") for p in pre.get("pretokenizers", []) or []]
    model = tokenizer_json.get("model") or {}
    return ("ByteLevel" in pre_types and model.get("type") == "BPE" and bool(model.get("byte_fallback"))
            and (tokenizer_json.get("decoder") or {}).get("type") == "Sequence")


@contextmanager
def _convertible(model_dir: Path):
    """``model_dir`` itself, or (for a mislabelled byte-level tokenizer) a temporary folder of links to its files
    with a corrected tokenizer.json: byte-level BPE has every byte in its vocabulary, so no byte fallback and a
    plain ByteLevel decoder describe the same tokenizer. The user's folder is never modified."""
    tokenizer_file = model_dir / "tokenizer.json"
    data = json.loads(tokenizer_file.read_text(encoding="utf-8")) if tokenizer_file.is_file() else {}
    if not _mislabelled_byte_level(data):
        yield model_dir
        return
    data["model"]["byte_fallback"] = False
    data["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    with tempfile.TemporaryDirectory(prefix="tw-convert-") as shadow:
        for item in model_dir.iterdir():
            if item.name != "tokenizer.json":
                os.symlink(item.resolve(), Path(shadow) / item.name)
        (Path(shadow) / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
        yield Path(shadow)


def convert_hf_to_gguf(model_dir: str | os.PathLike, outfile: str | os.PathLike, outtype: str = "f16",
                       timeout: float | None = 3600) -> Path:
    """A transformers model folder (safetensors, config, tokenizer) as one GGUF file."""
    outtype = outtype.lower()
    if outtype not in CONVERTER_TYPES:
        raise ValueError(f"the converter writes {', '.join(sorted(CONVERTER_TYPES))}; quantise its output for {outtype}")
    outfile = Path(outfile)
    outfile.parent.mkdir(parents=True, exist_ok=True)
    with _convertible(Path(model_dir).resolve()) as source:
        _run_tool("convert_hf_to_gguf.py", [str(source), "--outfile", str(outfile.resolve()), "--outtype", outtype],
                  timeout)
    if not outfile.is_file():
        raise GGUFToolError(f"convert_hf_to_gguf.py reported success but wrote no {outfile.name}")
    return outfile


def convert_lora_to_gguf(adapter_dir: str | os.PathLike, base_dir: str | os.PathLike, outfile: str | os.PathLike,
                         outtype: str = "f16", timeout: float | None = 3600) -> Path:
    """A PEFT LoRA adapter as a GGUF adapter (what llama.cpp loads as ``lora_path`` and Ollama's ADAPTER load)."""
    outfile = Path(outfile)
    outfile.parent.mkdir(parents=True, exist_ok=True)
    _run_tool("convert_lora_to_gguf.py", [str(Path(adapter_dir).resolve()), "--base", str(Path(base_dir).resolve()),
                                          "--outfile", str(outfile.resolve()), "--outtype", outtype.lower()], timeout)
    if not outfile.is_file():
        raise GGUFToolError(f"convert_lora_to_gguf.py reported success but wrote no {outfile.name}")
    return outfile


def quantize(source: str | os.PathLike, target: str | os.PathLike, quantization: str, threads: int = 0) -> Path:
    """Quantise a GGUF with llama.cpp (``llama_model_quantize``). Tensors whose shapes do not allow the chosen
    k-quant get a fallback type from llama.cpp itself: read the real mix with :func:`tensor_types`."""
    import llama_cpp

    name = quantization.upper()
    if name not in QUANT_FTYPES:
        raise ValueError(f"unknown quantisation {quantization!r}; choose one of {', '.join(QUANT_FTYPES)}")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_FTYPES[name])
    params.nthread = threads
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if code != 0 or not target.is_file():
        target.unlink(missing_ok=True)  # never leave a file named for a quantisation it does not have
        raise GGUFToolError(f"llama_model_quantize to {name} failed with code {code}")
    return target


def tensor_types(gguf_path: str | os.PathLike) -> dict[str, int]:
    """How many tensors of each type the file really holds, e.g. ``{"Q4_K": 120, "Q8_0": 30, "F32": 61}``."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    return dict(Counter(tensor.tensor_type.name for tensor in reader.tensors))
