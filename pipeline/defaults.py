"""Defaults that the command line shows in its help and the library uses.

They live in a module that imports nothing, so that `flopsheet --help` starts without loading
polars, pandera or DuckDB; the modules that apply them import them from here.
"""

from __future__ import annotations

# A refresh keeps this many finished run folders.
DEFAULT_KEEP = 10
# A relative change of an estimate larger than this counts as changed (diff, history).
DEFAULT_THRESHOLD = 0.01
# `calibrate` writes a prior only for a group with at least this many observations.
DEFAULT_MIN_OBSERVATIONS = 10
# How a sheet is laid out: flopsheet's canonical columns, an Epoch AI export, or recognised.
INPUT_FORMATS = ("auto", "canonical", "epoch")
# Epoch (2022)'s fixed utilizations for a paper that reports none, by domain ("*": any other):
# the medians of the seed priors (`--priors seed`).
SEED_UTILIZATION = {"language": 0.30, "*": 0.40}
# The stages of a run, as progress reports them.
STAGES = ("read", "validate", "estimate", "publish")
# The accounting rules (pipeline/estimate/rules.py defines them), named here for the options.
ACCOUNTING_RULES = ("epoch", "eu-parameter-updates", "eu-cumulative", "sb53")
# `thresholds` also lists the EU's modification test on fine-tunes of another's model.
THRESHOLD_RULES = (*ACCOUNTING_RULES, "eu-modification")
# `thresholds` lists the systems at least this likely to be above a threshold.
DEFAULT_MIN_PROBABILITY = 0.5
