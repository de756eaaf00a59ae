"""The two built-in rewards and the outlier-robust advantage rule."""
from __future__ import annotations

import torch

from core.training.or_grpo import robust_advantages
from core.datasets.prompts import Markers
from core.training.prompts import split_reasoning
from core.training.rewards import make_correctness_reward, make_format_reward

M = Markers("<start_working_out>", "<end_working_out>", "<SOLUTION>", "</SOLUTION>")


def chat(text):
    return [{"role": "assistant", "content": text}]


def test_format_reward_gives_credit_for_markers_in_order():
    fmt = make_format_reward(M)
    texts = ["<start_working_out>2+2=4<end_working_out><SOLUTION>4</SOLUTION>",
             "<start_working_out>2+2<end_working_out> 4",
             "<SOLUTION>4</SOLUTION><start_working_out>",
             "four"]
    assert fmt(None, [chat(t) for t in texts]) == [1.0, 0.5, 0.25, 0.0]
    assert fmt.__name__ == "format"


def test_correctness_reward_compares_numbers():
    correct = make_correctness_reward(M)
    texts = ["<SOLUTION>42</SOLUTION>", "<SOLUTION> 42.0 </SOLUTION>", "<SOLUTION>$1,042</SOLUTION>",
             "<SOLUTION>41</SOLUTION>", "42"]
    assert correct(None, [chat(t) for t in texts], answer=["42", "42", "1042", "42", "42"]) == [1, 1, 1, 0, 0]
    assert correct(None, [chat("x")]) == [None]  # no reference answers: not applicable


def test_gsm8k_style_answers_are_split():
    assert split_reasoning({"response": "3 + 4 = 7\n#### 7"}) == ("3 + 4 = 7", "7")
    assert split_reasoning({"response": "7", "reasoning": "3 + 4 = 7", "answer": "7"}) == ("3 + 4 = 7", "7")


def test_robust_advantages_resist_an_outlier():
    group = torch.tensor([0.5, 0.6, 0.55, 0.45, 1000.0])
    robust = robust_advantages(group, group_size=5, clip=3.0)
    standard = (group - group.mean()) / (group.std() + 1e-4)
    assert robust[4] == 3.0  # the outlier is capped
    # the ordinary completions keep a clear, correctly ordered signal...
    assert robust[1] > robust[2] > robust[0] > robust[3]
    assert (robust[1] - robust[3]).abs() > 1.0
    # ...that standard GRPO flattens to almost nothing
    assert (standard[1] - standard[3]).abs() < 0.01


def test_robust_advantages_keep_rare_successes_and_zero_flat_groups():
    rewards = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, float("nan"), 0.2, 0.4, 0.2])
    adv = robust_advantages(rewards, group_size=4, clip=3.0)
    assert adv[:3].tolist() == [0.0, 0.0, 0.0] and adv[3] > 0       # one success among failures
    assert adv[4:8].tolist() == [0.0] * 4                              # all equal: no signal
    assert adv[8] == 0.0 and adv[10] > 0 and adv[9] == adv[11] == 0    # NaN (unscorable) gets 0
