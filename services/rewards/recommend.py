"""Presets ranked for a dataset from what its rows look like, each with the reason."""
from __future__ import annotations

import re
from statistics import mean
from typing import Any

from core.rewards import PRESETS
from core.rewards.structure import APA_IN_TEXT, MLA_IN_TEXT
from core.rewards.text import parse_number
from core.training.prompts import split_reasoning
from services.rewards.testing import dataset_rows
from services.rewards.validation import bad_request, check_dataset_request

_CODE = re.compile(r"```|^\s*(def|class|function|public|#include|import)\b|=>|;\s*$", re.M)
_STEPS = re.compile(r"^\s*(?:step\s*)?\d+[.)]\s+\S", re.I | re.M)


def recommend(body: dict[str, Any]) -> dict[str, Any]:
    """Presets ranked for the dataset's rows, each with the reason, from what the answers look like."""
    rows = dataset_rows(check_dataset_request(body))
    if not rows:
        raise bad_request("The dataset has no usable rows.", "dataset_id")
    responses = [str(r.get("response", "")) for r in rows]
    instructions = [str(r.get("instruction", "")).lower() for r in rows]
    answers = [split_reasoning(r)[1] for r in rows]

    def share(flags) -> float:
        flags = list(flags)
        return sum(map(bool, flags)) / len(flags) if flags else 0.0  # e.g. no row has a non-empty response

    def is_number(answer: str) -> bool:  # '42', '1,234', '3/4', '12 cm'; not 'City0'
        return parse_number(answer) is not None and len(answer.split()) <= 4 and \
            not re.search(r"[A-Za-z]{3,}", answer)

    numeric = share(is_number(a) for a in answers)
    code = share(_CODE.search(r) for r in responses)
    cites = share(APA_IN_TEXT.search(r) or MLA_IN_TEXT.search(r) for r in responses)
    length = mean(len(r.split()) for r in responses)
    summary_asked = share("summar" in i or "tl;dr" in i for i in instructions)
    creative = share(re.search(r"\b(story|poem|creative|haiku|imagine)\b", i) for i in instructions)
    steps = share(len(_STEPS.findall(r)) >= 2 for r in responses)
    markdown = share(re.search(r"^#{1,6}\s", r, re.M) for r in responses)
    json_like = share(r.strip()[:1] in "{[" and r.strip()[-1:] in "}]" for r in responses if r.strip())
    short_text = share(len(a.split()) <= 6 and not is_number(a) for a in answers)
    has_tests = share(r.get("tests") for r in rows)
    scientific = share(re.search(r"\b(speed|velocity|mass|energy|force|mol|kg|km|m/s|°c|joule|volt)\b", i)
                       for i in instructions)

    found: dict[str, tuple[float, str]] = {}

    def add(preset: str, score: float, reason: str) -> None:
        if score > found.get(preset, (0.0, ""))[0]:
            found[preset] = (round(score, 3), reason)

    if numeric >= 0.5:
        add("math", 0.5 + 0.5 * numeric, f"{numeric:.0%} of the answers are numbers: an exact numeric answer "
                                          "plus the marker format")
        add("chain_of_thought", 0.4 + 0.3 * numeric, "numeric answers reached by worked steps")
        if scientific >= 0.2:
            add("scientific_calculation", 0.55 + 0.4 * scientific, f"{scientific:.0%} of the prompts mention physical "
                                                                   "quantities or units: tolerance and partial credit")
    if code >= 0.3:
        add("code_generation", 0.5 + 0.45 * code, f"{code:.0%} of the answers hold code (fences or signatures)")
        if has_tests:
            add("programming", 0.6 + 0.4 * has_tests, "the rows carry test cases: run them in the sandbox")
            add("algorithm", 0.5 + 0.3 * has_tests, "code with tests, where the approach should be explained")
    if cites >= 0.2:
        add("citation", 0.5 + 0.5 * cites, f"{cites:.0%} of the answers cite sources (APA/MLA patterns)")
    if summary_asked >= 0.3 or length >= 120:
        add("summarization", 0.45 + 0.5 * max(summary_asked, min(1.0, length / 300)) * (1 if summary_asked else 0.6),
            "the prompts ask for summaries" if summary_asked >= 0.3 else
            f"long references ({length:.0f} words on average): reward coverage in fewer words")
    if creative >= 0.2:
        add("creative_writing", 0.5 + 0.45 * creative, f"{creative:.0%} of the prompts ask for creative writing")
    if steps >= 0.3:
        add("step_by_step", 0.5 + 0.4 * steps, f"{steps:.0%} of the answers are numbered steps")
    if markdown >= 0.3:
        add("markdown", 0.5 + 0.4 * markdown, f"{markdown:.0%} of the answers use markdown headings")
    if json_like >= 0.5:
        add("json_output", 0.5 + 0.45 * json_like, f"{json_like:.0%} of the answers are JSON")
    if short_text >= 0.5:
        add("question_answering", 0.5 + 0.4 * short_text, f"{short_text:.0%} of the answers are short texts: "
                                                            "exact (normalised) match")
        add("reasoning", 0.3 + 0.3 * short_text, "short answers that benefit from visible reasoning")
    add("format", 0.2, "always applicable: teaches the reasoning/answer markers")
    ranked = sorted(found.items(), key=lambda item: -item[1][0])
    return {"rows_examined": len(rows), "recommendations": [
        {"preset_id": pid, "name": PRESETS[pid].name, "category": PRESETS[pid].category, "score": score,
         "reason": reason, "algorithm": PRESETS[pid].algorithm} for pid, (score, reason) in ranked]}
