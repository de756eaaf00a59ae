"""The project validator: every trait rule, each with its message, all reported at once."""
from __future__ import annotations

import pytest

from core.projects.spec import ProjectValidationError, parse_project

MINE = {"dataset:1", "dataset:2", "dataset:3", "dataset:4", "builtin:arithmetic"}


def problem(key: str) -> str | None:
    if key == "dataset:9":
        return "dataset 9 does not exist or is not yours"
    if key == "dataset:5":
        return "dataset 'raw' (id 5) is processing; only Ready datasets can be mixed"
    return None if key in MINE else f"unknown {key}"


def body(*traits, **extra) -> dict:
    return {"name": "p", "max_rows": 100, "traits": list(traits), **extra}


def trait(kind: str, *shares) -> dict:
    return {"trait_type": kind, "datasets": [
        {"dataset_id": s[0], "percentage": s[1]} if isinstance(s[0], int) else {"source": s[0], "percentage": s[1]}
        for s in shares]}


def errors_of(data: dict) -> list[dict]:
    with pytest.raises(ProjectValidationError) as info:
        parse_project(data, problem)
    return info.value.errors


def messages(data: dict) -> list[str]:
    return [f"{e['path']}: {e['message']}" for e in errors_of(data)]


def test_a_full_project_is_valid_and_thirds_sum_to_100():
    parsed = parse_project(body(trait("reasoning", ("builtin:arithmetic", 100)), trait("coding", (1, 100)),
                                trait("general", (2, 33.33), (3, 33.33), (4, 33.34))), problem)
    assert [t.trait_type for t in parsed.traits] == ["reasoning", "coding", "general"]
    assert parsed.traits[0].datasets[0].key == "builtin:arithmetic"
    assert parsed.training_type == "standard" and parsed.mix.unit == "rows"


def test_a_general_sum_of_99_9_says_it_is_0_1_short():
    assert messages(body(trait("reasoning", (1, 100)), trait("general", (2, 50), (3, 49.9)))) == [
        "traits.1.datasets: the general/tools percentages sum to 99.9, 0.1 short of 100"]


def test_a_sum_over_100_says_by_how_much():
    assert messages(body(trait("reasoning", (1, 100)), trait("general", (2, 60), (3, 40.5)))) == [
        "traits.1.datasets: the general/tools percentages sum to 100.5, 0.5 over 100"]


def test_a_dataset_in_two_traits_is_refused():
    assert messages(body(trait("reasoning", (1, 100)), trait("general", (1, 100)))) == [
        "traits.1.datasets.0: dataset:1 is used in reasoning and general/tools"]


def test_two_coding_datasets_are_refused_and_each_must_be_100():
    assert messages(body(trait("reasoning", (1, 100)), trait("coding", (2, 50), (3, 50)))) == [
        "traits.1.datasets: coding takes exactly one dataset, not 2",
        "traits.1.datasets.0.percentage: the coding dataset must be 100 %, not 50 %",
        "traits.1.datasets.1.percentage: the coding dataset must be 100 %, not 50 %"]


def test_another_users_or_unready_dataset_is_named():
    assert messages(body(trait("reasoning", (9, 100)), trait("general", (5, 100)))) == [
        "traits.0.datasets.0: dataset 9 does not exist or is not yours",
        "traits.1.datasets.0: dataset 'raw' (id 5) is processing; only Ready datasets can be mixed"]


def test_every_violation_is_reported_at_once():
    found = messages(body(trait("coding", (1, 100), (1, 100)), trait("coding", (2, 100)),
                          trait("general", (3, 10))))
    assert found == [
        "traits.0.datasets: coding takes exactly one dataset, not 2",
        "traits.0.datasets.1: dataset:1 is used twice in coding",
        "traits.1.trait_type: coding appears twice",
        "traits.2.datasets: the general/tools percentages sum to 10, 90 short of 100",
        "traits: a reasoning trait is required"]


def test_schema_errors_come_with_their_paths():
    found = messages({"name": "", "max_rows": 2_000_000, "training_type": "dpo", "traits": [
        {"trait_type": "maths", "datasets": []}], "colour": "red"})
    paths = {m.split(":")[0] for m in found}
    assert {"name", "max_rows", "training_type", "traits.0.trait_type", "colour"} <= paths


def test_a_share_names_either_an_id_or_a_builtin():
    found = messages(body({"trait_type": "reasoning", "datasets": [{"percentage": 100}]}))
    assert found and "either dataset_id or source" in found[0]


def test_weights_only_for_present_traits():
    found = messages(body(trait("reasoning", (1, 100)), mix={"trait_weights": {"coding": 2}}))
    assert found == ["mix.trait_weights.coding: coding has a weight but no datasets"]


def test_nan_and_ids_beyond_any_database_are_schema_errors():
    found = messages(body({"trait_type": "reasoning", "datasets": [{"dataset_id": 2**63, "percentage": 100}]}))
    assert found and found[0].startswith("traits.0.datasets.0.dataset_id")


def test_the_schema_and_the_mix_planner_know_the_same_traits():
    import typing

    from core.projects.spec import TRAIT_TYPES, TraitType

    assert typing.get_args(TraitType) == TRAIT_TYPES == ("reasoning", "coding", "general")
