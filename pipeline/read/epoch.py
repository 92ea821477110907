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
from pipeline.read.columns import header_key
from pipeline.read.note_phrases import FIGURE, FIGURE_START, SCALE, SCALES, clean_text, scaled
from pipeline.read.parsing import parse_number
from pipeline.read.time_notes import hardware_time_from_notes
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
    "finetune_compute_flop": ("Finetune compute (FLOP)",),
    "post_training_compute_flop": ("Post-training compute (FLOP)",),
}
# What `evaluate` withholds from estimation: every column that holds Epoch's figure or derives
# from it (its notes, bounds, base and fine-tune parts, estimation method, confidence, the cost
# worked out from it), matched by name so that a column a later export adds is withheld too.
# A column matched that does not derive from the figure (a cloud vendor) is not one estimation
# reads either.
FIGURE_DERIVED_PATTERNS = ("compute", "cost", "confidence")
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

_ACTIVE_AFTER = rf"{FIGURE}\s*{SCALE}\s*(?:parameters?\s*|params?\s*)?(?:are\s*)?(?:active|activated|activation)\b"
_ACTIVE_BEFORE = (
    rf"\b(?:active|activated|activates)\s*(?:parameters?|params)?\s*[:=-]?\s*{FIGURE}\s*{SCALE}"
)
# "25% of the weights active on a given token"
_ACTIVE_SHARE = rf"{FIGURE}\s*%\s*of\s*(?:the\s*|its\s*)?(?:weights|parameters|params)\s*(?:are\s*)?(?:active|activated|used)\b"
# "Qwen3-30B-A3B": 30B in total, 3B active
_ACTIVE_NAMED = r"\b\d+(?:\.\d+)?b-a(\d+(?:\.\d+)?)b\b"
_CITATION = r"""\b(?:in|from|see)\s+['"‘“][^'"’”]*['"’”]|https?://\S+"""
_MIXTURE_OF_EXPERTS = r"(?:\bmoe\b|mixture[- ]of[- ]experts|sparsely[- ]gated|\bexperts\b)"
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
# A mention states the dataset size when its quantity is within this factor of the size cell.
SIZE_MATCH = 1.15


def is_epoch_export(headers: list[str]) -> bool:
    return all(h in headers for h in SIGNATURE)


def with_epoch_spelling(frame: pl.DataFrame) -> pl.DataFrame:
    """Headers that are Epoch's but for case, spaces or punctuation ("Model ", "model") take
    Epoch's spelling, so that recognising the export, withholding its figures and mapping its
    columns all see them. A spelling whose header is already there is left alone."""
    known = {
        header_key(h): h
        for h in (*(h for names in EPOCH_COLUMNS.values() for h in names), *COMPUTE_COLUMNS,
                  DATASET_NOTES, PARAMETER_NOTES)
    }  # fmt: skip
    renames: dict[str, str] = {}
    for header in frame.columns:
        spelled = known.get(header_key(header))
        if spelled and spelled != header and spelled not in frame.columns:
            renames.setdefault(header, spelled)
    if len(set(renames.values())) < len(renames):  # two spellings of one header: keep both
        return frame
    return frame.rename(renames)


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


