"""Typed SQLAlchemy 2 models, one module per feature. Importing this package registers every table."""
from services.models.base import utcnow  # noqa: F401
from services.models.settings import Setting  # noqa: F401
from services.models.datasets import DatasetRecord, PromptTemplate  # noqa: F401
from services.models.training import TrainingMetric, TrainingSample, TrainingSession  # noqa: F401
from services.models.rewards import CustomReward, RewardHealthAlert  # noqa: F401
from services.models.wizard import SavedConfigMeta, WizardDraft  # noqa: F401
from services.models.exports import BatchRun, Evaluation, ExportJob, TestRun  # noqa: F401
from services.models.auth import ApiToken, AuditEvent, User, UserSecret  # noqa: F401
from services.models.registry import ModelAlias, ModelVersion, RegisteredModel  # noqa: F401
from services.models.projects import Project  # noqa: F401
from services.models.workers import Worker  # noqa: F401
