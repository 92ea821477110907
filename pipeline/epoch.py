"""Epoch AI database exports as flopsheet input.

An export is recognised by its headers (or `--format epoch`). Its columns map to the
canonical ones across the schema drift between exports; the units that live only in its free
text (the dataset unit in `Dataset size notes`, the active parameters of mixture-of-experts
models in `Parameters notes`) are read from that text, and the phrase they came from is kept
so that the estimate can flag and quote it. `Training compute notes` holds Epoch's own
derivation and result: it is carried through and never read.
"""

from __future__ import annotations

import polars as pl

from pipeline.errors import InputFileError
from pipeline.parsing import parse_number
from schemas.systems import CANONICAL_COLUMNS

# canonical column -> Epoch headers, preferred first
EPOCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "system": ("Model",),
    "organization": ("Organization",),
    "source": ("Link",),
    "publication_date": ("Publication date",),
    "domain": ("Domain",),
    "parameters": ("Parameters",),
    "dataset_size": (
        "Training dataset size (datapoints)",
        "Training dataset size (gradients)",
        "Training dataset size (total)",
        "Training dataset size",
        "(DEPRECATED) Training dataset size (datapoints)",
    ),
    "epochs": ("Epochs",),
    "hardware": ("Training hardware",),
    "hardware_quantity": ("Hardware quantity",),
    "training_time_hours": ("Training time (hours)",),
    "chip_hours": ("Training chip-hours",),
    "precision": ("Numerical format",),
    "utilization": ("Hardware utilization (MFU)", "Hardware utilization"),
    "reported_compute_flop": ("Training compute (FLOP)",),
    "base_model": ("Base model",),
    "base_model_compute_flop": ("Base model compute",),
}
REQUIRED = ("system",)
SIGNATURE = ("Model", "Training compute (FLOP)")
# Epoch's compute figures: withheld by `evaluate`, so the pipeline never sees them.
COMPUTE_COLUMNS = (
    "Training compute (FLOP)",
    "Finetune compute (FLOP)",
    "Training compute lower bound",
    "Training compute upper bound",
    "Base model compute",
    "Total compute - (base + finetune)",
    "Post-training compute (FLOP)",
)
DATASET_NOTES = "Dataset size notes"
PARAMETER_NOTES = "Parameters notes"

_SCALE = r"(b|billion|m|million|t|trillion|k|thousand)\b"
_SCALES = {"b": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "t": 1e12, "trillion": 1e12,
           "k": 1e3, "thousand": 1e3}  # fmt: skip
_ACTIVE_AFTER = (
    rf"(\d+(?:\.\d+)?)\s*{_SCALE}\s*(?:parameters?\s*|params?\s*)?(?:are\s*)?(?:active|activated)\b"
)
_ACTIVE_BEFORE = rf"\b(?:active|activated|activates)\s*(?:parameters?|params)?\s*[:=-]?\s*(\d+(?:\.\d+)?)\s*{_SCALE}"
UNIT_WORDS = {
    "tokens": "tokens", "token": "tokens", "words": "words", "word": "words",
    "images": "images", "image": "images", "image-text pairs": "images",
    "text-image pairs": "images", "videos": "videos", "video": "videos", "clips": "videos",
    "frames": "frames", "examples": "examples", "samples": "examples",
    "sentences": "sentences", "sentence pairs": "sentences", "sequences": "sequences",
    "documents": "documents", "hours": "audio hours", "episodes": "episodes",
    "timesteps": "steps", "steps": "steps", "games": "games", "proteins": "proteins",
    "structures": "structures", "molecules": "molecules",
}  # fmt: skip
_UNIT_WORD = (
    r"("
    + "|".join(sorted(map(lambda w: w.replace("-", r"\-"), UNIT_WORDS), key=len, reverse=True))
    + r")\b"
)
# A unit counts only when a quantity stands right before it ("400B tokens", "33 billion words",
# "1.28M labeled images"): a bare word ("to fill in words", "visual tokens") names no dataset size.
_QUANTITY = r"\d[\d,.]*\s*(?:[kmbt]\b|thousand\b|million\b|billion\b|trillion\b|e\d+\b)?\s*"
_UNIT_PATTERN = _QUANTITY + r"(?:[a-z-]+\s+)?" + _UNIT_WORD


