"""`learn evaluate` and `learn optimize-prompt` on the tiny model, and where the optimised prompt is picked up."""
from __future__ import annotations

import json

import pytest

from core.datasets.prompts import DEFAULT_MARKERS, PROMPTS_DIR_ENV, default_system_prompt, grpo_system_prompt
from core.evaluation import final_answer, normalise, reward_scores, RewardSpec
from tests.cli.conftest import write_jsonl

SYSTEM = "Answer with the number only."


def test_matching_and_reward_scores_without_a_model():
    assert normalise("  The Answer:  1,234. ") == "the answer: 1234"
    assert final_answer("<start_working_out>x<end_working_out><SOLUTION> 42 </SOLUTION>", DEFAULT_MARKERS) == "42"
    assert final_answer(" 42\n", DEFAULT_MARKERS) == "42"
    rows = [{"instruction": "2+2?", "response": "4"}, {"instruction": "3+3?", "response": "6"}]
    completions = [DEFAULT_MARKERS.wrap("2 and 2", "4"), "<start_working_out>3 and 3<end_working_out>7"]
    totals, parts = reward_scores(rows, completions, None, DEFAULT_MARKERS, RewardSpec("preset", "math"))
    assert parts == [{"format": 1.0, "correctness": 1.0}, {"format": 0.5, "correctness": 0.0}]
    assert totals == [0.5 * 1.0 + 1.0, 0.5 * 0.5]  # the preset's weights, summed as TRL does


@pytest.mark.slow
def test_evaluate_prints_a_table_writes_json_and_matches_what_the_model_says(cli, tmp_path, tiny_model_dir, qa_rows):
    from core.evaluation import generate, load_model

    # References equal to the model's own greedy answers must score 1.0 on both matches.
    model, tokenizer = load_model(str(tiny_model_dir))
    own = generate(model, tokenizer, [r["prompt"] for r in qa_rows], SYSTEM, max_new_tokens=6)
    write_jsonl(tmp_path / "given.jsonl", qa_rows)
    write_jsonl(tmp_path / "own.jsonl", [{"prompt": r["prompt"], "response": o} for r, o in zip(qa_rows, own)])
    reports = {}
    for name in ("given", "own"):
        result = cli.run("learn", "evaluate", tmp_path / f"{name}.jsonl", "--model", tiny_model_dir,
                         "--system-prompt", SYSTEM, "--max-new-tokens", "6", "--output", tmp_path / f"{name}.json")
        assert result.returncode == 0, result.stderr[-3000:]
        for label in ("exact match", "normalised match", "reward (preset math)", "reward/format", "perplexity"):
            assert label in result.stdout
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text())
    own_metrics, given_metrics = reports["own"]["metrics"], reports["given"]["metrics"]
    assert own_metrics["exact_match"] == own_metrics["normalised_match"] == 1.0
    assert given_metrics["exact_match"] == 0.0
    assert [e["completion"] for e in reports["own"]["examples"]] == own
    assert set(own_metrics["rewards"]) == {"format", "correctness"}

    # The loss is the mean over response tokens only: what transformers computes with the prompt masked.
    import torch

    from core.evaluation import _pair_ids

    total = 0.0
    for row in qa_rows:
        prefix, completion = _pair_ids(tokenizer, row["prompt"], row["response"], SYSTEM)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([prefix + completion]),
                        labels=torch.tensor([[-100] * len(prefix) + completion]))
        total += float(out.loss) * len(completion)  # the mean over this row, back to a sum
    tokens = given_metrics["response_tokens"]
    assert tokens == sum(len(_pair_ids(tokenizer, r["prompt"], r["response"], SYSTEM)[1]) for r in qa_rows)
    assert given_metrics["loss"] == pytest.approx(total / tokens, rel=1e-4)


@pytest.mark.slow
def test_optimize_prompt_writes_the_best_candidate_where_new_configs_and_the_app_find_it(
        cli, tmp_path, tiny_model_dir, qa_rows, monkeypatch, app):
    write_jsonl(tmp_path / "eval.jsonl", qa_rows)
    candidates = ["Answer briefly.", "Reason between {reasoning_start} and {reasoning_end}, answer between "
                  "{solution_start} and {solution_end}.", "You are a calculator."]
    (tmp_path / "candidates.txt").write_text("\n---\n".join(candidates) + "\n")
    result = cli.run("learn", "optimize-prompt", tmp_path / "candidates.txt", tmp_path / "eval.jsonl",
                     "--model", tiny_model_dir, "--max-new-tokens", "4", "--metric", "loss",
                     "--output", tmp_path / "ranking.json")
    assert result.returncode == 0, result.stderr[-3000:]
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    losses = [c["metrics"]["loss"] for c in ranking["candidates"]]
    assert losses == sorted(losses) and {c["prompt"] for c in ranking["candidates"]} == set(candidates)
    saved = (cli.prompts / "system_prompt.txt").read_text().strip()
    assert saved == ranking["best"] == ranking["candidates"][0]["prompt"]
    assert "rank" in result.stdout and "best prompt written to" in result.stdout

    monkeypatch.setenv(PROMPTS_DIR_ENV, str(cli.prompts))
    expected = saved.format(**DEFAULT_MARKERS.__dict__)
    assert default_system_prompt() == expected != grpo_system_prompt()
    from core.training_config import TrainingConfig

    assert TrainingConfig().dataset.resolved_system_prompt() == expected
    templates = app.test_client().get("/api/prompt-templates").get_json()
    default = next(t for t in (templates.get("templates") or templates) if t["id"] == "default")
    assert default["rendered_system_prompt"] == expected


def test_optimize_prompt_refuses_an_empty_candidate_file(cli, tmp_path):
    (tmp_path / "none.txt").write_text("\n\n")
    write_jsonl(tmp_path / "eval.jsonl", [{"prompt": "1+1?", "response": "2"}])
    result = cli.run("learn", "optimize-prompt", tmp_path / "none.txt", tmp_path / "eval.jsonl", timeout=120)
    assert result.returncode == 2 and "holds no candidate prompt" in result.stderr
    assert not (cli.prompts / "system_prompt.txt").exists()
