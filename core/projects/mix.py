"""A project's dataset mix: plan the rows each source gives, then build the files (the service's one entry point).

The work is split by job: :mod:`mix_plan` (shares to row counts),
:mod:`mix_tokens` (mean tokens per row, for mixes in tokens),
:mod:`mix_select` (which rows), :mod:`mix_spool` (reading them once) and
:mod:`mix_build` (the files and their manifest).
"""
from core.projects.mix_build import EVAL, FORMAT_VERSION, MANIFEST, SAMPLES, TRAIN, build_mix
from core.projects.mix_plan import TRAITS, UNITS, MixError, MixPlan, MixSource, SourcePlan, count_rows, plan_mix
from core.projects.mix_tokens import approx_token_count, estimate_tokens_per_row

__all__ = ["EVAL", "FORMAT_VERSION", "MANIFEST", "SAMPLES", "TRAIN", "TRAITS", "UNITS", "MixError", "MixPlan",
           "MixSource", "SourcePlan", "approx_token_count", "build_mix", "count_rows", "estimate_tokens_per_row",
           "plan_mix"]
