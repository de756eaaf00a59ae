"""GGUF export of a real SmolLM2-135M session, timed beside llama.cpp's own tools run by hand.

    .venv/bin/python bench/export.py [--session-dir outputs/<id>] [--repeats 2]

Without ``--session-dir`` a short session is trained first on the bundled model (SFT pre-training + one
GRPO step: enough for a real, non-zero LoRA adapter). Then, for F16 and Q4_K_M:
  ours:   ``core.export.run_export`` (merge with PEFT, convert_hf_to_gguf.py, llama_model_quantize, checksums,
          Modelfile), verification off so both sides do the same work;
  direct: the same steps typed by hand — PEFT ``merge_and_unload`` + ``save_pretrained``, then
          ``python convert_hf_to_gguf.py <merged> --outtype f16`` and ``llama_cpp.llama_model_quantize``.
Target: ours / direct <= 1.1. Then the verification (greedy answers, GGUF vs the merged HF model) is run and
reported: F16 must equal the HF model on the first 16 tokens; Q4_K_M reports its token agreement.
Figures taken while other processes load the CPU are not comparable between runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import prepared_default_model


def train_short_session(model_dir: str, out: Path) -> Path:
    from core.datasets.arithmetic import generate
    from core.training.runner import TrainingJob, run_training
    from core.training_config import parse_config

    config = parse_config({"model": {"name": model_dir, "lora_rank": 8, "lora_alpha": 16},
                           "training": {"samples_per_epoch": 2, "batch_size": 2, "num_generations": 2,
                                        "max_new_tokens": 16, "save_steps": 1},
                           "pre_training": {"max_samples": 16, "batch_size": 4, "epochs": 1}})
    rows = [{"instruction": r["question"], "response": r["answer"], **r} for r in generate("train", 32)]
    outcome = run_training(TrainingJob(config=config, model_path=model_dir, rows=rows, output_dir=out,
                                       emit=lambda e: None, should_stop=lambda: False))
    assert outcome == "completed", outcome
    return out


def ours(session_dir: Path, model_dir: str, quant: str, work: Path) -> tuple[float, dict]:
    from core.export import run_export

    target = work / f"ours-{quant}"
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    manifest = run_export({"export_id": f"bench-{quant}", "session_id": "bench", "format": "gguf",
                           "quantization": quant, "output_dir": str(session_dir), "base_model": model_dir,
                           "export_dir": str(target), "verify": False, "system_prompt": None})
    return time.monotonic() - started, manifest


def direct(session_dir: Path, model_dir: str, quant: str, work: Path) -> float:
    """The steps by hand. (convert_hf_to_gguf.py on this tokenizer as saved by transformers writes a file whose
    tokenizer llama.cpp mis-reads; core.gguf_tools corrects that on the fly. Timing is the point here.)"""
    import llama_cpp
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.gguf_tools import tools_dir

    target = work / f"direct-{quant}"
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                                      str(session_dir / "adapter")).merge_and_unload()
    model.save_pretrained(target / "merged")
    AutoTokenizer.from_pretrained(session_dir / "adapter").save_pretrained(target / "merged")
    folder = tools_dir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), str(folder / "gguf-py")]))
    f16 = target / "model-F16.gguf"
    subprocess.run([sys.executable, str(folder / "convert_hf_to_gguf.py"), str(target / "merged"), "--outfile",
                    str(f16), "--outtype", "f16"], env=env, check=True, capture_output=True, cwd=folder)
    if quant != "F16":
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
        assert llama_cpp.llama_model_quantize(str(f16).encode(), str(target / f"model-{quant}.gguf").encode(),
                                              params) == 0
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session-dir", help="outputs/<session_id> of a session trained on the bundled model")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model_dir = prepared_default_model()
    work = Path(tempfile.mkdtemp(prefix="tunewright-bench-export-"))
    session_dir = Path(args.session_dir) if args.session_dir else None
    if session_dir is None:
        started = time.monotonic()
        session_dir = train_short_session(model_dir, work / "session")
        print(f"trained a short session in {time.monotonic() - started:.0f} s: {session_dir}")
    report: dict = {"model": model_dir, "session": str(session_dir), "cpu_count": os.cpu_count(),
                    "load_average": os.getloadavg()}
    for quant in ("F16", "Q4_K_M"):
        ours_times, direct_times, manifest = [], [], {}
        for _ in range(args.repeats):  # alternate, so drift in the machine's load hits both sides alike
            seconds, manifest = ours(session_dir, model_dir, quant, work)
            ours_times.append(seconds)
            direct_times.append(direct(session_dir, model_dir, quant, work))
        ours_s, direct_s = statistics.median(ours_times), statistics.median(direct_times)
        report[quant] = {"ours_s": round(ours_s, 2), "direct_s": round(direct_s, 2),
                         "ratio": round(ours_s / direct_s, 3), "size": manifest["size"],
                         "file": manifest["gguf"], "tensor_types": manifest["tensor_types"],
                         "fallback_tensors": manifest["fallback_tensors"]}
        print(f"{quant}: ours {ours_s:.1f} s, direct {direct_s:.1f} s, ratio {ours_s / direct_s:.2f}; "
              f"{manifest['gguf']} {manifest['size'] / 1e6:.1f} MB {manifest['tensor_types']}", flush=True)

        from core.export.hf import merge
        from core.export.sources import find_source
        from core.export.verify import verify

        merged = merge(find_source(session_dir, model_dir), work / "verify-merged")
        started = time.monotonic()
        result = verify(work / f"ours-{quant}" / manifest["gguf"], merged, quant,
                        "Answer the question.", max_tokens=48, stop_ids=None)
        report[quant]["verification"] = {
            "status": result["status"], "agreement": result["agreement"], "problems": result["problems"],
            "first_16_equal": [p["first_16_equal"] for p in result["prompts"]],
            "stopped": [p["stopped"] for p in result["prompts"]], "seconds": round(time.monotonic() - started, 1),
            "answers": [p["gguf_text"] for p in result["prompts"]]}
        print(f"{quant} verification: {result['status']}, agreement {result['agreement']:.2f}, "
              f"first 16 equal {report[quant]['verification']['first_16_equal']}, "
              f"stopped {report[quant]['verification']['stopped']}", flush=True)
    print(json.dumps(report, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
