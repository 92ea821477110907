"""Accounting rules: which training stages count towards a system's compute, and the thresholds
each rule is tested against. The one place these choices live; docs/rules.md gives each one's
source (and ../REGULATION.md-style reading of the texts).

A system's compute comes in stages (`schemas.systems.TRAINING_STAGES`); "base" stands for the
model it was fine-tuned from (its `base_model`), counted by its own total under the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.defaults import ACCOUNTING_RULES, THRESHOLD_RULES
from schemas.systems import TRAINING_STAGES


@dataclass(frozen=True)
class AccountingRule:
    name: str
    title: str
    counts: frozenset[str]  # stages counted ("base": the base model's total)
    thresholds: tuple[float, ...]
    # A synthetic-data stage counts only where its data is not public (unknown counts).
    synthetic_data_if_public: bool = True


_TRAINING = frozenset(
    {"base", "pre-training", "continued-pre-training", "fine-tuning", "reinforcement-learning",
     "post-training"}
)  # fmt: skip

RULES: dict[str, AccountingRule] = {
    rule.name: rule
    for rule in (
        AccountingRule(
            "epoch",
            "Epoch AI's total: the base model and every stage",
            frozenset({"base", *TRAINING_STAGES}),
            (1e23, 1e25, 1e26),
        ),
        AccountingRule(
            "eu-parameter-updates",
            "EU AI Act, general-purpose test: compute that updated the model's parameters",
            _TRAINING,
            (1e23,),
        ),
        AccountingRule(
            "eu-cumulative",
            "EU AI Act, systemic-risk test: cumulative compute, non-public synthetic data and "
            "merged or initialising weights included",
            _TRAINING | {"synthetic-data", "merge"},
            (1e25,),
            synthetic_data_if_public=False,
        ),
        AccountingRule(
            "sb53",
            "California SB 53 (and New York's RAISE Act): the original run and the developer's "
            "fine-tuning, reinforcement learning and other modifications",
            _TRAINING | {"merge"},
            (1e26,),
        ),
    )
}
RULE_NAMES = tuple(RULES)
assert RULE_NAMES == ACCOUNTING_RULES, "pipeline.defaults names the rules for the command line"

# The EU's modification test: a fine-tune of another developer's model makes its developer the
# provider of a new model when the fine-tune's compute exceeds this share of the original's,
# or, when the original's compute is unknown, these bars (original with systemic risk, other).
EU_MODIFICATION_SHARE = 1 / 3
EU_MODIFICATION_BARS = (1e25 / 3, 1e23 / 3)
MODIFICATION_RULE = "eu-modification"
assert (*RULE_NAMES, MODIFICATION_RULE) == THRESHOLD_RULES
# The EU's accuracy target: an estimate within 30% of the compute.
EU_MARGIN = 0.30


def counts(rule: AccountingRule, stage: str, public: bool | None = None) -> bool:
    """Whether `rule` counts a stage (for synthetic data, given whether the data is public)."""
    if stage not in rule.counts:
        return False
    return stage != "synthetic-data" or rule.synthetic_data_if_public or public is not True
