"""The one training-config schema: wizard, API, saved configs and CLI all validate with it.

pydantic gives us what the product asks for without hand-written walking:
unknown keys rejected (``extra="forbid"``), every error collected with its
field path, defaults filling any partial config, and a JSON form that is the
saved-config format of PRODUCT.md. Cross-field checks raise errors that say
how to fix them (TRL's habit).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from core.datasets.prompts import DEFAULT_MARKERS, Markers, default_system_prompt, render_system_prompt
from core.default_model import DEFAULT_MODEL_ID

class _Section(BaseModel):
    # allow_inf_nan=False: NaN and Infinity (which Python's JSON parser accepts) are refused everywhere.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ModelSection(_Section):
    name: str = Field(DEFAULT_MODEL_ID, min_length=1, max_length=500,
                      description="Hub id, catalogue id or local folder of the base model.")
    lora_rank: int = Field(16, ge=1, le=512, description="LoRA rank r; 8-64 is typical.")
    lora_alpha: int = Field(32, ge=1, le=4096, description="LoRA alpha; about 2 x rank.")
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA dropout, 0-0.1.")
    target_modules: list[Annotated[str, Field(min_length=1, max_length=200)]] | Literal["all-linear"] = Field(
        "all-linear", max_length=256, description="Modules that get LoRA adapters, or 'all-linear'.")


class DatasetSection(_Section):
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] = Field(
        "builtin:arithmetic", description="builtin:<name>, dataset:<id> or a Hub id.")
    split: str = Field("train", min_length=1, max_length=100, description="Split to train on.")
    eval_split: str | None = Field(None, min_length=1, max_length=100,
                                   description="Held-out split for eval loss during SFT (optional).")
    config_name: str | None = Field(None, max_length=100, description="Hub dataset config (e.g. 'main' for GSM8K).")
    instruction_field: str | None = Field(None, max_length=200, description="Column holding the prompt; None: detected.")
    response_field: str | None = Field(None, max_length=200, description="Column holding the answer; None: detected.")
    max_samples: int | None = Field(None, ge=1, le=100_000_000,
                                    description="Use at most this many rows (seeded shuffle).")
    system_prompt: str | None = Field(None, max_length=20_000,
                                      description="System prompt; None: prompts/system_prompt.txt when "
                                      "`learn optimize-prompt` saved one, else the GRPO default built from the markers.")
    reasoning_start: str = Field(DEFAULT_MARKERS.reasoning_start, min_length=1, max_length=64,
                                 description="Marker opening the reasoning.")
    reasoning_end: str = Field(DEFAULT_MARKERS.reasoning_end, min_length=1, max_length=64,
                               description="Marker closing the reasoning.")
    solution_start: str = Field(DEFAULT_MARKERS.solution_start, min_length=1, max_length=64,
                                description="Marker opening the final answer.")
    solution_end: str = Field(DEFAULT_MARKERS.solution_end, min_length=1, max_length=64,
                              description="Marker closing the final answer.")

    def resolved_system_prompt(self) -> str:
        """The user's prompt with ``{reasoning_start}``-style placeholders filled, or the default one."""
        markers = Markers(self.reasoning_start, self.reasoning_end, self.solution_start, self.solution_end)
        return render_system_prompt(self.system_prompt, markers) if self.system_prompt else \
            default_system_prompt(markers)


# TRL's report_to names this studio knows; core/tracking.py describes them (tests assert the two agree).
Tracker = Literal["tensorboard", "mlflow", "trackio", "wandb"]

Optim = Literal["adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "paged_adamw_32bit", "paged_adamw_8bit",
                "adamw_8bit"]


