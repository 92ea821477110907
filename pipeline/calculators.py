"""Epoch's two web calculators for one system, run through the batch job's own code.

The options become one spreadsheet row of text cells, which is parsed, validated and
estimated exactly as a row of a file would be.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

import polars as pl

from pipeline.errors import CalculatorInputError
from pipeline.estimate.annotate import split_notes
from pipeline.estimate.chain import estimate
from pipeline.estimate.hardware import alias_frame, load_hardware
from pipeline.estimate.hardware_time import NO_PEAK_NOTE, PEAK_HINT
from pipeline.estimate.plausibility import OUT_OF_RANGE_NOTE
from pipeline.estimate.priors import PriorsChoice, load_learned
from pipeline.read.validate import validate

CALCULATOR_SOURCE = "<command line>"
Cell = str | float | int | None


@dataclass(frozen=True)
class Calculation:
    """One system's figure, its 90% interval (`high` None: no upper bound) and, for each
    accounting rule's thresholds, the probability of being above it: one system of one stage
    counts the same under every rule, so planned training can be checked before it starts."""

    flop: float
    formula: str
    sentence: str
    flags: list[str]
    low: float | None = None
    high: float | None = None
    thresholds: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return {
            "flop": self.flop,
            "low": self.low,
            "high": self.high,
            "formula": self.formula,
            "sentence": self.sentence,
            "flags": self.flags,
            "thresholds": list(self.thresholds),
        }

    def for_rule(self, rule: str | None) -> Calculation:
        """The same calculation with only `rule`'s thresholds (None: every rule's)."""
        if rule is None:
            return self
        kept = tuple(t for t in self.thresholds if t["rule"] == rule)
        return replace(self, thresholds=kept)


def _threshold_probabilities(
    flop: float, low: float | None, high: float | None
) -> tuple[dict, ...]:
    from pipeline.estimate.rules import RULES
    from pipeline.estimate.thresholds import probability_above

    pairs = [(name, t) for name, rule in RULES.items() for t in rule.thresholds]
    frame = pl.DataFrame(
        {"flop": [flop], "low": [low], "high": [high]},
        schema={"flop": pl.Float64, "low": pl.Float64, "high": pl.Float64},
    )
    values = frame.select(
        probability_above(pl.col("flop"), pl.col("low"), pl.col("high"), t).alias(str(i))
        for i, (_, t) in enumerate(pairs)
    ).row(0)
    return tuple(
        {"rule": name, "threshold_flop": t, "probability_above": p}
        for (name, t), p in zip(pairs, values, strict=True)
    )


def _calculate(
    cells: dict[str, Cell], hardware: pl.DataFrame | None, option_names: dict[str, str], method: str
) -> Calculation:
    if hardware is None:
        hardware = load_hardware()
    given = {k: str(v) for k, v in cells.items() if v is not None}
    raw = pl.DataFrame(
        {"system": ["calculator"], **{k: [v] for k, v in given.items()}},
        schema={"system": pl.String, **{k: pl.String for k in given}},
    ).with_columns(
        pl.lit(CALCULATOR_SOURCE).alias("source_file"),
        pl.lit(2, dtype=pl.Int64).alias("source_row"),
    )
    systems, rejects = validate(raw)
    if rejects.height:
        problems = "; ".join(
            f"{option_names.get(r['column_name'], r['column_name'])} {r['value']!r}: {r['reason']}"
            for r in rejects.iter_rows(named=True)
        )
        raise CalculatorInputError(problems)
    # The same utilization priors as `estimate`, so that one row gives one answer.
    learned = load_learned(PriorsChoice())
    row = estimate(systems, hardware, learned=learned).row(0, named=True)
    flop = row[f"{method}_flop"]
    if flop is None:
        raise CalculatorInputError(_missing_inputs_message(row, hardware, method))
    low, high = row[f"{method}_low_flop"], row[f"{method}_high_flop"]
    return Calculation(
        flop=flop, formula=row["notes"], sentence=row["summary"], flags=row["flags"],
        low=low, high=high, thresholds=_threshold_probabilities(flop, low, high),
    )  # fmt: skip


def _missing_inputs_message(row: dict, hardware: pl.DataFrame, method: str) -> str:
    if f"{method}_out_of_range" in row["flags"]:
        return next(n for n in split_notes(row["notes"]) if n.endswith(OUT_OF_RANGE_NOTE))
    if "unknown_hardware" in row["flags"]:
        return unknown_hardware_message(row["hardware"], hardware) + ", or give --peak"
    if "no_peak_for_precision" in row["flags"]:
        note = next(n for n in split_notes(row["notes"]) if NO_PEAK_NOTE in n)
        return note.replace(PEAK_HINT, " (give --peak)")
    if "multiple_hardware" in row["flags"]:
        return "give one chip type to --hardware"
    if method == "ops":
        return (
            "not enough inputs: give --forward-flop, --connections, --parameters or a "
            "transformer's shape (--config, or --layers, --d-model, --heads, --vocab and "
            "--seq-len), and --examples, --tokens or --training-tokens"
        )
    return "not enough inputs: give --hardware or --peak, and --chips with --time, or --chip-hours"


def unknown_hardware_message(name: str, hardware: pl.DataFrame) -> str:
    names = alias_frame(hardware)["alias"].unique().sort().to_list()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    return f"hardware {name!r} is not in the hardware table{hint}; see `flopsheet hardware list`"


OPS_OPTION_NAMES = {
    "forward_flop_per_example": "--forward-flop",
    "connections": "--connections",
    "parameters": "--parameters",
    "active_parameters": "--active-parameters",
    "dataset_size": "--examples/--tokens",
    "epochs": "--epochs",
    "training_tokens": "--training-tokens",
    "architecture_file": "--config",
}
# A transformer's shape, as `counting_operations` takes it: keyword -> canonical column; the
# command's option for a keyword is its name with dashes (`kv_heads`: --kv-heads).
SHAPE_OPTIONS = {
    "layers": "n_layers", "d_model": "d_model", "heads": "n_heads", "kv_heads": "n_kv_heads",
    "d_ff": "d_ff", "vocab": "vocab_size", "seq_len": "seq_len", "gated": "gated_mlp",
}  # fmt: skip
OPS_OPTION_NAMES |= {
    column: f"--{name.replace('_', '-')}" for name, column in SHAPE_OPTIONS.items()
}

HARDWARE_OPTION_NAMES = {
    "hardware": "--hardware",
    "peak_flop_per_second": "--peak",
    "precision": "--precision",
    "hardware_quantity": "--chips",
    "training_time_hours": "--time",
    "chip_hours": "--chip-hours",
    "utilization": "--utilization",
    "domain": "--domain",
}


def counting_operations(
    hardware: pl.DataFrame | None = None,
    *,
    forward_flop: Cell = None,
    connections: Cell = None,
    parameters: Cell = None,
    active_parameters: Cell = None,
    examples: Cell = None,
    tokens: Cell = None,
    epochs: Cell = None,
    training_tokens: Cell = None,
    config: str | None = None,
    **shape: Cell,
) -> Calculation:
    """Method 1 for one system: each option is a cell as a sheet would hold it (`"70B"`, 1.4e12);
    `hardware` defaults to the shipped table. `training_tokens` are all the tokens seen, epochs
    included. A transformer is counted from its shape: `config`, the text of a Hugging Face
    config.json, and the `SHAPE_OPTIONS` (`layers=32, d_model=4096, ...`; a given one wins over
    the config's; the config gives no `seq_len`, the training sequence length)."""
    unknown = sorted(set(shape) - set(SHAPE_OPTIONS))
    if unknown:
        raise CalculatorInputError(f"unknown shape option(s): {', '.join(unknown)}")
    if examples is not None and tokens is not None:
        raise CalculatorInputError("give --examples or --tokens, not both")
    cells = {
        "forward_flop_per_example": forward_flop,
        "connections": connections,
        "parameters": parameters,
        "active_parameters": active_parameters,
        "dataset_size": tokens if tokens is not None else examples,
        "dataset_unit": "tokens" if tokens is not None else "examples",
        "epochs": epochs,
        "training_tokens": training_tokens,
        "architecture_file": config,
        **{SHAPE_OPTIONS[name]: value for name, value in shape.items()},
    }
    return _calculate(cells, hardware, OPS_OPTION_NAMES, "ops")


def hardware_time(
    hardware: pl.DataFrame | None = None,
    *,
    chip: Cell = None,
    peak: Cell = None,
    precision: Cell = None,
    chips: Cell = None,
    time: Cell = None,
    chip_hours: Cell = None,
    utilization: Cell = None,
    domain: Cell = None,
) -> Calculation:
    """Method 2 for one system: each option is a cell as a sheet would hold it (`"A100"`, 8,
    `"3 days"`); `hardware` defaults to the shipped table."""
    if chip_hours is not None and (chips is not None or time is not None):
        raise CalculatorInputError("give --chip-hours, or --chips with --time, not both")
    cells = {
        "hardware": chip,
        "peak_flop_per_second": peak,
        "precision": precision,
        "hardware_quantity": chips,
        "training_time_hours": time,
        "chip_hours": chip_hours,
        "utilization": utilization,
        "domain": domain,
    }
    return _calculate(cells, hardware, HARDWARE_OPTION_NAMES, "hardware")
