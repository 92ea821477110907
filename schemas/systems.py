"""The input contract: the canonical spreadsheet of ML systems.

`CANONICAL_COLUMNS` says how each cell is parsed (the parsers live in `pipeline.read.parsing`);
`SystemsSchema` states the rules a parsed row must satisfy. A row that breaks either is
quarantined with its reason; the other rows go on.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# column -> kind of cell. Kinds are parsed by pipeline.read.parsing.PARSERS.
CANONICAL_COLUMNS: dict[str, str] = {
    "system": "text",
    "organization": "text",
    "source": "text",
    "publication_date": "date",
    "domain": "domain",
    "parameters": "number",
    "active_parameters": "number",
    "connections": "number",
    "forward_flop_per_example": "number",
    "dataset_size": "number",
    "dataset_unit": "unit",
    "epochs": "number",
    # total tokens seen in training, epochs included (model cards give this): it stands for
    # dataset_size x epochs with the unit tokens, and wins over them where both are given
    "training_tokens": "number",
    "hardware": "text",
    "hardware_quantity": "count",
    "training_time_hours": "duration",
    "chip_hours": "number",
    "precision": "precision",
    "utilization": "utilization",
    "peak_flop_per_second": "number",
    "reported_compute_flop": "number",
    "base_model": "text",
    "base_model_compute_flop": "number",
    # yes when the model is a mixture of experts: with no active count, a share is assumed
    "mixture_of_experts": "flag",
    # Training stages (docs/rules.md): which stage a row describes (blank: pre-training, or the
    # whole system when it has one row), and reported figures of later stages on one row.
    "stage": "stage",
    "finetune_compute_flop": "number",
    "post_training_compute_flop": "number",
    # a synthetic-data stage: whether its data is public, and the samples made for those kept
    "synthetic_data_public": "flag",
    "samples_generated": "number",
    "samples_kept": "number",
    # phrases of free-text notes a value was read from (Epoch exports)
    "dataset_unit_phrase": "text",
    "active_parameters_phrase": "text",
    "mixture_of_experts_phrase": "text",
    # chip-hours, chips or a duration read from the training time notes, and a note not read
    # because it works from a compute figure
    "hardware_time_phrase": "text",
    "hardware_time_skipped_phrase": "text",
}

# A transformer described by its shape, or any network by a JSON layer list
# (`architecture_file`: a path, a name in pipeline/data/architectures, or inline JSON): counted
# by pipeline.architecture.transformer and pipeline.architecture.layers instead of approximated.
ARCHITECTURE_COLUMNS: dict[str, str] = {
    "n_layers": "count",
    "d_model": "count",
    "n_heads": "count",
    "n_kv_heads": "count",
    "d_ff": "count",
    "vocab_size": "count",
    "seq_len": "count",
    "gated_mlp": "flag",
    "n_experts": "count",
    "experts_per_token": "count",
    "shared_experts": "count",
    "tied_embeddings": "flag",
    "causal": "flag",
    # Parts of some families' stacks, as a Hugging Face config.json gives them (blank: none):
    # the head width where it is not d_model / n_heads, the expert MLP width where it differs
    # from the dense d_ff, the first layers that are dense in a mixture of experts, the ranks
    # and head widths of multi-head latent attention, and an encoder-decoder's decoder layers.
    "d_head": "count",
    "d_ff_expert": "count",
    "n_dense_layers": "count",
    "q_lora_rank": "count",
    "kv_lora_rank": "count",
    "d_rope_head": "count",
    "d_value_head": "count",
    "n_decoder_layers": "count",
    "architecture_file": "text",
}
CANONICAL_COLUMNS.update(ARCHITECTURE_COLUMNS)

REQUIRED_COLUMNS = ("system",)

DOMAINS = (
    "language",
    "vision",
    "speech",
    "games",
    "multimodal",
    "biology",
    "robotics",
    "recommendation",
    "other",
)

# The training stages a row can describe (`stage`), in the order a system's rows are taken as
# its main row: the first stage here that the system has is the row its totals build on.
TRAINING_STAGES = (
    "pre-training",
    "continued-pre-training",
    "fine-tuning",
    "reinforcement-learning",
    "post-training",  # fine-tuning and reinforcement learning together (Epoch's column)
    "merge",  # the training behind weights merged, averaged or used to initialise this model
    "synthetic-data",
    "distillation-teacher",
    "reward-model",
)
DEFAULT_STAGE = "pre-training"

PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp4", "int8")

_POSITIVE = {"nullable": True, "gt": 0}
# No training run did less than one operation or will soon do 1e40 (the largest are near 1e27):
# a compute figure outside is a cell off by orders of magnitude. The estimators hold their own
# figures to the same range, which also keeps every interval's bounds positive and finite.
PLAUSIBLE_FLOP = (1.0, 1e40)
PLAUSIBLE_FLOP_TEXT = "1 to 1e40 FLOP"
_STAGE_COMPUTE = {"nullable": True, "in_range": {"min_value": 0.0, "max_value": PLAUSIBLE_FLOP[1]}}
_COMPUTE = {
    "nullable": True,
    "in_range": {"min_value": PLAUSIBLE_FLOP[0], "max_value": PLAUSIBLE_FLOP[1]},
}


class SystemsSchema(pa.DataFrameModel):
    """A parsed row of the canonical spreadsheet."""

    system: str = pa.Field(nullable=False, str_length={"min_value": 1})
    organization: str = pa.Field(nullable=True)
    source: str = pa.Field(nullable=True)
    publication_date: pl.Date = pa.Field(nullable=True)
    domain: str = pa.Field(nullable=True, isin=DOMAINS)
    parameters: float = pa.Field(**_POSITIVE)
    active_parameters: float = pa.Field(**_POSITIVE)
    training_tokens: float = pa.Field(**_POSITIVE)
    connections: float = pa.Field(**_POSITIVE)
    forward_flop_per_example: float = pa.Field(**_POSITIVE)
    dataset_size: float = pa.Field(**_POSITIVE)
    dataset_unit: str = pa.Field(nullable=True)
    epochs: float = pa.Field(**_POSITIVE)
    hardware: str = pa.Field(nullable=True)
    hardware_quantity: pl.Int64 = pa.Field(**_POSITIVE)
    training_time_hours: float = pa.Field(**_POSITIVE)
    chip_hours: float = pa.Field(**_POSITIVE)
    precision: str = pa.Field(nullable=True, isin=PRECISIONS)
    utilization: float = pa.Field(nullable=True, gt=0, le=1)
    peak_flop_per_second: float = pa.Field(**_POSITIVE)
    reported_compute_flop: float = pa.Field(**_COMPUTE)
    base_model: str = pa.Field(nullable=True)
    base_model_compute_flop: float = pa.Field(**_COMPUTE)
    mixture_of_experts: pl.Boolean = pa.Field(nullable=True)
    stage: str = pa.Field(nullable=True, isin=TRAINING_STAGES)
    # 0 is no such stage (Epoch's exports write 0.0 for none); otherwise a compute figure.
    finetune_compute_flop: float = pa.Field(**_STAGE_COMPUTE)
    post_training_compute_flop: float = pa.Field(**_STAGE_COMPUTE)
    synthetic_data_public: pl.Boolean = pa.Field(nullable=True)
    samples_generated: float = pa.Field(**_POSITIVE)
    samples_kept: float = pa.Field(**_POSITIVE)
    dataset_unit_phrase: str = pa.Field(nullable=True)
    active_parameters_phrase: str = pa.Field(nullable=True)
    mixture_of_experts_phrase: str = pa.Field(nullable=True)
    hardware_time_phrase: str = pa.Field(nullable=True)
    hardware_time_skipped_phrase: str = pa.Field(nullable=True)
    n_layers: pl.Int64 = pa.Field(**_POSITIVE)
    d_model: pl.Int64 = pa.Field(**_POSITIVE)
    n_heads: pl.Int64 = pa.Field(**_POSITIVE)
    n_kv_heads: pl.Int64 = pa.Field(**_POSITIVE)
    d_ff: pl.Int64 = pa.Field(**_POSITIVE)
    vocab_size: pl.Int64 = pa.Field(**_POSITIVE)
    seq_len: pl.Int64 = pa.Field(**_POSITIVE)
    gated_mlp: pl.Boolean = pa.Field(nullable=True)
    n_experts: pl.Int64 = pa.Field(nullable=True, ge=1)
    experts_per_token: pl.Int64 = pa.Field(**_POSITIVE)
    shared_experts: pl.Int64 = pa.Field(nullable=True, ge=0)
    tied_embeddings: pl.Boolean = pa.Field(nullable=True)
    causal: pl.Boolean = pa.Field(nullable=True)
    d_head: pl.Int64 = pa.Field(**_POSITIVE)
    d_ff_expert: pl.Int64 = pa.Field(**_POSITIVE)
    n_dense_layers: pl.Int64 = pa.Field(nullable=True, ge=0)
    q_lora_rank: pl.Int64 = pa.Field(**_POSITIVE)
    kv_lora_rank: pl.Int64 = pa.Field(**_POSITIVE)
    d_rope_head: pl.Int64 = pa.Field(**_POSITIVE)
    d_value_head: pl.Int64 = pa.Field(**_POSITIVE)
    n_decoder_layers: pl.Int64 = pa.Field(**_POSITIVE)
    architecture_file: str = pa.Field(nullable=True)

    @pa.dataframe_check(name="active_parameters_at_most_parameters")
    def active_at_most_total(cls, data: pa.PolarsData) -> pl.LazyFrame:
        active, total = pl.col("active_parameters"), pl.col("parameters")
        return data.lazyframe.select(active.is_null() | total.is_null() | (active <= total))

    @pa.dataframe_check(name="kv_heads_at_most_heads")
    def kv_heads_at_most_heads(cls, data: pa.PolarsData) -> pl.LazyFrame:
        kv, heads = pl.col("n_kv_heads"), pl.col("n_heads")
        return data.lazyframe.select(kv.is_null() | (heads.is_not_null() & (kv <= heads)))

    @pa.dataframe_check(name="experts_per_token_known")
    def experts_per_token_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        experts, per_token = pl.col("n_experts"), pl.col("experts_per_token")
        many = experts.fill_null(1) > 1
        fits = per_token.is_null() | (per_token <= experts.fill_null(1))
        return data.lazyframe.select((~many | per_token.is_not_null()) & fits)

    @pa.dataframe_check(name="heads_divide_width")
    def heads_divide_width(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # Heads split the width evenly (head size = d_model / n_heads), and key-value heads
        # share the attention heads evenly.
        heads, width, kv = pl.col("n_heads"), pl.col("d_model"), pl.col("n_kv_heads")
        even = (width % heads == 0).fill_null(True) & (heads % kv == 0).fill_null(True)
        return data.lazyframe.select(even)

    @pa.dataframe_check(name="shared_experts_need_experts")
    def shared_experts_need_experts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        shared, experts = pl.col("shared_experts"), pl.col("n_experts")
        return data.lazyframe.select((shared.fill_null(0) == 0) | (experts.fill_null(1) > 1))

    @pa.dataframe_check(name="samples_kept_at_most_generated")
    def samples_kept_at_most_generated(cls, data: pa.PolarsData) -> pl.LazyFrame:
        kept, generated = pl.col("samples_kept"), pl.col("samples_generated")
        return data.lazyframe.select(kept.is_null() | generated.is_null() | (kept <= generated))

    @pa.dataframe_check(name="system_unique")
    def system_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # A system has one pre-training row (a row without a stage is one): the first row of
        # a name stands, later ones are quarantined. Later stages may repeat: two rounds of
        # reinforcement learning, public and non-public synthetic data.
        system, stage = pl.col("system"), stage_or_default(pl.col("stage"))
        main = stage == DEFAULT_STAGE
        key = pl.concat_str([system_key(system), stage], separator="\0")
        return data.lazyframe.select(system.is_null() | ~main | key.is_first_distinct())

    class Config:
        strict = False  # unknown columns are carried through
        coerce = False


# Characters that show nothing: soft hyphen, combining grapheme joiner, zero-width space and
# joiners, left-to-right and right-to-left marks, word joiner and invisible operators, BOM.
INVISIBLE = "\u00ad\u034f\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"


def system_key(system: pl.Expr) -> pl.Expr:
    """A system name as uniqueness compares it: names a reader cannot tell apart are the same
    system. Compatibility forms are folded (NFKC: full-width letters, ligatures), invisible
    characters dropped (zero-width spaces and joiners, soft hyphens, byte-order marks), dashes
    made hyphens, and case ignored."""
    # Only a name with a character beyond ASCII can fold, lose a character or change a dash:
    # the others skip those steps (blank there, which the string functions pass over), and
    # normalizing a million names took most of a second.
    beyond_ascii = system.str.contains(r"[^\x00-\x7F]")
    folded = (
        pl.when(beyond_ascii)
        .then(system)
        .str.normalize("NFKC")
        .str.replace_all(f"[{INVISIBLE}]", "")
        .str.replace_all("[\u2010-\u2015\u2212]", "-")
    )
    return pl.coalesce(folded, system).str.strip_chars().str.to_lowercase()


def stage_or_default(stage: pl.Expr) -> pl.Expr:
    return stage.fill_null(DEFAULT_STAGE)


# Which input column a frame-level check speaks of, and what it expected.
FRAME_CHECKS: dict[str, tuple[str, str]] = {
    "active_parameters_at_most_parameters": (
        "active_parameters",
        "active parameters at most the total parameters",
    ),
    "kv_heads_at_most_heads": (
        "n_kv_heads",
        "key-value heads at most the attention heads (n_heads given)",
    ),
    "experts_per_token_known": (
        "experts_per_token",
        "experts per token between 1 and n_experts, given for a mixture of experts",
    ),
    "heads_divide_width": (
        "n_heads",
        "n_heads dividing d_model, and n_kv_heads dividing n_heads",
    ),
    "shared_experts_need_experts": (
        "shared_experts",
        "shared experts only in a mixture of experts (n_experts above 1)",
    ),
    "samples_kept_at_most_generated": (
        "samples_kept",
        "samples kept at most the samples generated",
    ),
    "system_unique": (
        "system",
        "a system name not already used by an earlier pre-training row (a blank stage is one)",
    ),
}
