"""The curated Hugging Face datasets the product offers, with the defaults that make them train as is.

Sizes and counts are approximate (as published on each dataset card) and only
guide the choice; the real figures come from processing once loaded.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.datasets.spec import FieldMapping

CATEGORIES = ("Math", "Coding", "General", "Q&A")


@dataclass(frozen=True)
class CatalogEntry:
    hub_id: str
    title: str
    category: str
    description: str
    approx_rows: int
    approx_size: str
    split: str
    mapping: FieldMapping
    config_name: str | None = None
    splits: tuple[str, ...] = ("train",)
    license: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["source"] = self.hub_id
        return data


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("tatsu-lab/alpaca", "Alpaca", "General",
                 "52 K instruction/response pairs generated with text-davinci-003 (Self-Instruct).",
                 52_002, "≈ 24 MB", "train", FieldMapping(instruction="instruction", response="output",
                                                            input="input"), license="CC BY-NC 4.0"),
    CatalogEntry("openai/gsm8k", "GSM8K", "Math",
                 "Grade-school math word problems; the answer ends with '#### <number>'.",
                 8_792, "≈ 5 MB", "train", FieldMapping(instruction="question", response="answer"),
                 config_name="main", splits=("train", "test"), license="MIT"),
    CatalogEntry("nvidia/OpenMathReasoning", "OpenMath Reasoning", "Math",
                 "Olympiad-level problems with long chain-of-thought solutions (advanced math).",
                 3_201_061, "≈ 50 GB (all splits)", "cot",
                 FieldMapping(instruction="problem", response="generated_solution"),
                 splits=("cot", "tir", "genselect"), license="CC BY 4.0"),
    CatalogEntry("sahil2801/CodeAlpaca-20k", "Code Alpaca 20k", "Coding",
                 "20 K programming instructions with code answers, in the Alpaca format.",
                 20_022, "≈ 8 MB", "train", FieldMapping(instruction="instruction", response="output",
                                                           input="input"), license="CC BY 4.0"),
    CatalogEntry("databricks/databricks-dolly-15k", "Dolly 15k", "General",
                 "15 K human-written instruction/response pairs with optional context.",
                 15_011, "≈ 13 MB", "train", FieldMapping(instruction="instruction", response="response",
                                                            input="context"), license="CC BY-SA 3.0"),
    CatalogEntry("microsoft/orca-math-word-problems-200k", "Orca Math 200k", "Math",
                 "200 K math word problems with worked answers.",
                 200_035, "≈ 85 MB", "train", FieldMapping(instruction="question", response="answer"),
                 license="MIT"),
    CatalogEntry("rajpurkar/squad_v2", "SQuAD v2", "Q&A",
                 "Reading comprehension: a question about a Wikipedia passage (context); some are unanswerable.",
                 130_319, "≈ 17 MB", "train", FieldMapping(instruction="question", response="answers",
                                                            input="context"),
                 config_name="squad_v2", splits=("train", "validation"), license="CC BY-SA 4.0"),
)

_BY_ID = {entry.hub_id.lower(): entry for entry in CATALOG}


def find_entry(hub_id: str) -> CatalogEntry | None:
    return _BY_ID.get(hub_id.lower())


def catalog_entries(category: str | None = None) -> list[CatalogEntry]:
    if not category:
        return list(CATALOG)
    return [e for e in CATALOG if e.category.lower() == category.lower()]