def _active_from_notes(notes: pl.Expr, name: pl.Expr, total: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(active parameters, the phrase) of a mixture-of-experts model, from its parameters
    notes or, in the naming convention "30B-A3B", from its name or notes."""
    # "active parameters: 47B" names the figure more surely than "424B ... active", so the
    # label-first form is tried first.
    before = notes.str.extract_groups(_ACTIVE_BEFORE)
    after = notes.str.extract_groups(FIGURE_START + _ACTIVE_AFTER)
    share = notes.str.extract(FIGURE_START + _ACTIVE_SHARE, 1)
    share = share.str.replace_all(",", "").cast(pl.Float64, strict=False)
    named = [
        text.str.extract(_ACTIVE_NAMED, 1).cast(pl.Float64, strict=False) for text in (name, notes)
    ]
    value = pl.coalesce(
        scaled(before.struct.field("1"), before.struct.field("2")),
        scaled(after.struct.field("1"), after.struct.field("2")),
        share / 100 * total,
        *(n * 1e9 for n in named),
    )
    phrase = pl.coalesce(
        notes.str.extract(f"({_ACTIVE_BEFORE})", 1),
        notes.str.extract(f"{FIGURE_START}({_ACTIVE_AFTER})", 1),
        notes.str.extract(f"{FIGURE_START}({_ACTIVE_SHARE})", 1),
        name.str.extract(f"({_ACTIVE_NAMED})", 1),
        notes.str.extract(f"({_ACTIVE_NAMED})", 1),
    )
    return value, phrase


def _mention_size(mention: pl.Expr) -> pl.Expr:
    """The quantity a unit mention states ("400B tokens" -> 4e11), or null."""
    number = mention.str.extract(r"^(\d[\d,.]*)", 1).str.replace_all(",", "")
    number = number.str.strip_chars_end(".").cast(pl.Float64, strict=False)
    scale = mention.str.extract(r"^\d[\d,.]*\s*([kmbt]|thousand|million|billion|trillion)\b", 1)
    exponent = mention.str.extract(r"^\d[\d,.]*\s*e(\d+)\b", 1).cast(pl.Float64, strict=False)
    multiplier = pl.coalesce(
        scale.replace_strict(SCALES, default=None, return_dtype=pl.Float64),
        pl.lit(10.0).pow(exponent),
        pl.lit(1.0),
    )
    return number * multiplier


def _dataset_unit_from_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """(`_unit`, `_unit_phrase`) per row of `frame`: the unit of the dataset size, read from
    its notes.

    Notes name many quantities ("trained for 200k steps", "12 hours", "100B tokens (so 75B
    words)"), so the mention whose quantity is the size in the `dataset_size` cell wins. Failing
    that, the first. Optimizer steps measure the training's length, not its data, and hours are
    data only for audio: those are never the unit."""
    notes = clean_text(DATASET_NOTES)
    size = parse_number(pl.col("dataset_size")) if "dataset_size" in frame.columns else pl.lit(None)
    audio = (
        pl.col("domain").str.contains(r"(?i)speech|audio")
        if "domain" in frame.columns
        else pl.lit(False)
    ).fill_null(False)
    mention = pl.col("_mention")
    word = mention.str.extract(_UNIT_WORD + "$", 1)
    unit = word.replace_strict(UNIT_WORDS, default=None, return_dtype=pl.String)
    ratio = _mention_size(mention) / pl.col("_size")
    states_size = ratio.is_between(1 / SIZE_MATCH, SIZE_MATCH).fill_null(False)
    plausible = (unit != "steps") & ((unit != "audio hours") | pl.col("_audio"))
    mentions = (
        frame.select(
            pl.int_range(pl.len()).alias("_row"),
            # Mentions alone: context words before one could swallow the mention before it.
            notes.str.extract_all(_UNIT_PATTERN).alias("_mention"),
            size.alias("_size"),
            audio.alias("_audio"),
        )
        .explode("_mention", empty_as_null=True, keep_nulls=True)
        .with_columns(unit.alias("_unit"), states_size.alias("_states"), plausible.alias("_ok"))
    )
    chosen = pl.when(pl.col("_states") & pl.col("_ok")).then(0).when(pl.col("_ok")).then(1)
    return (
        mentions.with_columns(
            chosen.alias("_rank"), pl.int_range(pl.len()).over("_row").alias("_i")
        )
        .sort("_row", pl.col("_rank"), "_i", nulls_last=True)
        .group_by("_row", maintain_order=True)
        .agg(
            pl.col("_unit").filter(pl.col("_rank").is_not_null()).first(),
            pl.col("_mention").filter(pl.col("_rank").is_not_null()).first().alias("_unit_phrase"),
        )
        .sort("_row")
        .select("_unit", "_unit_phrase")
    )


def derive_from_notes(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill the dataset unit, active parameters and chip time (time_notes.py) from Epoch's
    notes where they are blank, keeping the phrase each came from (`dataset_unit_phrase`,
    `active_parameters_phrase`, `hardware_time_phrase`)."""
    frame = hardware_time_from_notes(frame)
    additions = []
    if DATASET_NOTES in frame.columns:
        found = _dataset_unit_from_notes(frame)
        unit, phrase = found["_unit"], found["_unit_phrase"]
        blank = (
            pl.col("dataset_unit").is_null() if "dataset_unit" in frame.columns else pl.lit(True)
        )
        additions += [
            pl.when(blank)
            .then(pl.lit(unit))
            .otherwise(pl.col("dataset_unit") if "dataset_unit" in frame.columns else None)
            .alias("dataset_unit"),
            pl.when(blank & pl.lit(unit).is_not_null())
            .then(pl.lit(phrase))
            .alias("dataset_unit_phrase"),
        ]
    if PARAMETER_NOTES in frame.columns:
        notes = clean_text(PARAMETER_NOTES)
        total = (
            parse_number(pl.col("parameters")) if "parameters" in frame.columns else pl.lit(None)
        )
        name = pl.col("system").str.to_lowercase() if "system" in frame.columns else pl.lit("")
        value, phrase = _active_from_notes(notes, name, total)
        # A figure not below the total, or none at all, is not an active count.
        value = pl.when((value < total).fill_null(total.is_null()) & (value > 0)).then(value)
        blank = (
            pl.col("active_parameters").is_null()
            if "active_parameters" in frame.columns
            else pl.lit(True)
        )
        additions += [
            pl.when(blank)
            .then(value.round_sig_figs(15).cast(pl.String))
            .otherwise(
                pl.col("active_parameters") if "active_parameters" in frame.columns else None
            )
            .alias("active_parameters"),
            pl.when(blank & value.is_not_null()).then(phrase).alias("active_parameters_phrase"),
        ]
        # A mixture of experts named without its active count: the estimate assumes a share.
        # Titles of cited papers ("Table 5 in 'The Sparsely-Gated Mixture-of-Experts Layer'")
        # and links describe other work, not this model.
        own_words = notes.str.replace_all(_CITATION, " ")
        moe_phrase = own_words.str.extract(
            f"((?:\\S+\\s+){{0,3}}{_MIXTURE_OF_EXPERTS}(?:\\s+\\S+){{0,2}})", 1
        )
        if "mixture_of_experts" not in frame.columns:
            additions += [
                pl.when(moe_phrase.is_not_null()).then(pl.lit("yes")).alias("mixture_of_experts"),
                moe_phrase.alias("mixture_of_experts_phrase"),
            ]
    return frame.with_columns(additions) if additions else frame