def is_epoch_export(headers: list[str]) -> bool:
    return all(h in headers for h in SIGNATURE)


def _mostly_numbers(frame: pl.DataFrame, header: str) -> bool:
    """Whether most filled cells of a column read as numbers (one export's `Training dataset
    size` column holds model names instead)."""
    cells = frame[header].drop_nulls().filter(frame[header].drop_nulls().str.strip_chars() != "")
    if cells.len() == 0:
        return True
    parsed = cells.to_frame("c").select(parse_number(pl.col("c")).is_not_null().mean()).item()
    return parsed >= 0.5


def epoch_column_map(frame: pl.DataFrame, path: object) -> dict[str, str]:
    """Epoch header -> canonical name for the headers present. The first alternative wins,
    except that a number column whose cells are mostly not numbers is passed over."""
    present = set(frame.columns)
    mapping: dict[str, str] = {}
    for canonical, alternatives in EPOCH_COLUMNS.items():
        candidates = [h for h in alternatives if h in present]
        if CANONICAL_COLUMNS.get(canonical) == "number":
            candidates = [h for h in candidates if _mostly_numbers(frame, h)] or candidates[:1]
        found = candidates[0] if candidates else None
        if found is not None:
            mapping[found] = canonical
        elif canonical in REQUIRED:
            raise InputFileError(
                path,
                f"not an Epoch export: no {canonical!r} column (looked for "
                + ", ".join(repr(h) for h in alternatives)
                + ")",
            )
    return mapping


def _clean_text(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"\s+", " ").str.to_lowercase()


def _active_from_notes(notes: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(active parameters as text, the phrase) from a mixture-of-experts note."""
    # "active parameters: 47B" names the figure more surely than "424B ... active", so the
    # label-first form is tried first.
    after = notes.str.extract_groups(_ACTIVE_AFTER)
    before = notes.str.extract_groups(_ACTIVE_BEFORE)
    number = pl.coalesce(before.struct.field("1"), after.struct.field("1"))
    scale = pl.coalesce(before.struct.field("2"), after.struct.field("2"))
    value = number.cast(pl.Float64, strict=False) * scale.replace_strict(
        _SCALES, default=None, return_dtype=pl.Float64
    )
    phrase = pl.coalesce(
        notes.str.extract(f"({_ACTIVE_BEFORE})", 1), notes.str.extract(f"({_ACTIVE_AFTER})", 1)
    )
    return value.round_sig_figs(15).cast(pl.String), phrase


def derive_from_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill the dataset unit and active parameters from Epoch's notes where they are blank,
    keeping the phrase each came from (`dataset_unit_phrase`, `active_parameters_phrase`)."""
    additions = []
    if DATASET_NOTES in frame.columns:
        notes = _clean_text(DATASET_NOTES)
        word = notes.str.extract(_UNIT_PATTERN, 1)
        unit = word.replace_strict(UNIT_WORDS, default=None, return_dtype=pl.String)
        phrase = notes.str.extract(r"((?:\S+\s+){0,2}" + _UNIT_PATTERN + r")", 1)
        blank = (
            pl.col("dataset_unit").is_null() if "dataset_unit" in frame.columns else pl.lit(True)
        )
        additions += [
            pl.when(blank)
            .then(unit)
            .otherwise(pl.col("dataset_unit") if "dataset_unit" in frame.columns else None)
            .alias("dataset_unit"),
            pl.when(blank & unit.is_not_null()).then(phrase).alias("dataset_unit_phrase"),
        ]
    if PARAMETER_NOTES in frame.columns:
        value, phrase = _active_from_notes(_clean_text(PARAMETER_NOTES))
        if "parameters" in frame.columns:  # a figure not below the total is not an active count
            below = value.cast(pl.Float64) < parse_number(pl.col("parameters"))
            value = pl.when(below.fill_null(False)).then(value)
        blank = (
            pl.col("active_parameters").is_null()
            if "active_parameters" in frame.columns
            else pl.lit(True)
        )
        additions += [
            pl.when(blank)
            .then(value)
            .otherwise(
                pl.col("active_parameters") if "active_parameters" in frame.columns else None
            )
            .alias("active_parameters"),
            pl.when(blank & value.is_not_null()).then(phrase).alias("active_parameters_phrase"),
        ]
    return frame.with_columns(additions) if additions else frame
