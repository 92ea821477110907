"""Hardware time stated in Epoch's `Training time notes`: chip-hours ("1.3 million GPU hours",
"600 TPUv3 chip-days", "Total GPU Hours: 1,456K") and chips for a duration ("8 A100 GPUs for 8
days", "25 days on 8 NVIDIA 2080Ti GPUs"). Each fills a blank cell of method 2 and keeps the
phrase it came from (`hardware_time_phrase`), so that the estimate is flagged with it.

A note that works from a compute figure ("4.3e23 FLOP / (147 TFLOPS) = ... A100-hours") states
no input: its hours are Epoch's figure restated. Any note that mentions FLOP is not read, and
its phrase is kept apart (`hardware_time_skipped_phrase`).

The text is matched by polars' regular expressions, which have no look-around: each pattern
names what may stand between its parts (chip words, and tokens such as "a100" or "80g" that
mix letters and digits).
"""

from __future__ import annotations

import polars as pl

from pipeline.read.note_phrases import FIGURE, FIGURE_START, SCALE, clean_text, scaled
from pipeline.read.parsing import HOURS_PER_UNIT

TIME_NOTES = "Training time notes"
# A token that names a chip: a word, or letters and digits together (a100, h800, tpuv3, 2080ti).
# Cores are not chips (a TPU v3 chip has two), so a count of cores is not read.
_CHIP_TOKEN = (
    r"(?:[a-z]+\d+[a-z0-9]*|\d+[a-z]+[a-z0-9]*|gpus?|tpus?|chips?|accelerators?|devices?"
    r"|processors?|instances?|nvidia|google|tesla)\b"
)
_CHIPS = rf"{_CHIP_TOKEN}(?:[\s-]+{_CHIP_TOKEN}){{0,3}}"
_DURATION = r"(hours?|hrs|days?|weeks?|months?)\b"
# A figure with its scale word, ending there: never the digits of a chip's name ("V100") or the
# head of another number ("1e4"), which `FIGURE_START` and the word boundary rule out.
_COUNT = rf"{FIGURE}(?:e(\d+))?(?:\s*{SCALE}|\b)"
# "2.788M H800 GPU hours", "600 TPUv3 chip-days"
_CHIP_TIME = rf"{FIGURE_START}({_COUNT}\s*{_CHIPS}[\s-]*{_DURATION})"
# "Total GPU Hours: 1,456K"
_CHIP_TIME_LABEL = rf"({_CHIPS}[\s-]*{_DURATION}\s*(?:in total\s*)?:\s*{_COUNT})"
# "8 A100 GPUs for 8 days", and "25 days on 8 NVIDIA 2080Ti GPUs"
_CHIPS_FOR = (
    rf"{FIGURE_START}({FIGURE}\s+{_CHIPS}\s+for\s+(?:about\s+|approximately\s+|~)?{FIGURE}\s*"
    rf"{_DURATION})"
)
_TIME_ON = rf"{FIGURE_START}({FIGURE}\s*{_DURATION}\s+(?:on|using|with)\s+{FIGURE}\s+{_CHIPS})"
_FLOP = r"((?:\S+\s+){0,4}\S*flop\S*(?:\s+\S+){0,4})"


def _hours(unit: pl.Expr) -> pl.Expr:
    return unit.replace_strict(HOURS_PER_UNIT, default=None, return_dtype=pl.Float64)


def _number(figure: pl.Expr) -> pl.Expr:
    return figure.str.replace_all(",", "").cast(pl.Float64, strict=False)


def hardware_time_from_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """Fills blank `chip_hours`, `hardware_quantity` and `training_time_hours` from the training
    time notes, with `hardware_time_phrase`; a note that derives from compute is not read
    (`hardware_time_skipped_phrase`). A row whose cells already give its chip time is left."""
    if TIME_NOTES not in frame.columns:
        return frame
    notes = clean_text(TIME_NOTES)

    def cell(name: str) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, pl.String)

    chip_hours, quantity, time = (
        cell("chip_hours"),
        cell("hardware_quantity"),
        cell("training_time_hours"),
    )
    needed = chip_hours.is_null() & (quantity.is_null() | time.is_null())
    from_compute = notes.str.contains("flop").fill_null(False)

    def stated_chip_hours(pattern: str, figure: int, unit: int) -> tuple:
        """The chip-hours of `pattern`, whose groups after `figure` are its exponent and scale."""
        found = notes.str.extract_groups(pattern)
        value = scaled(found.struct[str(figure)], found.struct[str(figure + 2)].fill_null(""))
        power = pl.lit(10.0).pow(found.struct[str(figure + 1)].cast(pl.Float64).fill_null(0.0))
        return value * power * _hours(found.struct[str(unit)]), found.struct["1"]

    direct, direct_phrase = stated_chip_hours(_CHIP_TIME, 2, 5)
    labelled, labelled_phrase = stated_chip_hours(_CHIP_TIME_LABEL, 3, 2)
    chips_for = notes.str.extract_groups(_CHIPS_FOR)
    time_on = notes.str.extract_groups(_TIME_ON)
    chips = pl.coalesce(_number(chips_for.struct["2"]), _number(time_on.struct["4"]))
    hours = pl.coalesce(
        _number(chips_for.struct["3"]) * _hours(chips_for.struct["4"]),
        _number(time_on.struct["2"]) * _hours(time_on.struct["3"]),
    )
    pair_phrase = pl.coalesce(chips_for.struct["1"], time_on.struct["1"])
    stated = pl.coalesce(direct, labelled)
    # A figure past the float range ("1e400 GPU hours") is no chip time: it is not read.
    has_hours = ((stated > 0) & stated.is_finite()).fill_null(False)
    has_pair = ((chips > 0) & (hours > 0) & (chips * hours).is_finite()).fill_null(False)
    use_hours = needed & ~from_compute & has_hours
    use_pair = needed & ~from_compute & ~has_hours & has_pair
    fill_quantity = use_pair & quantity.is_null()
    fill_time = use_pair & time.is_null()
    return frame.with_columns(
        pl.when(use_hours).then(stated.round_sig_figs(15).cast(pl.String)).otherwise(chip_hours)
        .alias("chip_hours"),
        pl.when(fill_quantity).then(chips.round(0).cast(pl.Int64).cast(pl.String))
        .otherwise(quantity).alias("hardware_quantity"),
        pl.when(fill_time).then(hours.round_sig_figs(15).cast(pl.String)).otherwise(time)
        .alias("training_time_hours"),
        pl.when(use_hours).then(pl.coalesce(direct_phrase, labelled_phrase))
        .when(fill_quantity | fill_time).then(pair_phrase)
        .alias("hardware_time_phrase"),
        # Only a note that states a chip time is skipped: one naming a peak in TFLOPS alone
        # has nothing to read anyway.
        pl.when(needed & from_compute & (has_hours | has_pair)).then(notes.str.extract(_FLOP, 1))
        .alias("hardware_time_skipped_phrase"),
    )  # fmt: skip
