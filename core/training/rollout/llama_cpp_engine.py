"""Sampling GRPO completions with llama.cpp: all sequences decoded in parallel in one context.

One ``llama_context`` holds every sequence of a rollout. Each distinct prompt is decoded once and shared by
its group (one batch token may belong to several sequences), then every step decodes one new token per
live sequence in a single ``llama_batch``. The engine is fed the trained model's own token ids and returns
token ids from the same vocabulary, so TRL scores exactly the tokens that were sampled.

Sampling is done here in numpy from llama.cpp's logits rather than with llama.cpp's sampler chain, because
TRL needs each sampled token's log-probability under the policy (log-softmax of logits / temperature, the
quantity its trainer computes) and the samplers do not return it; the order of the warpers is
transformers' (temperature, top-k, top-p), so TRL's sampling settings mean the same thing on both engines.
"""
from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    greedy: bool = False


def sample_tokens(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One token per row of ``logits`` [n, vocab] and its log-probability under softmax(logits / T)."""
    scaled = logits.astype(np.float32) / np.float32(sampling.temperature)
    rows = np.arange(len(scaled))
    top = scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled - top)  # unnormalised probabilities, one exp for everything below
    log_z = top[:, 0].astype(np.float64) + np.log(weights.sum(axis=1, dtype=np.float64))
    if sampling.greedy:
        tokens = scaled.argmax(axis=1)
        return tokens, scaled[rows, tokens] - log_z
    vocab = scaled.shape[1]
    if 0 < sampling.top_k < vocab:
        kth = np.partition(scaled, vocab - sampling.top_k, axis=1)[:, vocab - sampling.top_k][:, None]
        weights = np.where(scaled < kth, 0.0, weights)
    if sampling.top_p < 1.0:
        weights = _nucleus(weights, sampling.top_p)
    tokens = _inverse_cdf(weights, rng.random(len(scaled)))
    return tokens, scaled[rows, tokens].astype(np.float64) - log_z


def _nucleus(weights: np.ndarray, top_p: float, candidates: int = 1024) -> np.ndarray:
    """Zero every token outside the smallest most-likely set holding ``top_p`` of the mass (transformers'
    top-p). Sorting 50 k logits per token is slow, so only the ``candidates`` most likely are sorted when
    they already hold ``top_p``; otherwise the whole row is."""
    n, vocab = weights.shape
    total = weights.sum(axis=1, dtype=np.float64)[:, None]
    m = min(candidates, vocab)
    picked = np.argpartition(-weights, m - 1, axis=1)[:, :m] if m < vocab else np.tile(np.arange(vocab), (n, 1))
    picked_weights = np.take_along_axis(weights, picked, axis=1)
    if m < vocab and np.any(picked_weights.sum(axis=1, dtype=np.float64) < top_p * total[:, 0]):
        m, picked = vocab, np.tile(np.arange(vocab), (n, 1))
        picked_weights = weights
    order = np.argsort(-picked_weights, axis=1, kind="stable")
    ids = np.take_along_axis(picked, order, axis=1)
    sorted_weights = np.take_along_axis(picked_weights, order, axis=1).astype(np.float64)
    before = (np.cumsum(sorted_weights, axis=1) - sorted_weights) / total  # mass of the more likely tokens
    keep_sorted = before < top_p
    keep_sorted[:, 0] = True  # always keep the most likely token
    kept = np.zeros(weights.shape, dtype=bool)
    np.put_along_axis(kept, ids, keep_sorted, axis=1)
    return np.where(kept, weights, 0.0).astype(weights.dtype)


def _inverse_cdf(weights: np.ndarray, uniforms: np.ndarray, block: int = 1024) -> np.ndarray:
    """Inverse-CDF draws from unnormalised rows, in two levels: a cumulative sum over a whole 50 k vocabulary
    costs more than the rest of the sampling together, so pick a block of ``block`` tokens by the blocks'
    sums, then the token inside that block."""
    n, vocab = weights.shape
    pad = (-vocab) % block
    padded = np.pad(weights, ((0, 0), (0, pad))) if pad else weights
    block_mass = np.cumsum(padded.reshape(n, -1, block).sum(axis=2, dtype=np.float64), axis=1)
    tokens = np.empty(n, dtype=np.int64)
    for row in range(n):
        draw = uniforms[row] * block_mass[row, -1]
        b = min(int(np.searchsorted(block_mass[row], draw, side="right")), block_mass.shape[1] - 1)
        while b > 0 and block_mass[row, b] == block_mass[row, b - 1]:
            b -= 1  # rounding pushed the draw into an empty block: step back to one with mass
        rest = draw - (block_mass[row, b - 1] if b else 0.0)
        inside = np.cumsum(padded[row, b * block:(b + 1) * block], dtype=np.float64)
        j = min(int(np.searchsorted(inside, min(rest, inside[-1]), side="left")), block - 1)
        while padded[row, b * block + j] == 0 and j > 0:
            j -= 1
        tokens[row] = min(b * block + j, vocab - 1)
    return tokens


class LlamaCppEngine:
    """A llama.cpp model + context for parallel sampling, with a swappable LoRA adapter."""

    def __init__(self, model_path: str | os.PathLike, n_parallel: int, max_sequence_length: int,
                 threads: int | None = None, verbose: bool = False):
        import llama_cpp

        self.lib = llama_cpp
        llama_cpp.llama_backend_init()
        if not verbose:
            llama_cpp.llama_log_set(_silent_log, ctypes.c_void_p(0))
        from core.inference.llama_loader import model_params

        self.model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), model_params())
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {model_path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.n_parallel = max(1, min(n_parallel, llama_cpp.llama_max_parallel_sequences()))
        self.n_ctx = min(self.n_parallel * max_sequence_length, 262144)
        self.n_batch = min(self.n_ctx, 2048)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.n_ctx
        cparams.n_batch = self.n_batch
        cparams.n_ubatch = min(self.n_batch, 512)
        cparams.n_seq_max = self.n_parallel
        cparams.kv_unified = True  # one cache for all sequences, so a prompt's cells can be shared by its group
        self.fixed_threads = threads
        threads = threads or _default_threads()
        cparams.n_threads = cparams.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, self.n_parallel)
        self.adapter = None

    def close(self) -> None:
        lib = self.lib
        if self.batch is not None:
            lib.llama_batch_free(self.batch)
            self.batch = None
        if self.adapter:
            lib.llama_adapter_lora_free(self.adapter)
            self.adapter = None
        if self.ctx:
            lib.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            lib.llama_model_free(self.model)
            self.model = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- adapter -----------------------------------------------------------------------------------------
    def set_adapter(self, path: str | os.PathLike | None, scale: float = 1.0) -> None:
        """Apply the GGUF LoRA adapter at ``path`` (None: the bare base model); the previous one is freed."""
        lib = self.lib
        old = self.adapter
        if path is None:
            lib.llama_set_adapters_lora(self.ctx, None, 0, None)
            self.adapter = None
        else:
            adapter = lib.llama_adapter_lora_init(self.model, str(path).encode())
            if not adapter:
                raise RuntimeError(f"llama.cpp could not load the adapter {path}")
            adapters = (lib.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(scale)
            if lib.llama_set_adapters_lora(self.ctx, adapters, 1, scales):
                lib.llama_adapter_lora_free(adapter)
                raise RuntimeError(f"llama.cpp could not apply the adapter {path}")
            self.adapter = adapter
        if old:
            lib.llama_adapter_lora_free(old)

    # -- tokens ------------------------------------------------------------------------------------------
    def token_texts(self) -> list[str]:
        """The vocabulary as llama.cpp holds it: the text of every id."""
        get = self.lib.llama_vocab_get_text
        return [(get(self.vocab, i) or b"").decode("utf-8", errors="replace") for i in range(self.n_vocab)]

    # -- decoding ----------------------------------------------------------------------------------------
    def _add(self, token: int, pos: int, seq_ids: list[int], logits: bool) -> int:
        b = self.batch
        i = b.n_tokens
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = len(seq_ids)
        for j, seq in enumerate(seq_ids):
            b.seq_id[i][j] = seq
        b.logits[i] = logits
        b.n_tokens = i + 1
        return i

    def _decode(self) -> None:
        code = self.lib.llama_decode(self.ctx, self.batch)
        if code != 0:
            raise RuntimeError(f"llama_decode failed with code {code} (context {self.n_ctx} tokens)")

    def _logits(self, index: int) -> np.ndarray:
        pointer = self.lib.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).copy()

    def generate(self, prompt_ids: list[list[int]], sampling: Sampling, stop_ids: set[int],
                 rng: np.random.Generator | None = None) -> tuple[list[list[int]], list[list[float]]]:
        """One completion per entry of ``prompt_ids`` (repeated prompts share their prefill), with the
        log-probability of each sampled token. A completion ends with its stop token, or at the limit."""
        rng = rng or np.random.default_rng()
        completions: list[list[int]] = []
        logprobs: list[list[float]] = []
        for start in range(0, len(prompt_ids), self.n_parallel):
            ids, lps = self._generate_chunk(prompt_ids[start:start + self.n_parallel], sampling, stop_ids, rng)
            completions += ids
            logprobs += lps
        return completions, logprobs

    def _generate_chunk(self, prompts: list[list[int]], sampling: Sampling, stop_ids: set[int], rng):
        if self.fixed_threads is None:
            threads = _default_threads()
            self.lib.llama_set_n_threads(self.ctx, threads, threads)
        self.lib.llama_memory_clear(self.memory, True)
        groups: dict[tuple[int, ...], list[int]] = {}
        for seq, ids in enumerate(prompts):
            groups.setdefault(tuple(ids), []).append(seq)
        if sum(len(p) for p in groups) + len(prompts) * sampling.max_new_tokens > self.n_ctx:
            raise ValueError(f"the rollout needs more than the engine's {self.n_ctx}-token context")

        # Prefill: each distinct prompt once, its cells shared by every sequence of its group.
        logits_at: dict[int, int] = {}  # seq -> batch index of the logits its next token is sampled from
        pending: list[tuple[list[int], int]] = []
        self.batch.n_tokens = 0
        for ids, seqs in groups.items():
            for pos, token in enumerate(ids):
                if self.batch.n_tokens == self.n_batch:
                    self._decode()
                    self.batch.n_tokens = 0
                index = self._add(token, pos, seqs, pos == len(ids) - 1)
                if pos == len(ids) - 1:
                    pending.append((seqs, index))
        # Logits of the last prompt token: flush the batch that holds it.
        self._decode()
        first = {}
        for seqs, index in pending:
            row = self._logits(index)
            for seq in seqs:
                first[seq] = row

        completions = [[] for _ in prompts]
        logprobs = [[] for _ in prompts]
        live = list(range(len(prompts)))
        rows = np.stack([first[seq] for seq in live])
        for step in range(sampling.max_new_tokens):
            tokens, lps = sample_tokens(rows, sampling, rng)
            still = []
            self.batch.n_tokens = 0
            for seq, token, lp in zip(live, tokens.tolist(), lps.tolist()):
                completions[seq].append(token)
                logprobs[seq].append(lp)
                if token in stop_ids or step + 1 == sampling.max_new_tokens:
                    continue
                logits_at[seq] = self._add(token, len(prompts[seq]) + step, [seq], True)
                still.append(seq)
            live = still
            if not live:
                break
            self._decode()
            rows = np.stack([self._logits(logits_at[seq]) for seq in live])
        return completions, logprobs


def _default_threads() -> int:
    """Threads for llama.cpp, from the cores that are free right now. ggml's threads wait for each other by
    spinning: on a busy machine (load above the core count) two threads measured 10x slower than one on 2
    cores, while on a quiet machine every core helps. ``TUNEWRIGHT_LLAMA_THREADS`` overrides."""
    if os.environ.get("TUNEWRIGHT_LLAMA_THREADS"):
        return max(1, int(os.environ["TUNEWRIGHT_LLAMA_THREADS"]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = max(0.0, os.getloadavg()[0] - 1.0)  # this process itself counts for about one
    return max(1, min(cores, int(cores - busy + 0.5)))


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _silent_log(level, text, user_data):
    # llama.cpp logs every tensor it loads; keep errors only (they end up in the session log).
    if level == 4 and text:  # GGML_LOG_LEVEL_ERROR
        log.error("llama.cpp: %s", text.decode(errors="replace").rstrip())
