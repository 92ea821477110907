"""`flopsheet thresholds`: the systems likely above each accounting rule's thresholds."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import (
    DEFAULT_DATABASE,
    DatabaseOption,
    OutputFormat,
    OutputFormatOption,
    cells,
    flops,
    out,
    print_frame,
    user_errors,
)
from pipeline.defaults import ACCOUNTING_RULES, DEFAULT_MIN_PROBABILITY, THRESHOLD_RULES


def _rule_option(rules: tuple[str, ...]):  # noqa: ANN202 (a typing.Annotated)
    return Annotated[
        str | None,
        typer.Option(
            "--rule", help="One rule: " + ", ".join(rules) + " (default: all).", show_default=False
        ),
    ]


RuleOption = _rule_option(ACCOUNTING_RULES)
ThresholdRuleOption = _rule_option(THRESHOLD_RULES)


def check_rule(rule: str | None, rules: tuple[str, ...] = ACCOUNTING_RULES) -> str | None:
    if rule is not None and rule not in rules:
        raise typer.BadParameter(
            f"{rule!r} is not a rule; expected one of {', '.join(rules)}", param_hint="'--rule'"
        )
    return rule


def thresholds(
    rule: ThresholdRuleOption = None,
    min_probability: Annotated[
        float,
        typer.Option(
            "--min-probability",
            min=0,
            max=1,
            help="List the systems at least this likely to be above a threshold.",
        ),
    ] = DEFAULT_MIN_PROBABILITY,
    db: DatabaseOption = DEFAULT_DATABASE,
    output_format: OutputFormatOption = OutputFormat.table,
) -> None:
    """Systems likely above each threshold of the accounting rules (docs/rules.md).

    Rules: epoch (every stage; 1e23, 1e25, 1e26), eu-parameter-updates (EU AI Act,
    general-purpose test, 1e23), eu-cumulative (EU AI Act, systemic risk, 1e25), sb53
    (California SB 53 and New York's RAISE Act, 1e26), and eu-modification (a fine-tune of
    another organization's model against a third of the original's compute, or the fall-back
    bars 1e25/3 and 1e23/3 when that is unknown). Each line gives the rule's estimate, its
    90% interval, the probability of being above the threshold and the stages counted. Exit 2
    when the database is missing.

    Examples:

        flopsheet thresholds --rule eu-cumulative

        flopsheet thresholds --min-probability 0.05 --format csv
    """  # fmt: skip
    check_rule(rule, THRESHOLD_RULES)
    with user_errors():
        import polars as pl

        from pipeline.publish.dataset import Dataset

        rows = (
            Dataset(db)
            .compute_by_rule()
            .filter(
                pl.col("probability_above") >= min_probability,
                pl.lit(True) if rule is None else pl.col("rule") == rule,
            )
        )
        rows = rows.sort(
            ["rule", "threshold_flop", "probability_above", "system"],
            descending=[False, False, True, False],
        )
        print_frame(rows, output_format, lambda: _print_table(rows, min_probability))


def _print_table(rows, min_probability: float) -> None:  # noqa: ANN001 (a polars frame)
    from rich.table import Table

    table = Table(title=f"Systems with P(above) >= {min_probability:g}")
    for heading in ("rule", "threshold", "system", "estimate", "90% interval", "P(above)",
                    "stages counted"):  # fmt: skip
        table.add_column(heading, overflow="fold")
    for row in rows.iter_rows(named=True):
        high = flops(row["high_flop"]) if row["high_flop"] is not None else "no upper bound"
        table.add_row(*cells((
            row["rule"], f"{row['threshold_flop']:.0e}", row["system"], flops(row["estimate_flop"]),
            f"{flops(row['low_flop'])} to {high}", f"{row['probability_above']:.2f}",
            row["stages_counted"] or "",
        )))  # fmt: skip
    out.print(table)
    if not rows.height:
        out.print("No system is that likely to be above a threshold.")
