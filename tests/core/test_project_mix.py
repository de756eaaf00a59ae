"""A project's dataset mix on real small files and the built-in arithmetic set: planned counts, built files,
reproducibility, shortfalls, upsampling, held-out eval slices, trait weights, token shares and the manifest."""
from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from core.checksums import file_sha256
from core.datasets import DatasetFormatError, DatasetSpec, FieldMapping, iter_examples, load_examples
from core.projects.mix import (EVAL, MANIFEST, SAMPLES, TRAIN, MixError, MixSource, approx_token_count, build_mix,
                               estimate_tokens_per_row, plan_mix)
from core.projects.mix_alloc import largest_remainder
from core.projects.mix_files import canonical_json
from core.projects.mix_select import select_rows

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def write_jsonl(folder: Path, name: str, rows: list[dict]) -> DatasetSpec:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return DatasetSpec("file", str(path), format="jsonl")


def write_csv(folder: Path, name: str, rows: list[dict]) -> DatasetSpec:
    path = folder / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return DatasetSpec("file", str(path), format="csv", mapping=FieldMapping(instruction="question", response="answer"))


def qa_rows(prefix: str, count: int) -> list[dict]:
    return [{"instruction": f"{prefix} question {i}", "response": f"{prefix} answer {i}"} for i in range(count)]


def source(key: str, trait: str, percentage: float, spec: DatasetSpec, rows: int | None = None) -> MixSource:
    checksum = file_sha256(spec.name) if spec.kind == "file" else None
    return MixSource(key, trait, key.title(), percentage, spec, rows_available=rows, checksum=checksum)


