"""The one training-config schema: wizard, API, saved configs and CLI all validate with it.

pydantic gives us what the product asks for without hand-written walking:
unknown keys rejected (``extra="forbid"``), every error collected with its
field path, defaults filling any partial config, and a JSON form that is the
saved-config format of PRODUCT.md. Cross-field checks raise errors that say
how to fix them (TRL's habit).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.datasets.prompts import DEFAULT_MARKERS, Markers, grpo_system_prompt, render_system_prompt
from core.default_model import DEFAULT_MODEL_ID

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSection(_Section):
    name: str = Field(DEFAULT_MODEL_ID, description="Hub id, catalogue id or local folder of the base model.")
    lora_rank: int = Field(16, ge=1, le=512, description="LoRA rank r; 8-64 is typical.")
    lora_alpha: int = Field(32, ge=1, description="LoRA alpha; about 2 x rank.")
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA dropout, 0-0.1.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Modules that get LoRA adapters, or 'all-linear'.")


class DatasetSection(_Section):
    source: str = Field("builtin:arithmetic", description="builtin:<name>, dataset:<id> or a Hub id.")
    split: str = Field("train", description="Split to train on.")
    eval_split: str | None = Field(None, description="Held-out split for eval loss during SFT (optional).")
    config_name: str | None = Field(None, description="Hub dataset config (e.g. 'main' for GSM8K).")
    instruction_field: str | None = Field(None, description="Column holding the prompt; None: detected.")
    response_field: str | None = Field(None, description="Column holding the answer; None: detected.")
    max_samples: int | None = Field(None, ge=1, description="Use at most this many rows (seeded shuffle).")
    system_prompt: str | None = Field(None, description="System prompt; None: the GRPO default built from the markers.")
    reasoning_start: str = Field(DEFAULT_MARKERS.reasoning_start, min_length=1)
    reasoning_end: str = Field(DEFAULT_MARKERS.reasoning_end, min_length=1)
    solution_start: str = Field(DEFAULT_MARKERS.solution_start, min_length=1)
    solution_end: str = Field(DEFAULT_MARKERS.solution_end, min_length=1)

    def resolved_system_prompt(self) -> str:
        """The user's prompt with ``{reasoning_start}``-style placeholders filled, or the GRPO default."""
        markers = Markers(self.reasoning_start, self.reasoning_end, self.solution_start, self.solution_end)
        return render_system_prompt(self.system_prompt, markers) if self.system_prompt else grpo_system_prompt(markers)


Optim = Literal["adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "paged_adamw_32bit", "paged_adamw_8bit",
                "adamw_8bit"]


class TrainingSection(_Section):
    num_epochs: float = Field(1.0, gt=0, le=100, description="Passes over samples_per_epoch prompts.")
    samples_per_epoch: int | None = Field(60, ge=1, description="Prompts per epoch (seeded subset); None: all rows.")
    batch_size: int = Field(2, ge=1, le=256, description="Prompts per device step (GRPO samples num_generations each).")
    gradient_accumulation_steps: int = Field(1, ge=1, le=256)
    learning_rate: float = Field(2e-5, gt=0, le=1.0)
    warmup_steps: int = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    lr_scheduler_type: Literal["constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
                               "polynomial", "inverse_sqrt"] = "constant"
    optim: Optim = Field("adamw_torch", description="Paged/8-bit optimizers need a GPU; mapped to adamw_torch on CPU.")
    bf16: bool = Field(False, description="bfloat16 training; GPU only, ignored with a warning on CPU.")
    max_sequence_length: int = Field(512, ge=32, le=131072, description="Prompt + completion tokens.")
    max_new_tokens: int = Field(48, ge=1, le=32768, description="Completion length limit while sampling.")
    temperature: float = Field(1.0, gt=0, le=5.0)
    top_p: float = Field(1.0, gt=0, le=1.0)
    top_k: int = Field(0, ge=0, le=100000, description="Sample from the k most likely tokens only; 0: no limit.")
    num_generations: int = Field(4, ge=2, le=64, description="Completions per prompt (the GRPO group).")
    seed: int = Field(3407, ge=0)
    save_steps: int = Field(10, ge=1, description="Checkpoint every N steps (stop also checkpoints).")
    logging_steps: int = Field(1, ge=1)
    rollout_engine: Literal["auto", "transformers", "llama_cpp", "vllm"] = Field(
        "auto", description="What samples the GRPO completions. auto: vLLM (colocated) with a GPU and vLLM "
        "installed, llama.cpp on a CPU, else transformers. llama_cpp is CPU-only; vllm needs a GPU.")


