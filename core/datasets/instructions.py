"""Built-in instruction-following tasks with checkable answers, generated from a seed.

Small text-manipulation tasks (reverse, sort, count, case, plural, arithmetic
words...) whose single correct response a reward can check exactly. Like the
arithmetic set, a row's split depends on its instruction alone, so train and
test never share one.
"""
from __future__ import annotations

import random

from core.datasets.generated import distinct_rows

DEFAULT_SIZES = {"train": 500, "test": 50}

WORDS = ("river", "planet", "garden", "lantern", "window", "pepper", "violin", "marble", "candle", "forest",
         "rocket", "harbor", "meadow", "saddle", "tunnel", "button", "falcon", "kettle", "mirror", "orange",
         "puzzle", "ribbon", "silver", "thunder", "velvet", "walnut", "yellow", "zebra", "anchor", "bridge")
LONG_AND_SHORT = ("ox", "tea", "moon", "apple", "elephant", "butterfly", "strawberry", "sky", "umbrella",
                  "grasshopper")
PLURALS = {"child": "children", "mouse": "mice", "goose": "geese", "tooth": "teeth", "foot": "feet",
           "person": "people", "leaf": "leaves", "knife": "knives", "city": "cities", "box": "boxes",
           "bus": "buses", "cactus": "cacti", "wolf": "wolves", "hero": "heroes", "baby": "babies"}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")


def _task(rng: random.Random) -> dict:
    kind = rng.choice(("reverse", "sort", "count", "upper", "plural", "first_letters", "longest", "sum_words",
                       "vowels"))
    words = rng.sample(WORDS, rng.randint(3, 5))
    if kind == "reverse":
        word = rng.choice(WORDS)
        return {"instruction": f"Write the word '{word}' backwards.", "response": word[::-1], "task": kind}
    if kind == "sort":
        return {"instruction": f"Sort these words alphabetically, separated by commas: {', '.join(words)}.",
                "response": ", ".join(sorted(words)), "task": kind}
    if kind == "count":
        return {"instruction": f"How many words are in this list: {', '.join(words)}?",
                "response": str(len(words)), "task": kind}
    if kind == "upper":
        return {"instruction": f"Write '{' '.join(words)}' in capital letters.",
                "response": " ".join(words).upper(), "task": kind}
    if kind == "plural":
        noun = rng.choice(sorted(PLURALS))
        count = rng.randint(2, 9)
        return {"instruction": f"Complete with the correct plural: I saw {count} ___ ({noun}).",
                "response": PLURALS[noun], "task": kind}
    if kind == "first_letters":
        return {"instruction": f"Join the first letters of these words: {', '.join(words)}.",
                "response": "".join(w[0] for w in words), "task": kind}
    if kind == "longest":
        by_length = {len(w): w for w in rng.sample(WORDS + LONG_AND_SHORT, 8)}  # one word per length
        choices = rng.sample(list(by_length.values()), min(4, len(by_length)))
        return {"instruction": f"Which is the longest word: {', '.join(choices)}?",
                "response": max(choices, key=len), "task": kind}
    if kind == "sum_words":
        a, b = rng.randint(0, 6), rng.randint(0, 6)
        return {"instruction": f"Add {NUMBER_WORDS[a]} and {NUMBER_WORDS[b]}. Answer with a word.",
                "response": NUMBER_WORDS[a + b], "task": kind}
    word = rng.choice(WORDS)
    return {"instruction": f"How many vowels (a, e, i, o, u) are in the word '{word}'?",
            "response": str(sum(c in "aeiou" for c in word)), "task": kind}


def generate(split: str = "train", n: int | None = None, seed: int = 3407) -> list[dict]:
    """``n`` distinct tasks of ``split`` ("train" or "test"), each ``{"instruction", "response", "task"}``."""
    n = DEFAULT_SIZES.get(split, 0) if n is None else n
    return distinct_rows(_task, "instruction", split, n, seed)
