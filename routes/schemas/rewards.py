"""The reward workbench (routes/rewards.py): presets and components, testing rewards on samples, dataset rows as
samples, recommendations, saved custom rewards, reward-health alerts.

A component's ``params`` are checked by that component's own ``Params`` model from core/rewards (the models the
training config and the services validate with), and the document shows each component's parameters: see
:class:`RewardComponentUse`."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import TypeAdapter, ValidationInfo, create_model, field_validator

from core.rewards import COMPONENTS, PRESETS
from core.training_config import DatasetSection
from routes.schemas.common import Field, In, Out, many
from services.ids import MAX_ID
from services.rewards.testing import MAX_TEST_SAMPLES
from services.rewards.validation import MAX_CODE, MAX_NAME

ComponentName = Literal[tuple(COMPONENTS)]  # type: ignore[valid-type]
PresetId = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
MAX_COMPONENTS = 64  # a training config's reward.components bound: a longer list could never be trained
RewardId = Annotated[int, Field(ge=1, le=MAX_ID)]
Weight = Annotated[float, Field(ge=-100.0, le=100.0, description="Weight in the reward sum.")]


def _variant(name: str) -> type:
    """``{name: <name>, weight, params: <that component's Params>}``: one branch of the documented union."""
    component = COMPONENTS[name]
    title = "".join(part.title() for part in name.split("_"))
    return create_model(f"Reward{title}Use", __base__=In, __doc__=component.summary,
                        name=(Literal[name], ...), weight=(Weight, 1.0),
                        params=(component.params | None, Field(None, description="Left out: the defaults.")))


_DOCUMENTED = TypeAdapter(Annotated[Union[tuple(_variant(name) for name in COMPONENTS)],  # noqa: UP007
                                    Field(discriminator="name")])


class RewardComponentUse(In):
    """A reward component with its weight and parameters (GET /api/rewards/components lists them)."""

    name: ComponentName = Field(description="The component (GET /api/rewards/components).")
    weight: Weight = 1.0
    params: dict[str, Any] | None = Field(None, description="The component's parameters; left out: the defaults.")

    @field_validator("params")
    @classmethod
    def _fit_the_component(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        # The component's own Params model, so an error's path is components.<i>.params.<key> (what the Rewards
        # step places beside the field); a discriminated union would put the component's name into that path.
        component = COMPONENTS.get(info.data.get("name"))
        if component is not None:
            component.parse_params(value or {})
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        # Documented as the union of every component with its own Params schema (what the validator checks).
        return handler(_DOCUMENTED.core_schema)


Components = list[RewardComponentUse]


class RewardSample(In):
    prompt: str | None = Field(None, description="Cut to 20 000 characters.")
    completion: str = Field(description="The text to score (cut to 20 000 characters).")
    fields: dict[str, Any] | None = Field(None, description="The row's fields the rewards read (answer, tests…).")


class RewardTest(In):
    """Which reward to test (the first given of preset, components, custom_id, code) and the samples."""

    preset: PresetId | None = Field(None, description="A preset (GET /api/rewards/presets).")
    components: Components | None = Field(None, max_length=MAX_COMPONENTS, description="At least one component.")
    custom_id: RewardId | None = Field(None, description="A saved custom reward (GET /api/rewards/custom).")
    code: str | None = Field(None, max_length=MAX_CODE,
                             description="def reward(prompt, completion, **fields) -> float | None, run in the "
                                         "sandbox.")
    samples: list[RewardSample] = Field(max_length=MAX_TEST_SAMPLES, description="At least one sample.")
    markers: DatasetSection | None = Field(None, description="The reasoning and solution markers (a config's "
                                                             "dataset section); left out: the defaults.")


DatasetText = Annotated[str, Field(max_length=MAX_NAME)]


class RewardDatasetRef(In):
    """The dataset whose rows are read: dataset_id or source."""

    dataset_id: RewardId | None = Field(None, description="An uploaded dataset (GET /api/datasets/list).")
    source: DatasetText | None = Field(None, description="builtin:<name>, dataset:<id> or a Hub id.")
    split: DatasetText | None = Field(None, description="Default: train.")
    instruction_field: DatasetText | None = None
    response_field: DatasetText | None = None


class RewardSamplesRequest(RewardDatasetRef):
    count: int = Field(3, ge=1, le=20, description="Rows turned into samples.")
    markers: DatasetSection | None = Field(None, description="The markers the good completions are written in.")


class RewardCustomCreate(In):
    name: str = Field(description="1-100 characters (surrounding spaces removed); unique among your rewards.")
    kind: Literal["components", "code"]
    description: str | None = Field(None, description="Cut to 1000 characters.")
    components: Components | None = Field(None, max_length=MAX_COMPONENTS,
                                          description="kind components: at least one component.")
    code: str | None = Field(None, max_length=MAX_CODE, description="kind code: the reward function.")


class RewardCustomUpdate(RewardCustomCreate):
    """The keys given are changed."""

    name: str | None = Field(None, description="1-100 characters (surrounding spaces removed).")
    kind: Literal["components", "code"] | None = None


# -- responses --------------------------------------------------------------------------------------------------
class RewardPreset(Out):
    id: str
    name: str
    category: str
    description: str
    components: list[dict[str, Any]] = many("Its components, weights and parameters.")
    needs: list[str] = many("The dataset fields it reads.")
    algorithm: str | None = None


class RewardPresets(Out):
    presets: list[RewardPreset]


class RewardSandbox(Out):
    available: bool = Field(description="Whether code rewards can run on this server.")
    reason: str | None = None


class RewardComponentInfo(Out):
    name: str
    family: str
    summary: str
    needs: list[str]
    bounds: list[float]
    params: dict[str, Any] = Field(description="The JSON Schema of its parameters.")


class RewardComponents(Out):
    components: list[RewardComponentInfo]
    sandbox: RewardSandbox


class RewardScoredSample(Out):
    total: float | None = Field(description="The weighted sum of the scores that apply; null when none does.")
    normalised: float | None = None
    components: list[dict[str, Any]] = many("Each reward's name, weight, score, note and summary.")


class RewardTestResult(Out):
    samples: list[RewardScoredSample]
    warnings: list[dict[str, Any]] = many("Rewards that give no learning signal, fields no sample has.")


class RewardDatasetSample(Out):
    prompt: str
    fields: dict[str, Any]
    good: str = Field(description="The reference answer in the marker format.")
    bad: str


class RewardSamples(Out):
    samples: list[RewardDatasetSample]


class RewardRecommendation(Out):
    preset_id: str
    name: str
    category: str
    score: float
    reason: str
    algorithm: str | None = None


class RewardRecommendations(Out):
    rows_examined: int
    recommendations: list[RewardRecommendation]


class RewardCustom(Out):
    id: int
    name: str
    metric: str = Field(description="The name its curve is logged under (rewards/<metric>/mean).")
    kind: str
    description: str | None = None
    components: list[dict[str, Any]] | None = None
    code: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class RewardCustomEnvelope(Out):
    reward: RewardCustom


class RewardCustomList(Out):
    rewards: list[RewardCustom]
    sandbox: RewardSandbox


class RewardAlert(Out):
    code: str
    component: str | None = None
    first_step: int | None = None
    last_step: int | None = None
    active: bool
    message: str
    hint: str | None = None


class RewardHealth(Out):
    session_id: str
    thresholds: dict[str, Any]
    alerts: list[RewardAlert]

