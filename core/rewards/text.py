"""Answer parsing shared by the scorers: numbers in their many spellings, boxed answers, normalised text."""
from __future__ import annotations

import math
import re
import string
from fractions import Fraction

from core.datasets.prompts import Markers

_NUMBER = re.compile(r"[-−]?\s?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?\s*%?|[-−]?\.\d+%?")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}")
_GSM8K_TAIL = re.compile(r"####\s*(.+?)\s*$", re.S)
_ANSWER_IS = re.compile(r"(?:final answer|answer)\s*(?:is|:|=)\s*(.+)", re.I)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def extract_solution(text: str, markers: Markers) -> str | None:
    """The text between the last solution start marker and its end marker (or the end of the text)."""
    start = text.rfind(markers.solution_start)
    if start < 0:
        return None
    start += len(markers.solution_start)
    end = text.find(markers.solution_end, start)
    return (text[start:end] if end >= 0 else text[start:]).strip()


def extract_reasoning(text: str, markers: Markers) -> str | None:
    start = text.find(markers.reasoning_start)
    if start < 0:
        return None
    start += len(markers.reasoning_start)
    end = text.find(markers.reasoning_end, start)
    return text[start:end].strip() if end >= 0 else None


def boxed(text: str) -> str | None:
    """Contents of the last ``\\boxed{...}`` (braces matched, so ``\\boxed{\\frac{1}{2}}`` works)."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return None


def final_answer(text: str, markers: Markers | None = None) -> str:
    """Where a completion states its answer: solution markers, ``\\boxed{}``, a GSM8K ``####`` tail,
    'the answer is ...', else the last non-empty line."""
    if markers is not None:
        found = extract_solution(text, markers)
        if found is not None:
            return found
    for finder in (boxed, lambda t: (m := _GSM8K_TAIL.search(t)) and m.group(1),
                   lambda t: (m := list(_ANSWER_IS.finditer(t))) and m[-1].group(1)):
        found = finder(text)
        if found:
            return found.strip()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse_number(text: str) -> float | None:
    """A single number in ``text``: '1,234.5', '-3', '3/4', '\\frac{3}{4}', '50%' (= 50), '$12', '12 cm'."""
    text = _LATEX_FRAC.sub(lambda m: f"{m.group(1)}/{m.group(2)}", text.replace("$", "").replace("\\!", ""))
    match = _NUMBER.search(text)
    if not match:
        return None
    token = match.group(0).replace("−", "-").replace(",", "").replace(" ", "").rstrip("%")
    try:
        value = float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def numbers(text: str) -> list[float]:
    found = []
    for match in _NUMBER.finditer(_LATEX_FRAC.sub(lambda m: f"{m.group(1)}/{m.group(2)}", text.replace("$", ""))):
        value = parse_number(match.group(0))
        if value is not None:
            found.append(value)
    return found


def final_number(text: str, markers: Markers | None = None) -> float | None:
    """The number a completion gives as its answer: parsed from :func:`final_answer`, else its last number."""
    value = parse_number(final_answer(text, markers))
    if value is not None:
        return value
    found = numbers(text)
    return found[-1] if found else None


def numbers_close(a: float, b: float, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the usual QA normalisation)."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9']+", text.lower())


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


STOPWORDS = frozenset(
    "a an the and or but if then of to in on at by for with from as is are was were be been being it its this that "
    "these those there here he she they we you i me my our your their his her them us not no do does did so such "
    "than too very can could will would should may might must have has had into over under about after before "
    "which who whom what when where why how all any each other some more most".split())


def key_terms(text: str, limit: int = 20) -> list[str]:
    """The reference's content words, most frequent first (ties: first seen), for coverage scoring."""
    counts: dict[str, int] = {}
    for word in words(text):
        if word not in STOPWORDS and len(word) > 2:
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])[:limit]
