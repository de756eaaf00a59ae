"""Reward presets: weighted components under a stable id (never looked up by display name).

Each preset says which dataset fields it needs, the algorithm it suits, and one completion that scores high
and one that scores low (the tests hold every preset to them; the Rewards step shows them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.datasets.prompts import DEFAULT_MARKERS as M

CATEGORIES = ("Algorithm Implementation", "Chain of Thought", "Citation Format", "Code Generation",
              "Concise Summarization", "Creative Writing", "Math & Science", "Programming", "Reasoning",
              "Question Answering", "Scientific Calculation", "Step-by-Step Instructions", "Markdown Formatting",
              "Format")


@dataclass(frozen=True)
class Part:
    component: str
    weight: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    category: str
    description: str
    parts: tuple[Part, ...]
    algorithm: str  # grpo | gspo | or_grpo
    why_algorithm: str
    example_high: dict[str, Any]  # {prompt, completion, fields}
    example_low: dict[str, Any]

    def needs(self) -> list[str]:
        from core.rewards import needed_fields

        found: list[str] = []
        for part in self.parts:
            for name in needed_fields(part.component, part.params):
                if name not in found:
                    found.append(name)
        return found

    def describe(self) -> dict[str, Any]:
        from core.rewards import get_component

        return {"id": self.id, "name": self.name, "category": self.category, "description": self.description,
                "components": [{"name": p.component, "weight": p.weight, "params": p.params,
                                "summary": get_component(p.component).summary} for p in self.parts],
                "needs": self.needs(), "algorithm": self.algorithm, "why_algorithm": self.why_algorithm,
                "example_high": self.example_high, "example_low": self.example_low}


def _wrap(reasoning: str, answer: str) -> str:
    return M.wrap(reasoning, answer)


def _ex(prompt: str, completion: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": prompt, "completion": completion, "fields": fields}


_ADD_CODE = "```python\ndef add(a, b):\n    return a + b\n```"
_ADD_TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]
_TOKEN_ALGO = "Short answers where each token matters: token-level GRPO."
_SEQ_ALGO = "Long free-form text judged as a whole: GSPO's sequence-level ratios are steadier."
_ROBUST_ALGO = "Pass/fail scores give rare outliers: OR-GRPO's robust advantages keep them from dominating."
_ARTICLE = ("Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen. It happens "
            "in chloroplasts, where chlorophyll absorbs light. The light reactions make ATP, and the Calvin cycle "
            "fixes carbon into sugar. Without photosynthesis there would be little oxygen in the atmosphere and "
            "almost no food for animals.")

PRESETS: dict[str, Preset] = {p.id: p for p in (
    Preset("math", "Math (format + correct answer)", "Math & Science",
           "The marker format plus an exactly right final answer.",
           (Part("format", 0.5), Part("correctness", 1.0)), "grpo", _TOKEN_ALGO,
           _ex("What is 12 + 30?", _wrap("12 + 30 = 42", "42"), answer="42"),
           _ex("What is 12 + 30?", "I think it is about 40.", answer="42")),
    Preset("format", "Format only", "Format", "Only the marker format; teaches the layout before the content.",
           (Part("format", 1.0),), "grpo", _TOKEN_ALGO,
           _ex("Any question", _wrap("some thinking", "an answer")), _ex("Any question", "Just an answer.")),
    Preset("chain_of_thought", "Chain of thought", "Chain of Thought",
           "Visible step-by-step reasoning in the markers that leads to the right answer.",
           (Part("section_content", 0.5), Part("reasoning_quality", 1.0), Part("correctness", 1.0)), "grpo",
           _TOKEN_ALGO,
           _ex("Tom has 3 bags of 4 apples. How many apples?",
               _wrap("Each bag has 4 apples. There are 3 bags, so we multiply. Therefore 3 x 4 = 12.", "12"),
               answer="12"),
           _ex("Tom has 3 bags of 4 apples. How many apples?", _wrap("", "7"), answer="12")),
    Preset("citation", "Citations (APA)", "Citation Format", "An APA in-text citation and a reference entry.",
           (Part("citation", 1.0, {"style": "apa"}), Part("length", 0.2, {"unit": "words", "min": 15, "max": 400})),
           "gspo", _SEQ_ALGO,
           _ex("Cite a source on sleep and memory.",
               "Sleep consolidates memory (Walker, 2017).\n\nReferences\nWalker, M. (2017). Why we sleep. Scribner."),
           _ex("Cite a source on sleep and memory.", "Sleep is good.")),
    Preset("code_generation", "Code generation", "Code Generation",
           "Code in a fenced block that parses (Python, JSON or SQL by its fence tag).",
           (Part("code_syntax", 1.0, {"language": "auto"}), Part("markdown", 0.3, {
               "headings": False, "lists": False, "code_fences": True})), "grpo", _TOKEN_ALGO,
           _ex("Write add(a, b) in Python.", _ADD_CODE),
           _ex("Write add(a, b) in Python.", "def add(a, b) return a +")),
    Preset("algorithm", "Algorithm implementation", "Algorithm Implementation",
           "Working code that passes the tests, with the approach explained in steps.",
           (Part("code_execution", 1.0), Part("code_syntax", 0.3), Part("steps", 0.2, {"min_steps": 2})),
           "or_grpo", _ROBUST_ALGO,
           _ex("Implement add(a, b).", "1. Take both numbers.\n2. Return their sum.\n" + _ADD_CODE, tests=_ADD_TESTS),
           _ex("Implement add(a, b).", "```python\ndef add(a, b):\n    return a - b +\n```", tests=_ADD_TESTS)),
    Preset("summarization", "Concise summary", "Concise Summarization",
           "Covers the reference's key terms in a fraction of its length.",
           (Part("summary", 1.0, {"max_ratio": 0.6}), Part("length", 0.3, {"unit": "words", "min": 8, "max": 60})),
           "gspo", _SEQ_ALGO,
           _ex("Summarise the text.", "Photosynthesis in chloroplasts turns sunlight, water and carbon dioxide "
               "into glucose and oxygen; chlorophyll absorbs light.", response=_ARTICLE),
           _ex("Summarise the text.", "It is a nice text about things.", response=_ARTICLE)),
    Preset("creative_writing", "Creative writing", "Creative Writing",
           "Varied vocabulary, no repeated lines, a reasonable length.",
           (Part("creative", 1.0), Part("length", 0.3, {"unit": "words", "min": 30, "max": 600})), "gspo", _SEQ_ALGO,
           _ex("Write a short story opening.",
               "The lighthouse keeper counted ships the way other people counted sheep, but tonight the horizon "
               "stayed empty. Wind rattled the brass door while gulls argued over a cracked crate on the rocks. "
               "Somewhere below, a bell began to ring although nobody had touched it for forty years."),
           _ex("Write a short story opening.", "The cat sat. The cat sat. The cat sat. The cat sat.")),
    Preset("programming", "Programming (tests pass)", "Programming",
           "The completion's code passes the dataset's test statements, run in the sandbox.",
           (Part("code_execution", 1.0), Part("code_syntax", 0.5)), "or_grpo", _ROBUST_ALGO,
           _ex("Write add(a, b).", _ADD_CODE, tests=_ADD_TESTS),
           _ex("Write add(a, b).", "```python\ndef add(a, b):\n    return a * b\n```", tests=_ADD_TESTS)),
    Preset("reasoning", "Reasoning", "Reasoning",
           "Explicit reasoning with connectives and a conclusion that matches the reference.",
           (Part("reasoning_quality", 1.0), Part("section_content", 0.5),
            Part("exact_match", 1.0, {"where": "solution"})), "grpo", _TOKEN_ALGO,
           _ex("All cats are animals. Tom is a cat. Is Tom an animal?",
               _wrap("Tom is a cat. All cats are animals, so Tom is an animal. Therefore the answer is yes.", "yes"),
               answer="yes"),
           _ex("All cats are animals. Tom is a cat. Is Tom an animal?", "no", answer="yes")),
    Preset("question_answering", "Question answering", "Question Answering",
           "The stated answer matches the reference (normalised), or at least contains it.",
           (Part("exact_match", 1.0), Part("contains", 0.5, {"field": "answer", "mode": "any"}),
            Part("length", 0.2, {"unit": "words", "min": 1, "max": 60})), "grpo", _TOKEN_ALGO,
           _ex("What is the capital of France?", "Paris", answer="Paris"),
           _ex("What is the capital of France?", "I am not sure, maybe a city in Germany like Berlin or Munich, "
               "hard to say without looking it up somewhere first.", answer="Paris")),
    Preset("scientific_calculation", "Scientific calculation", "Scientific Calculation",
           "A final number within 1% of the reference (units stripped), partial credit within 10%, in the format.",
           (Part("numeric_match", 1.0, {"rel_tol": 0.01, "partial_credit": 0.3}), Part("format", 0.3)), "grpo",
           _TOKEN_ALGO,
           _ex("Speed of a car covering 150 km in 2 h?", _wrap("v = d / t = 150 / 2", "75 km/h"), answer="75"),
           _ex("Speed of a car covering 150 km in 2 h?", "300 km/h", answer="75")),
    Preset("step_by_step", "Step-by-step instructions", "Step-by-Step Instructions",
           "Numbered steps (or first/then/finally) as a list of reasonable length.",
           (Part("steps", 1.0, {"min_steps": 3}), Part("markdown", 0.3, {"headings": False, "lists": True}),
            Part("length", 0.2, {"unit": "words", "min": 10, "max": 300})), "grpo", _TOKEN_ALGO,
           _ex("How do I make tea?", "1. Boil water.\n2. Put a tea bag in a cup.\n3. Pour the water and wait "
               "three minutes.\n4. Remove the bag."),
           _ex("How do I make tea?", "Tea.")),
    Preset("markdown", "Markdown formatting", "Markdown Formatting", "Headings, lists and emphasis in markdown.",
           (Part("markdown", 1.0, {"headings": True, "lists": True, "emphasis": True}),
            Part("length", 0.2, {"unit": "words", "min": 10, "max": 500})), "gspo", _SEQ_ALGO,
           _ex("Describe Python.", "# Python\n\nPython is a **readable** language.\n\n- dynamic typing\n- large "
               "standard library\n- runs everywhere"),
           _ex("Describe Python.", "python is a language")),
    Preset("json_output", "Structured JSON", "Format", "Valid JSON, optionally with required keys.",
           (Part("json_valid", 1.0),), "grpo", _TOKEN_ALGO,
           _ex("Give a person as JSON.", '{"name": "Ada", "age": 36}'),
           _ex("Give a person as JSON.", "name: Ada, age 36")),
)}


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except KeyError:
        raise KeyError(f"unknown preset {preset_id!r}; use one of: {', '.join(PRESETS)}") from None