class TrainingSection(_Section):
    num_epochs: float = Field(1.0, gt=0, le=100, description="Passes over samples_per_epoch prompts.")
    samples_per_epoch: int | None = Field(24, ge=1, le=100_000_000, description="Prompts per epoch (seeded subset); None: all rows.")
    batch_size: int = Field(2, ge=1, le=256, description="Prompts per device step (GRPO samples num_generations each).")
    gradient_accumulation_steps: int = Field(1, ge=1, le=256,
                                             description="Steps whose gradients add up before one optimiser step.")
    learning_rate: float = Field(2e-5, gt=0, le=1.0, description="Peak learning rate; 5e-5 to 3e-4 for LoRA.")
    warmup_steps: int = Field(0, ge=0, le=1_000_000, description="Steps of linear warm-up to the peak rate.")
    weight_decay: float = Field(0.0, ge=0, le=10.0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0, le=10_000.0, description="Gradient clipping norm.")
    lr_scheduler_type: Literal["constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
                               "polynomial", "inverse_sqrt"] = Field("constant",
                                                                     description="Learning-rate schedule.")
    optim: Optim = Field("adamw_torch", description="Paged/8-bit optimizers need a GPU; mapped to adamw_torch on CPU.")
    bf16: bool = Field(False, description="bfloat16 training; GPU only, ignored with a warning on CPU.")
    cpu_autocast: Literal["auto", "bf16", "off"] = Field(
        "auto", description="CPU mixed precision for the forward and backward passes (weights and optimizer stay "
        "float32). auto: bf16 where the CPU computes it natively (AVX512-BF16 or AMX; about 2x faster), else off.")
    max_sequence_length: int = Field(512, ge=32, le=131072, description="Prompt + completion tokens.")
    max_new_tokens: int = Field(64, ge=1, le=32768, description="Completion length limit while sampling.")
    temperature: float = Field(1.0, gt=0, le=5.0, description="Sampling temperature; about 0.7-1.0.")
    top_p: float = Field(1.0, gt=0, le=1.0, description="Nucleus sampling; 0.9-0.95 is typical, 1 disables it.")
    top_k: int = Field(0, ge=0, le=100000, description="Sample from the k most likely tokens only; 0: no limit.")
    num_generations: int = Field(4, ge=2, le=64, description="Completions per prompt (the GRPO group).")
    seed: int = Field(3407, ge=0, le=2**32 - 1, description="Random seed (data order, sampling, LoRA init).")
    save_steps: int = Field(10, ge=1, le=1_000_000, description="Checkpoint every N steps (stop also checkpoints).")
    logging_steps: int = Field(1, ge=1, le=1_000_000, description="Log metrics every N steps.")
    rollout_engine: Literal["auto", "transformers", "llama_cpp", "vllm"] = Field(
        "auto", description="What samples the GRPO completions. auto: vLLM (colocated) with a GPU and vLLM "
        "installed, llama.cpp on a CPU, else transformers. llama_cpp is CPU-only; vllm needs a GPU.")
    num_gpus: int = Field(1, ge=1, le=64, description="GPUs of one host this run trains on; more than 1 launches "
                          "the trainer with accelerate (DDP) and needs a host, or a worker, with that many GPUs.")
    deepspeed: Literal["none", "zero2", "zero3"] = Field(
        "none", description="DeepSpeed ZeRO for a multi-GPU run (num_gpus > 1): zero2 shards optimizer state and "
        "gradients, zero3 also the weights (for models too large for one GPU). Needs deepspeed installed where it "
        "trains; none: plain DDP.")
    auto_resume: bool = Field(False, description="With training workers (TUNEWRIGHT_EXECUTOR=rq): when the run's worker "
                              "is lost, resume it on another worker from its latest checkpoint without asking.")
    report_to: list[Tracker] = Field(
        default_factory=list, max_length=4, description="Also send the metrics to these trackers (TRL's report_to); "
        "our database keeps them either way. Only trackers installed on the server are accepted.")
    tracking_project: str = Field(
        "tunewright", pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Project (W&B, Trackio) or experiment (MLflow) the runs are filed under.")
    mlflow_tracking_uri: str | None = Field(
        None, max_length=500, description="An MLflow tracking server (http:// or https://, no credentials in it: "
        "store MLFLOW_TRACKING_USERNAME/PASSWORD as secrets on the Account page); None: mlruns/ in the run folder.")

    @field_validator("report_to")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _server_without_credentials(cls, value: str | None) -> str | None:
        """A URL only: a local path would let a request choose where the child writes (DESIGN §8), and a
        user:password@ part would put a secret in a saved config."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL of an MLflow server (leave it empty for a local "
                             "mlruns/ in the run folder)")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not hold credentials or a query: store MLFLOW_TRACKING_USERNAME/PASSWORD or "
                             "MLFLOW_TRACKING_TOKEN as secrets on the Account page")
        return value.strip()


class GRPOSection(_Section):
    algorithm: Literal["grpo", "gspo", "or_grpo"] = Field(
        "grpo", description="gspo: sequence-level importance sampling; or_grpo: outlier-robust advantages.")
    kl_penalty: float = Field(0.0, ge=0.0, le=10.0, description="beta; 0 skips the reference model (faster).")
    clip_range: float = Field(0.2, gt=0.0, lt=1.0, description="PPO-style clip epsilon.")
    importance_sampling_level: Literal["token", "sequence"] | None = Field(
        None, description="None: 'sequence' for gspo, else 'token'.")
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo"] = Field(
        "dapo", description="How token losses are normalised (TRL's loss_type).")
    robust_clip: float = Field(3.0, gt=0.0, le=100.0, description="or_grpo: advantages are clipped to +/- this many robust sigmas.")

    @property
    def resolved_importance_sampling_level(self) -> str:
        return self.importance_sampling_level or ("sequence" if self.algorithm == "gspo" else "token")


class RewardComponent(_Section):
    name: str = Field(..., min_length=1, max_length=64, description="Component name (GET /api/rewards/components).")
    weight: float = Field(1.0, ge=-100.0, le=100.0, allow_inf_nan=False, description="Weight in the reward sum.")
    params: dict[str, Any] = Field(default_factory=dict, description="The component's parameters (its schema).")


class CustomRewardUse(_Section):
    id: int = Field(..., ge=1, le=2**31 - 1,  # the largest id PostgreSQL's INTEGER (and so every database) stores
                    description="Id of a saved custom reward (/api/rewards/custom).")
    weight: float = Field(1.0, ge=-100.0, le=100.0, allow_inf_nan=False, description="Weight in the reward sum.")
    name: str | None = Field(None, max_length=100, description="Filled by the server when a run starts.")
    kind: Literal["components", "code"] | None = Field(None, description="Filled by the server when a run starts.")
    components: list[RewardComponent] = Field(default_factory=list, max_length=64,
                                              description="Filled by the server: the no-code reward's parts.")
    code: str | None = Field(None, max_length=100_000, description="Filled by the server: the code reward's source.")


class RewardSection(_Section):
    type: Literal["preset", "components", "custom"] = Field(
        "preset", description="preset: a preset by id; components: the list below; custom: only saved custom rewards.")
    preset_name: str | None = Field("math", max_length=100, description="Preset id used when type is 'preset' (GET /api/rewards/presets).")
    components: list[RewardComponent] = Field(default_factory=list, max_length=64,
                                              description="Reward functions and weights when type is 'components'.")
    custom: list[CustomRewardUse] = Field(default_factory=list, max_length=16,
                                          description="Saved custom rewards added to the reward, each its own curve.")


class PreTrainingSection(_Section):
    enabled: bool = Field(True, description="SFT on formatted answers first, so the model learns the markers.")
    epochs: float = Field(2.0, gt=0, le=100, description="Passes over the SFT examples.")
    max_samples: int | None = Field(400, ge=1, le=100_000_000, description="SFT examples used at most.")
    learning_rate: float = Field(5e-4, gt=0, le=1.0, description="SFT learning rate.")
    batch_size: int = Field(8, ge=1, le=256, description="SFT examples per step.")
    lr_scheduler_type: Literal["constant", "linear", "cosine"] = Field("cosine", description="SFT learning-rate schedule.")


# The method names; tests/core/test_methods.py asserts they equal core.methods.METHODS (the schema never imports it).
Method = Literal["grpo", "qlora", "unsloth", "standard", "rag"]


class StandardSection(_Section):
    full_finetune: bool = Field(True, description="Train every weight (needs ~6.5 GB per billion parameters); "
                                                  "off: LoRA SFT, merged into the saved model.")
    epochs: float = Field(1.0, gt=0, le=100, allow_inf_nan=False, description="Passes over the training rows.")
    max_samples: int | None = Field(None, ge=1, le=10_000_000, description="Rows used at most; None: all.")
    completion_only_loss: bool = Field(True, description="Learn from the response tokens only, not the prompt.")
    use_system_prompt: bool = Field(False, description="Prepend dataset.system_prompt (the GRPO marker prompt "
                                                       "when empty) to every conversation.")


class QLoRASection(_Section):
    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type of the frozen base weights.")
    double_quant: bool = Field(True, description="Quantise the quantisation constants too (saves ~0.4 bit/param).")
    compute_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Dtype of the matmuls on the dequantised weights; bfloat16 on a recent GPU.")
    epochs: float = Field(1.0, gt=0, le=100, allow_inf_nan=False, description="Passes over the training rows.")
    max_samples: int | None = Field(None, ge=1, le=10_000_000, description="Rows used at most; None: all.")


class UnslothSection(_Section):
    objective: Literal["sft", "grpo"] = Field("sft", description="SFT on the responses, or GRPO with the "
                                                                 "reward section (both through TRL, Unsloth-patched).")
    load_in_4bit: bool = Field(True, description="Load the base in 4-bit (bitsandbytes) through Unsloth.")
    use_gradient_checkpointing: bool = Field(True, description="Unsloth's offloaded gradient checkpointing: "
                                                               "longer contexts for a little speed.")
    epochs: float = Field(1.0, gt=0, le=100, allow_inf_nan=False, description="SFT passes over the rows.")
    max_samples: int | None = Field(None, ge=1, le=10_000_000, description="Rows used at most; None: all.")


class RAGSection(_Section):
    chunk_size: int = Field(800, ge=50, le=20_000, description="Characters per chunk.")
    chunk_overlap: int = Field(100, ge=0, le=10_000, description="Characters shared by neighbouring chunks.")
    text_field: str | None = Field(None, max_length=200, description="Column to index; None: instruction and "
                                                                     "response together.")
    embedding_model: str = Field("all-MiniLM-L6-v2", min_length=1, max_length=500,
                                 description="sentence-transformers model: the bundled all-MiniLM-L6-v2, a local "
                                             "folder or a Hub id.")
    index_type: Literal["auto", "flat", "ivf", "hnsw"] = Field(
        "auto", description="auto: exact (flat) below index_threshold vectors, HNSW above.")
    index_threshold: int = Field(10_000, ge=100, le=100_000_000,
                                 description="Vector count from which 'auto' switches to an approximate index.")
    top_k: int = Field(4, ge=1, le=100, description="Chunks retrieved per question by default.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts embedded per batch.")
    then_sft: bool = Field(False, description="Afterwards fine-tune the generator with LoRA SFT on the dataset "
                                              "(saved in rag_model/generator/).")


class TrainingConfig(_Section):
    name: str = Field("untitled", min_length=1, max_length=200, description="A name for this run or saved config.")
    description: str = Field("", max_length=2000, description="Free text shown with the session or job.")
    method: Method = Field("grpo", description="grpo (default), qlora, unsloth (GPU only), standard (SFT) or rag.")
    model: ModelSection = Field(default_factory=ModelSection)
    dataset: DatasetSection = Field(default_factory=DatasetSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    grpo: GRPOSection = Field(default_factory=GRPOSection)
    reward: RewardSection = Field(default_factory=RewardSection)
    pre_training: PreTrainingSection = Field(default_factory=PreTrainingSection)
    standard: StandardSection = Field(default_factory=StandardSection)
    qlora: QLoRASection = Field(default_factory=QLoRASection)
    unsloth: UnslothSection = Field(default_factory=UnslothSection)
    rag: RAGSection = Field(default_factory=RAGSection)


def _cross_field_errors(config: TrainingConfig) -> list[dict[str, str]]:
    """Checks that span fields, each reported at the field the user should change."""
    errors = []

    def add(path: str, message: str, hint: str) -> None:
        errors.append({"path": path, "message": message, "hint": hint})

    t = config.training
    if t.max_new_tokens >= t.max_sequence_length:
        add("training.max_new_tokens", f"must be below max_sequence_length ({t.max_sequence_length})",
            "Lower max_new_tokens or raise max_sequence_length.")
    if t.deepspeed != "none" and t.num_gpus == 1:
        add("training.deepspeed", f"{t.deepspeed} shards across GPUs and needs num_gpus > 1",
            "Set training.num_gpus to the GPUs to train on, or set deepspeed to 'none'.")
    d = config.dataset
    if len({d.reasoning_start, d.reasoning_end, d.solution_start, d.solution_end}) != 4:
        add("dataset.solution_start", "the four markers must all differ", "Give each marker its own text.")
    if config.grpo.algorithm == "gspo" and config.grpo.importance_sampling_level == "token":
        add("grpo.importance_sampling_level", "gspo uses sequence-level importance sampling",
            "Set it to 'sequence' or leave it empty.")
    g = config.rag
    if config.method == "rag" and g.chunk_overlap >= g.chunk_size:
        add("rag.chunk_overlap", f"must be below chunk_size ({g.chunk_size})",
            "Lower chunk_overlap (about 10-20 % of chunk_size is typical).")
    if config.method == "qlora" and config.qlora.compute_dtype == "float16" and config.training.bf16:
        add("qlora.compute_dtype", "float16 compute conflicts with bf16 training", "Use bfloat16 or turn bf16 off.")
    from core.tracking import missing_trackers

    for name in missing_trackers(t.report_to):
        add("training.report_to", f"{name} is not installed on this server",
            f"Untick {name}, or install it on the server (pip install {name}) and restart.")
    errors += _reward_errors(config.reward)
    return errors


def _reward_errors(r: RewardSection) -> list[dict[str, str]]:
    """Preset ids and component names exist and every component's parameters fit its schema."""
    from pydantic import ValidationError as ParamsError

    from core.rewards import COMPONENTS, PRESETS

    errors = []
    if r.type == "preset" and r.preset_name not in PRESETS:
        errors.append({"path": "reward.preset_name", "message": f"unknown preset {r.preset_name!r}",
                       "hint": f"Use one of: {', '.join(PRESETS)}."})
    if r.type == "components" and not r.components:
        errors.append({"path": "reward.components", "message": "at least one reward component is needed",
                       "hint": "Add a component such as 'format'."})
    if r.type == "custom" and not r.custom:
        errors.append({"path": "reward.custom", "message": "at least one saved custom reward is needed",
                       "hint": "Save one in the Rewards step, or pick a preset."})
    lists = [("reward.components", r.components)] + [
        (f"reward.custom.{i}.components", use.components) for i, use in enumerate(r.custom)]
    for prefix, components in lists:
        for i, component in enumerate(components):
            if component.name not in COMPONENTS:
                errors.append({"path": f"{prefix}.{i}.name", "message": f"unknown reward {component.name!r}",
                               "hint": f"Use one of: {', '.join(COMPONENTS)}."})
                continue
            try:
                COMPONENTS[component.name].parse_params(component.params)
            except ParamsError as exc:
                for e in exc.errors(include_url=False):
                    errors.append({"path": ".".join([prefix, str(i), "params", *map(str, e["loc"])]),
                                   "message": e["msg"], "hint": _hint(e)})
    return errors


class ConfigValidationError(ValueError):
    """Every problem of a config at once, each with its field path and a hint."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def _hint(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "Remove this key; see GET /api/training/defaults for the accepted fields."
    if kind == "literal_error":
        return f"Use one of: {ctx.get('expected', '')}."
    if kind.startswith(("greater_than", "less_than")):
        return "Pick a value inside the allowed range."
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "Check the value's type."
    return ""


def parse_config(data: Any) -> TrainingConfig:
    """Validate a (possibly partial) config dict; missing fields take their defaults."""
    if not isinstance(data, dict):
        raise ConfigValidationError([{"path": "", "message": "the config must be a JSON object", "hint": ""}])
    try:
        config = TrainingConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigValidationError([
            {"path": ".".join(str(part) for part in error["loc"]), "message": error["msg"], "hint": _hint(error)}
            for error in exc.errors(include_url=False)
        ]) from None
    errors = _cross_field_errors(config)
    if errors:
        raise ConfigValidationError(errors)
    return config


def default_config() -> dict:
    return TrainingConfig().model_dump(mode="json")