@pytest.fixture
def four(tmp_path) -> list[MixSource]:
    """Reasoning (JSONL), coding (CSV) and two general sources at 60/40, all large enough for 1000 rows."""
    coding = [{"question": f"code question {i}", "answer": f"code answer {i}"} for i in range(1500)]
    return [source("dataset:1", "reasoning", 100, write_jsonl(tmp_path, "reasoning", qa_rows("reason", 2000))),
            source("dataset:2", "coding", 100, write_csv(tmp_path, "coding", coding)),
            source("dataset:3", "general", 60, write_jsonl(tmp_path, "general_a", qa_rows("chat", 1200))),
            source("dataset:4", "general", 40, write_jsonl(tmp_path, "general_b", qa_rows("misc", 900)))]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_samples(folder: Path) -> list[dict]:
    with open(folder / SAMPLES, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def rows_by_source(folder: Path, split: str = "train") -> Counter:
    return Counter(s["source"] for s in read_samples(folder) if s["split"] == split)


# -- planning --------------------------------------------------------------------------------------------------


def test_largest_remainder_is_exact_and_breaks_ties_by_order():
    assert largest_remainder([1, 1, 1], 10) == [4, 3, 3]
    assert largest_remainder([0.1, 0.2, 0.7], 7) == [1, 1, 5]
    assert largest_remainder([0, 0], 5) == [0, 0]
    assert all(sum(largest_remainder(w, n)) == n for w in ([3, 7, 11], [0.5, 0.25, 0.25], [1e-9, 1]) for n in
               (0, 1, 9, 1001))


@pytest.mark.parametrize("max_rows, expected", [(10, [4, 3, 2, 1]), (100, [34, 33, 20, 13]),
                                                (1000, [334, 333, 200, 133])])
def test_each_source_gives_its_exact_share_of_rows(four, tmp_path, max_rows, expected):
    plan = plan_mix(four, max_rows)
    assert [s.rows for s in plan.sources] == [s.requested_rows for s in plan.sources] == expected
    assert plan.total_rows == max_rows and not plan.warnings
    assert [s.available_rows for s in plan.sources] == [2000, 1500, 1200, 900]  # counted: no rows_available given
    manifest = build_mix(plan, four, tmp_path / "mix", seed=1)
    counts = rows_by_source(tmp_path / "mix")
    assert [counts[s.key] for s in four] == expected
    assert len(read_jsonl(tmp_path / "mix" / TRAIN)) == manifest["totals"]["train_rows"] == max_rows


def test_each_trait_holds_out_an_eval_slice_split_by_percentage(four, tmp_path):
    plan = plan_mix(four, 100, eval_rows_per_trait=16)
    assert [s.eval_rows for s in plan.sources] == [16, 16, 10, 6]  # general: 60/40 of 16
    assert {t: v["eval_rows"] for t, v in plan.traits().items()} == {"reasoning": 16, "coding": 16, "general": 16}
    build_mix(plan, four, tmp_path / "mix", seed=2)
    rows = read_jsonl(tmp_path / "mix" / EVAL)
    assert Counter(r["trait"] for r in rows) == {"reasoning": 16, "coding": 16, "general": 16}
    assert rows_by_source(tmp_path / "mix", "eval") == {"dataset:1": 16, "dataset:2": 16, "dataset:3": 10,
                                                          "dataset:4": 6}


def test_eval_rows_are_disjoint_from_training_rows_and_come_first_in_the_seeded_order(four, tmp_path):
    plan = plan_mix(four, 1000)
    build_mix(plan, four, tmp_path / "mix", seed=5)
    samples = read_samples(tmp_path / "mix")
    train = {(s["source"], s["index"]) for s in samples if s["split"] == "train"}
    held = {(s["source"], s["index"]) for s in samples if s["split"] == "eval"}
    assert len(held) == 48 and not train & held
    assert not {s["hash"] for s in samples if s["split"] == "train"} & {s["hash"] for s in samples
                                                                        if s["split"] == "eval"}
    part = plan.source("dataset:4")
    chosen = select_rows("dataset:4", 5, part.available_rows, part.eval_rows, part.rows)
    order = [int(i) for i in chosen.wanted[chosen.eval_ranks]]
    assert [int(s["index"]) for s in samples if s["split"] == "eval" and s["source"] == "dataset:4"] == order


def test_tiny_sources_hold_out_fewer_eval_rows_but_one_from_two(tmp_path):
    sources = [source("s:10", "reasoning", 100, write_jsonl(tmp_path, "ten", qa_rows("ten", 10))),
               source("s:2", "coding", 100, write_jsonl(tmp_path, "two", qa_rows("two", 2))),
               source("s:1", "general", 100, write_jsonl(tmp_path, "one", qa_rows("one", 1)))]
    plan = plan_mix(sources, 9)
    assert [s.eval_rows for s in plan.sources] == [2, 1, 0]
    assert [s.rows for s in plan.sources] == [3, 1, 1]  # the two-row set keeps one row for training
    assert plan_mix(sources, 9, eval_rows_per_trait=0).total_eval_rows == 0


def test_a_small_source_reports_its_shortfall_and_the_others_do_not_fill_it(four, tmp_path):
    four[3] = source("dataset:4", "general", 40, write_jsonl(tmp_path, "small", qa_rows("small", 20)))
    plan = plan_mix(four, 300)
    small = plan.source("dataset:4")
    assert (small.requested_rows, small.eval_rows, small.rows, small.shortfall) == (40, 4, 16, 24)
    assert [s.rows for s in plan.sources[:3]] == [100, 100, 60]  # unchanged: nothing refilled
    assert plan.total_rows == 276
    assert len(plan.warnings) == 1 and "dataset:4" in plan.warnings[0] and "short by 24" in plan.warnings[0]
    manifest = build_mix(plan, four, tmp_path / "mix", seed=3)
    entry = manifest["sources"][3]
    assert (entry["rows"], entry["shortfall"], entry["duplication_factor"]) == (16, 24, 1.0)
    assert manifest["totals"]["train_rows"] == 276 and manifest["warnings"] == list(plan.warnings)


def test_upsampling_only_when_asked_with_its_duplication_factor_and_a_warning_above_3x(four, tmp_path):
    four[3] = source("dataset:4", "general", 40, write_jsonl(tmp_path, "small", qa_rows("small", 20)))
    mild = plan_mix(four, 300, upsample=True).source("dataset:4")
    assert (mild.rows, mild.shortfall, mild.duplication_factor) == (40, 0, 2.5)
    assert not plan_mix(four, 300, upsample=True).warnings
    plan = plan_mix(four, 600, upsample=True)
    heavy = plan.source("dataset:4")
    assert (heavy.rows, heavy.distinct_rows, heavy.duplication_factor) == (80, 16, 5.0)
    assert plan.total_rows == 600
    assert any("dataset:4" in w and "5.0x" in w for w in plan.warnings)
    manifest = build_mix(plan, four, tmp_path / "mix", seed=4)
    train = [s for s in read_samples(tmp_path / "mix") if s["split"] == "train" and s["source"] == "dataset:4"]
    assert len(train) == 80 and len({s["index"] for s in train}) == 16
    assert set(Counter(s["index"] for s in train).values()) == {5}
    assert manifest["sources"][3]["duplication_factor"] == 5.0 and manifest["sources"][3]["distinct_rows"] == 16
    untouched = [s.duplication_factor for s in plan.sources[:3]]
    assert untouched == [1.0, 1.0, 1.0]


def test_trait_weights_share_the_rows_unequally(four, tmp_path):
    two = [four[0], four[2], four[3]]
    plan = plan_mix(two, 300, trait_weights={"reasoning": 2, "general": 1})
    assert plan.traits()["reasoning"]["rows"] == 200 and plan.traits()["general"]["rows"] == 100
    assert [s.rows for s in plan.sources] == [200, 60, 40]
    assert plan.trait_shares == pytest.approx({"reasoning": 2 / 3, "general": 1 / 3})
    with pytest.raises(MixError, match="missing"):
        plan_mix(two, 300, trait_weights={"reasoning": 1})
    with pytest.raises(MixError, match="not all zero"):
        plan_mix(two, 300, trait_weights={"reasoning": 0, "general": 0})


def test_bad_mixes_are_refused(four):
    with pytest.raises(MixError, match="add up to 90"):
        plan_mix([four[0], four[2], source("x", "general", 30, four[3].spec)], 10)
    with pytest.raises(MixError, match="unknown trait"):
        plan_mix([source("x", "poetry", 100, four[0].spec)], 10)
    with pytest.raises(MixError, match="tokens"):
        plan_mix(four, 10, unit="tokens")
    with pytest.raises(MixError, match="positive"):
        plan_mix(four, 0)
    with pytest.raises(MixError, match="once"):
        plan_mix([four[0], four[0]], 10)


# -- building ----------------------------------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files_and_another_seed_another_mix(four, tmp_path):
    plan = plan_mix(four, 500)
    first = build_mix(plan, four, tmp_path / "a", seed=11)
    second = build_mix(plan, four, tmp_path / "b", seed=11)
    for name in (TRAIN, EVAL, SAMPLES, MANIFEST):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first["manifest_sha256"] == second["manifest_sha256"]
    other = build_mix(plan, four, tmp_path / "c", seed=12)
    assert (tmp_path / "c" / TRAIN).read_bytes() != (tmp_path / "a" / TRAIN).read_bytes()
    assert other["files"][TRAIN]["sha256"] != first["files"][TRAIN]["sha256"]
    assert rows_by_source(tmp_path / "c") == rows_by_source(tmp_path / "a")  # same counts, other rows


def test_a_larger_mix_of_the_same_source_takes_a_superset_of_its_rows(four, tmp_path):
    small, large = plan_mix(four, 100), plan_mix(four, 1000)
    build_mix(small, four, tmp_path / "small", seed=9)
    build_mix(large, four, tmp_path / "large", seed=9)
    pick = lambda folder: {(s["source"], s["index"]) for s in read_samples(folder) if s["split"] == "train"}
    assert pick(tmp_path / "small") <= pick(tmp_path / "large")


def test_the_manifest_records_sources_counts_and_every_file_hash(four, tmp_path):
    plan = plan_mix(four, 200)
    out = tmp_path / "mix"
    manifest = build_mix(plan, four, out, seed=7)
    assert sorted(p.name for p in out.iterdir()) == sorted([TRAIN, EVAL, SAMPLES, MANIFEST])  # no temp files left
    data = (out / MANIFEST).read_bytes()
    assert manifest["manifest_sha256"] == hashlib.sha256(data).hexdigest()
    on_disk = json.loads(data)
    assert on_disk == {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    assert "created" not in json.dumps(on_disk)  # no timestamp: identical inputs, identical bytes
    assert (on_disk["format"], on_disk["format_version"], on_disk["seed"], on_disk["unit"], on_disk["max_rows"]) == \
        ("tunewright-mix", 1, 7, "rows", 200)
    for name in (TRAIN, EVAL, SAMPLES):
        assert on_disk["files"][name]["sha256"] == file_sha256(out / name)
    assert [s["checksum"] for s in on_disk["sources"]] == [file_sha256(s.spec.name) for s in four]
    assert [(s["key"], s["rows"], s["eval_rows"], s["available_rows"]) for s in on_disk["sources"]] == \
        [(p.key, p.rows, p.eval_rows, p.available_rows) for p in plan.sources]
    assert on_disk["traits"] == {"reasoning": {"train_rows": 67, "eval_rows": 16},
                                 "coding": {"train_rows": 67, "eval_rows": 16},
                                 "general": {"train_rows": 66, "eval_rows": 16}}
    assert on_disk["totals"] == {"train_rows": 200, "eval_rows": 48}


def test_each_sample_line_names_its_row_its_source_index_and_its_content_hash(four, tmp_path):
    out = tmp_path / "mix"
    build_mix(plan_mix(four, 120), four, out, seed=8)
    lines = {split: (out / name).read_bytes().splitlines() for split, name in (("train", TRAIN), ("eval", EVAL))}
    sources = {s.key: list(iter_examples(s.spec)) for s in four}
    traits = {s.key: s.trait for s in four}
    for sample in read_samples(out):
        line = lines[sample["split"]][int(sample["position"])]
        assert sample["hash"] == hashlib.sha256(line).hexdigest()[:16]
        row, original = json.loads(line), sources[sample["source"]][int(sample["index"])]
        assert row == {"instruction": original["instruction"], "response": original["response"],
                       "trait": traits[sample["source"]]}
    assert len(read_samples(out)) == 120 + 48


def test_the_builtin_arithmetic_set_mixes_with_a_file(tmp_path):
    rows = [{"instruction": f"say {w}", "response": w, "system": "Be brief."} for w in WORDS * 10]
    sources = [MixSource("builtin:arithmetic", "reasoning", "Arithmetic", 100, DatasetSpec("builtin", "arithmetic")),
               source("dataset:9", "general", 100, write_jsonl(tmp_path, "say", rows))]
    plan = plan_mix(sources, 60, eval_rows_per_trait=4)
    assert plan.source("builtin:arithmetic").available_rows == 400
    manifest = build_mix(plan, sources, tmp_path / "mix", seed=3)
    train = read_jsonl(tmp_path / "mix" / TRAIN)
    arithmetic = [r for r in train if r["trait"] == "reasoning"]
    assert len(arithmetic) == 30 and all(r["response"].lstrip("-").isdigit() for r in arithmetic)
    assert all(r["system"] == "Be brief." for r in train if r["trait"] == "general")
    assert all(set(r) == {"instruction", "response", "trait"} for r in arithmetic)
    assert manifest["sources"][0]["checksum"] is None and manifest["totals"] == {"train_rows": 60, "eval_rows": 8}


def test_a_source_shorter_than_announced_is_reported_with_its_real_numbers(tmp_path):
    sources = [source("dataset:5", "general", 100, write_jsonl(tmp_path, "short", qa_rows("short", 50)), rows=100)]
    plan = plan_mix(sources, 60, eval_rows_per_trait=4)
    assert plan.source("dataset:5").rows == 60  # the plan trusts the announced 100 rows
    manifest = build_mix(plan, sources, tmp_path / "mix", seed=1)
    entry = manifest["sources"][0]
    assert entry["available_rows"] == 50 and entry["rows"] + entry["eval_rows"] <= 50
    assert manifest["totals"]["train_rows"] == entry["rows"] == len(read_jsonl(tmp_path / "mix" / TRAIN))
    assert any("50 usable rows, not the 100" in w for w in manifest["warnings"])
    assert any("short by" in w for w in manifest["warnings"])


def test_a_changed_file_is_noted_and_a_rebuild_replaces_the_previous_mix(four, tmp_path):
    out = tmp_path / "mix"
    build_mix(plan_mix(four, 50), four, out, seed=1)
    stale = [four[0], four[1], four[2], MixSource("dataset:4", "general", "B", 40, four[3].spec, checksum="0" * 64)]
    manifest = build_mix(plan_mix(stale, 30), stale, out, seed=1)
    assert any("dataset:4" in w and "changed" in w for w in manifest["warnings"])
    assert len(read_jsonl(out / TRAIN)) == 30 and sorted(p.name for p in out.iterdir()) == sorted(
        [TRAIN, EVAL, SAMPLES, MANIFEST])


def test_a_build_that_fails_midway_leaves_the_previous_mix_whole(four, tmp_path):
    out = tmp_path / "mix"
    build_mix(plan_mix(four, 100), four, out, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = Path(four[3].spec.name)
    lines = broken.read_text(encoding="utf-8").splitlines()
    broken.write_text("\n".join(lines[:300] + ["{not json"] + lines[300:]) + "\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="line 301"):
        build_mix(plan_mix(four, 800), four, out, seed=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp file, no spool, same bytes


def test_the_sources_must_match_the_plan_and_the_seed_be_a_natural_number(four, tmp_path):
    with pytest.raises(MixError, match="match"):
        build_mix(plan_mix(four, 10), four[:3], tmp_path / "mix", seed=1)
    with pytest.raises(MixError, match="seed"):
        build_mix(plan_mix(four, 10), four, tmp_path / "mix", seed=-1)
    assert not (tmp_path / "mix").exists()


def test_rows_are_canonical_json_the_same_with_or_without_orjson():
    tricky = {"instruction": 'quote " slash \\ tab \t nul \x00 del \x7f', "response": "é 中文 🙂 \u2028 </script>",
              "trait": "general", "system": "\b\f"}
    stdlib = json.dumps(tricky, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    assert canonical_json(tricky) == stdlib
    lone = canonical_json({"instruction": "half \ud800 a pair"})  # not valid Unicode: escaped, not refused
    assert json.loads(lone) == {"instruction": "half \ud800 a pair"} and lone.isascii()


# -- tokens --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def count_tokens():
    """The bundled SmolLM2 tokenizer when installed (``make`` installs it), else a word count."""
    try:
        from core.default_model import load_bundled_tokenizer

        tokenizer = load_bundled_tokenizer()
    except Exception:  # no bundled model here: the arithmetic below is the same with any counter
        return lambda text: len(text.split())
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


def sentences(seed: int, count: int, words: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"instruction": f"{i} " + " ".join(rng.choices(WORDS, k=words)),
             "response": " ".join(rng.choices(WORDS, k=words + rng.randint(-1, 1)))} for i in range(count)]


def test_a_mix_in_tokens_matches_the_token_shares_within_two_percent(tmp_path, count_tokens):
    sources = [source("d:short", "reasoning", 100, write_jsonl(tmp_path, "short", sentences(1, 800, 4))),
               source("d:long", "coding", 100, write_jsonl(tmp_path, "long", sentences(2, 800, 30))),
               source("d:mid", "general", 50, write_jsonl(tmp_path, "mid", sentences(3, 800, 12))),
               source("d:mid2", "general", 50, write_jsonl(tmp_path, "mid2", sentences(4, 800, 8)))]
    per_row = {s.key: estimate_tokens_per_row(s.spec, count_tokens, sample=1000) for s in sources}
    assert per_row["d:long"] > 4 * per_row["d:short"]
    plan = plan_mix(sources, 600, unit="tokens", tokens_per_row=per_row, trait_weights={
        "reasoning": 1, "coding": 1, "general": 2})
    assert plan.total_rows == 600 and not plan.warnings
    rows = [plan.source(s.key).rows for s in sources]
    assert rows[0] > rows[2] > rows[1]  # short rows need more of them for the same tokens
    wanted = {"d:short": 0.25, "d:long": 0.25, "d:mid": 0.25, "d:mid2": 0.25}
    assert {k: plan.source(k).share_of_tokens for k in wanted} == pytest.approx(wanted, abs=0.01)
    build_mix(plan, sources, tmp_path / "mix", seed=6)
    train = read_jsonl(tmp_path / "mix" / TRAIN)
    samples = [s for s in read_samples(tmp_path / "mix") if s["split"] == "train"]
    tokens = Counter()
    for row, sample in zip(train, samples):
        tokens[sample["source"]] += count_tokens(row["instruction"]) + count_tokens(row["response"])
    total = sum(tokens.values())
    for key, share in wanted.items():
        assert tokens[key] / total == pytest.approx(share, abs=0.02), key
    assert {t: v["share_of_tokens"] for t, v in plan.traits().items()} == pytest.approx(
        {"reasoning": 0.25, "coding": 0.25, "general": 0.5}, abs=0.01)


def test_token_math_gives_rows_inversely_proportional_to_row_length(four):
    per_row = {"dataset:1": 10.0, "dataset:2": 40.0, "dataset:3": 20.0, "dataset:4": 20.0}
    plan = plan_mix(four, 1000, unit="tokens", tokens_per_row=per_row)
    # shares 1/3, 1/3, 1/5, 2/15 over 10, 40, 20, 20 tokens: rows ∝ 1/30, 1/120, 1/100, 1/150
    assert [s.rows for s in plan.sources] == largest_remainder([1 / 30, 1 / 120, 1 / 100, 1 / 150], 1000)
    assert sum(s.share_of_tokens for s in plan.sources) == pytest.approx(1.0)
    assert plan_mix(four, 100).sources[0].share_of_tokens is None  # unknown without tokens per row


def test_estimating_tokens_per_row_is_seeded_and_has_a_fallback_counter(tmp_path):
    spec = write_jsonl(tmp_path, "est", sentences(5, 300, 10))
    every = estimate_tokens_per_row(spec, approx_token_count, sample=1000)
    exact = sum(approx_token_count(r["instruction"]) + approx_token_count(r["response"])
                for r in load_examples(spec)) / 300
    assert every == pytest.approx(exact)
    assert estimate_tokens_per_row(spec, approx_token_count, sample=50, seed=1) == \
        estimate_tokens_per_row(spec, approx_token_count, sample=50, seed=1)
    assert approx_token_count("abcdefgh") == 2 and approx_token_count("abc") == 1


# -- the loader's streaming path -------------------------------------------------------------------------------


def test_iter_examples_numbers_usable_rows_and_load_examples_reads_the_same(tmp_path):
    rows = [{"instruction": "a", "response": "1"}, {"instruction": " ", "response": "skipped"},
            {"instruction": "b", "response": "2"}]
    spec = write_jsonl(tmp_path, "gaps", rows)
    assert list(iter_examples(spec)) == load_examples(spec) == [{"instruction": "a", "response": "1"},
                                                                 {"instruction": "b", "response": "2"}]
    with pytest.raises(Exception, match="missing"):
        iter_examples(DatasetSpec("file", str(tmp_path / "nope.jsonl"), format="jsonl"))  # fails before a row