class GRPOSection(_Section):
    algorithm: Literal["grpo", "gspo", "or_grpo"] = Field(
        "grpo", description="gspo: sequence-level importance sampling; or_grpo: outlier-robust advantages.")
    kl_penalty: float = Field(0.0, ge=0.0, le=10.0, description="beta; 0 skips the reference model (faster).")
    clip_range: float = Field(0.2, gt=0.0, lt=1.0, description="PPO-style clip epsilon.")
    importance_sampling_level: Literal["token", "sequence"] | None = Field(
        None, description="None: 'sequence' for gspo, else 'token'.")
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo"] = "dapo"
    robust_clip: float = Field(3.0, gt=0.0, description="or_grpo: advantages are clipped to +/- this many robust sigmas.")

    @property
    def resolved_importance_sampling_level(self) -> str:
        return self.importance_sampling_level or ("sequence" if self.algorithm == "gspo" else "token")


class RewardComponent(_Section):
    name: str
    weight: float = 1.0


class RewardSection(_Section):
    type: Literal["preset", "components"] = "preset"
    preset_name: str | None = Field("math", description="Preset used when type is 'preset'.")
    components: list[RewardComponent] = Field(default_factory=list,
                                              description="Reward functions and weights when type is 'components'.")


class PreTrainingSection(_Section):
    enabled: bool = Field(True, description="SFT on formatted answers first, so the model learns the markers.")
    epochs: float = Field(1.0, gt=0, le=100)
    max_samples: int | None = Field(160, ge=1)
    learning_rate: float = Field(2e-4, gt=0, le=1.0)
    batch_size: int = Field(4, ge=1, le=256)
    lr_scheduler_type: Literal["constant", "linear", "cosine"] = "cosine"


class TrainingConfig(_Section):
    name: str = Field("untitled", min_length=1, max_length=200)
    model: ModelSection = Field(default_factory=ModelSection)
    dataset: DatasetSection = Field(default_factory=DatasetSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    grpo: GRPOSection = Field(default_factory=GRPOSection)
    reward: RewardSection = Field(default_factory=RewardSection)
    pre_training: PreTrainingSection = Field(default_factory=PreTrainingSection)


def _cross_field_errors(config: TrainingConfig) -> list[dict[str, str]]:
    """Checks that span fields, each reported at the field the user should change."""
    errors = []

    def add(path: str, message: str, hint: str) -> None:
        errors.append({"path": path, "message": message, "hint": hint})

    t = config.training
    if t.max_new_tokens >= t.max_sequence_length:
        add("training.max_new_tokens", f"must be below max_sequence_length ({t.max_sequence_length})",
            "Lower max_new_tokens or raise max_sequence_length.")
    d = config.dataset
    if len({d.reasoning_start, d.reasoning_end, d.solution_start, d.solution_end}) != 4:
        add("dataset.solution_start", "the four markers must all differ", "Give each marker its own text.")
    if config.grpo.algorithm == "gspo" and config.grpo.importance_sampling_level == "token":
        add("grpo.importance_sampling_level", "gspo uses sequence-level importance sampling",
            "Set it to 'sequence' or leave it empty.")
    r = config.reward
    from core.training.rewards import PRESETS, REWARD_FACTORIES

    if r.type == "preset" and r.preset_name not in PRESETS:
        add("reward.preset_name", f"unknown preset {r.preset_name!r}", f"Use one of: {', '.join(PRESETS)}.")
    if r.type == "components":
        if not r.components:
            add("reward.components", "at least one reward component is needed", "Add a component such as 'format'.")
        for i, component in enumerate(r.components):
            if component.name not in REWARD_FACTORIES:
                add(f"reward.components.{i}.name", f"unknown reward {component.name!r}",
                    f"Use one of: {', '.join(REWARD_FACTORIES)}.")
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
