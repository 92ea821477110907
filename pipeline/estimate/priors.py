"""Utilization priors: what to assume when a paper reports no utilization, and how sure to be.

A prior is a log-normal distribution of utilization (the share of peak FLOP/s achieved) for a
domain on a hardware generation: its median is the value assumed, its spread (`sigma`, the
standard deviation of ln utilization) is the uncertainty the hardware method carries.

The seed priors are Epoch (2022)'s fixed defaults: 0.30 for language models, 0.40 for others,
with reported practice spanning about 0.2 to 0.6 taken as their 90% range. `calibrate` learns
priors from rows where a utilization was reported, or where both methods apply (the implied
utilization, ops / (chip-seconds x peak)), grouped by domain and by the generation of the chip.
A group with too few observations is not written, and a lookup falls back from
(domain, generation) to (domain, any), (any, generation) and (any, any).

Priors files are TOML (`[[prior]]` tables); `flopsheet calibrate` writes them and
`flopsheet estimate --priors` reads them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.defaults import SEED_UTILIZATION
from pipeline.errors import InputFileError
from pipeline.estimate import epoch_spreads, forward_costs
from pipeline.estimate.epoch_spreads import EPOCH_SPREAD_COLUMNS, epoch_spreads_from_document
from pipeline.estimate.forward_costs import FORWARD_COLUMNS, forward_costs_from_document
from pipeline.estimate.predictive import SPREAD_COLUMNS, spreads_from_document
from pipeline.estimate.uncertainty import Z90
from pipeline.frames import join_beside
from pipeline.read.small_files import read_toml, toml_table_lines
from pipeline.resources import PRIORS_FILE
from schemas.estimates import COUNT_ASSUMPTION_FLAGS
from schemas.systems import DOMAINS

ANY = "*"
SEED = "seed"
SEED_RANGE = (0.2, 0.6)  # reported practice, taken as the seed priors' 90% range

# Chip generations by release year: before tensor cores and TPUs, the V100 / TPU v2-v3 years,
# the A100 / TPU v4 years, and the H100 years onward.
GENERATIONS = ((2016, "before 2016"), (2020, "2016-2019"), (2023, "2020-2022"), (None, "2023+"))
PRIOR_COLUMNS = {
    "domain": pl.String, "generation": pl.String, "utilization": pl.Float64,
    "sigma": pl.Float64, "low": pl.Float64, "high": pl.Float64, "observations": pl.Int64,
}  # fmt: skip
MIN_PRIOR_SIGMA = 0.1  # a calibrated prior is never surer than this, however alike its reports


def sigma_of_range(low: float, high: float) -> float:
    """The log-normal sigma whose 90% interval is [low, high]."""
    return math.log(high / low) / (2 * Z90)


@dataclass(frozen=True)
class PriorsChoice:
    """Which utilization priors a run uses: a TOML file (`path`), or the seed's fixed values
    (`path` None)."""

    path: Path | None = PRIORS_FILE

    @classmethod
    def seed(cls) -> PriorsChoice:
        return cls(None)

    @classmethod
    def parse(cls, text: str | Path) -> PriorsChoice:
        """A command-line value: a file, or the word 'seed'."""
        return cls.seed() if str(text) == SEED else cls(Path(text))

    @property
    def is_seed(self) -> bool:
        return self.path is None

    def __str__(self) -> str:
        return SEED if self.path is None else str(self.path)


def seed_priors() -> pl.DataFrame:
    sigma = sigma_of_range(*SEED_RANGE)
    rows = [
        (domain, ANY, utilization, sigma, None, None, 0)
        for domain, utilization in SEED_UTILIZATION.items()
    ]
    frame = pl.DataFrame(rows, schema=PRIOR_COLUMNS, orient="row")
    return _with_range(frame)


def _with_range(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill missing 90% ranges from the median and sigma."""
    spread = (Z90 * pl.col("sigma")).exp()
    return frame.with_columns(
        pl.coalesce("low", pl.col("utilization") / spread).alias("low"),
        pl.coalesce("high", (pl.col("utilization") * spread).clip(upper_bound=1.0)).alias("high"),
    )


def generation(year: pl.Expr) -> pl.Expr:
    expression = pl.when(year.is_null()).then(pl.lit(None, pl.String))
    for before, label in GENERATIONS:
        expression = expression.when(pl.lit(True) if before is None else year < before).then(
            pl.lit(label)
        )
    return expression.otherwise(pl.lit(None, pl.String))


@dataclass(frozen=True)
class Learned:
    """What a run takes from data, as one priors file holds it: the utilization priors, the
    predictive spreads (predictive.py; None: the assumptions' log-normal), the forward cost
    per parameter (forward_costs.py; None: that rule does not apply) and the spread of assumed
    epochs (epoch_spreads.py; None: the setting's). `priors` None are the seed's."""

    priors: pl.DataFrame | None = None
    spreads: pl.DataFrame | None = None
    forward_costs: pl.DataFrame | None = None
    epoch_spreads: pl.DataFrame | None = None


def provisional_learned(priors: pl.DataFrame) -> Learned:
    """What a run estimates with to observe what is learned from figures beyond the priors:
    k = 1 and no spread from assumed epochs, so that each figure observes k, or the epochs'
    spread (the predictive spreads are fitted after, on a run with these learned)."""
    return Learned(
        priors, forward_costs=forward_costs.PROVISIONAL, epoch_spreads=epoch_spreads.PROVISIONAL
    )


def load_learned(choice: PriorsChoice | Path = PriorsChoice()) -> Learned:
    """The priors file of `choice`, read once (the seed: its fixed priors and nothing learned).
    A broken file is a file-level error naming what is wrong (a run reading its snapshot names
    the user's file: see `Snapshot.naming_originals`)."""
    if isinstance(choice, PriorsChoice):
        if choice.is_seed:
            return Learned(seed_priors())
        choice = choice.path
    path = Path(choice)
    document = read_toml(path, "priors file")
    return Learned(
        _priors_from_document(path, document),
        spreads_from_document(path, document),
        forward_costs_from_document(path, document),
        epoch_spreads_from_document(path, document),
    )


def load_priors(choice: PriorsChoice | Path = PriorsChoice()) -> pl.DataFrame:
    """The utilization priors of `choice` (a file, or the seed's)."""
    return load_learned(choice).priors


def load_spreads(choice: PriorsChoice | Path = PriorsChoice()) -> pl.DataFrame | None:
    """The learned predictive spreads written with the priors of `choice`."""
    return load_learned(choice).spreads


def _priors_from_document(path: Path, document: dict) -> pl.DataFrame:
    entries = document.get("prior")
    if not isinstance(entries, list) or not entries:
        raise InputFileError(path, "no [[prior]] tables")
    rows = []
    for number, entry in enumerate(entries, start=1):
        rows.append(_prior_row(path, number, entry))
    frame = _with_range(pl.DataFrame(rows, schema=PRIOR_COLUMNS, orient="row"))
    duplicated = frame.filter(pl.struct("domain", "generation").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise InputFileError(
            path, f"prior for domain {first['domain']!r}, generation "
            f"{first['generation']!r} given twice",
        )  # fmt: skip
    if frame.filter((pl.col("domain") == ANY) & (pl.col("generation") == ANY)).height == 0:
        raise InputFileError(path, f"no fallback prior (domain = {ANY!r}, generation = {ANY!r})")
    return frame


def _prior_row(path: Path, number: int, entry: object) -> tuple:
    where = f"prior {number}"
    if not isinstance(entry, dict):
        raise InputFileError(path, f"{where}: expected a table")

    def number_field(name: str, low: float, high: float, required: bool = True) -> float | None:
        value = entry.get(name)
        if value is None and not required:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (low < value <= high)
        ):
            raise InputFileError(
                path, f"{where}: {name} = {value!r}, expected a number in ({low}, {high}]"
            )
        return float(value)

    texts = []
    known = {"domain": (*DOMAINS, ANY), "generation": (*(g for _, g in GENERATIONS), ANY)}
    for name in ("domain", "generation"):
        value = entry.get(name, ANY)
        value = value.lower() if isinstance(value, str) and name == "domain" else value
        if value not in known[name]:
            raise InputFileError(
                path, f"{where}: {name} = {value!r}, expected one of {', '.join(known[name])}"
            )
        texts.append(value)
    observations = entry.get("observations", 0)
    if (
        isinstance(observations, bool)
        or not isinstance(observations, int)
        or not 0 <= observations < 2**63
    ):
        raise InputFileError(
            path, f"{where}: observations = {observations!r}, expected a whole number >= 0"
        )
    low, high = (
        number_field("low", 0.0, 1.0, required=False),
        number_field("high", 0.0, 1.0, required=False),
    )
    utilization = number_field("utilization", 0.0, 1.0)
    # The 90% range holds its median: a bound on the wrong side is a swapped or mistyped figure.
    if low is not None and low > utilization:
        raise InputFileError(path, f"{where}: low = {low} is above utilization = {utilization}")
    if high is not None and high < utilization:
        raise InputFileError(path, f"{where}: high = {high} is below utilization = {utilization}")
    return (
        *texts, utilization, number_field("sigma", 0.0, 5.0), low, high, observations,
    )  # fmt: skip


def with_prior(frame: pl.LazyFrame, priors: pl.DataFrame) -> pl.LazyFrame:
    """Add `_prior_utilization`, `_prior_sigma` and `_prior_label` to each row, from its
    `domain` and `_hardware_generation`, most specific prior first."""
    keyed = frame.with_columns(
        pl.coalesce(pl.col("domain"), pl.lit(ANY)).alias("_prior_domain"),
        pl.coalesce(pl.col("_hardware_generation"), pl.lit(ANY)).alias("_prior_generation"),
    )
    levels = [("_prior_domain", "_prior_generation"), ("_prior_domain", None),
              (None, "_prior_generation"), (None, None)]  # fmt: skip
    for level, (domain_key, generation_key) in enumerate(levels):
        table = priors.filter(
            (pl.col("domain") != ANY) if domain_key else (pl.col("domain") == ANY),
            (pl.col("generation") != ANY) if generation_key else (pl.col("generation") == ANY),
        )
        label = _label(domain_key is not None, generation_key is not None)
        table = table.select(
            *([pl.col("domain").alias("_prior_domain")] if domain_key else []),
            *([pl.col("generation").alias("_prior_generation")] if generation_key else []),
            pl.col("utilization").alias(f"_u{level}"),
            pl.col("sigma").alias(f"_s{level}"),
            label.alias(f"_l{level}"),
        )
        keys = [k for k in (domain_key, generation_key) if k]
        if keys:
            keyed = join_beside(keyed, table, keys)
        else:  # the prior for any domain and chip (one, as loading checks), on every row
            keyed = keyed.with_columns(
                pl.lit(table[name][0] if table.height else None, dtype).alias(name)
                for name, dtype in table.schema.items()
            )
    lookups = range(len(levels))
    return keyed.with_columns(
        pl.coalesce(*(f"_u{i}" for i in lookups)).alias("_prior_utilization"),
        pl.coalesce(*(f"_s{i}" for i in lookups)).alias("_prior_sigma"),
        pl.coalesce(*(f"_l{i}" for i in lookups)).alias("_prior_label"),
    ).drop(
        "_prior_domain", "_prior_generation",
        *(f"_{c}{i}" for i in lookups for c in "usl"),
    )  # fmt: skip


def _label(has_domain: bool, has_generation: bool) -> pl.Expr:
    domain = pl.col("domain") if has_domain else pl.lit("any domain")
    chips = (
        pl.concat_str([pl.col("generation"), pl.lit(" chips")])
        if has_generation
        else pl.lit("any chip")
    )
    observed = pl.when(pl.col("observations") > 0).then(
        pl.concat_str([pl.lit(", "), pl.col("observations").cast(pl.String), pl.lit(" observations")])
    ).otherwise(pl.lit(""))  # fmt: skip
    return pl.concat_str([
        pl.lit("prior for "), domain, pl.lit(" on "), chips, pl.lit(", 90% "),
        pl.col("low").round(2).cast(pl.String), pl.lit("-"), pl.col("high").round(2).cast(pl.String),
        observed,
    ])  # fmt: skip


# Calibration ---------------------------------------------------------------------------------


def utilization_observations(
    estimates: pl.DataFrame, hardware: pl.DataFrame, low: float, high: float
) -> pl.DataFrame:
    """One utilization per row that tells one: reported, or implied by both methods when the
    implied value is plausible (outside [low, high] the methods describe different runs)."""
    years = hardware.select(
        pl.col("name").alias("hardware_matched"),
        pl.col("release_date").dt.year().alias("_year"),
    )
    implied = pl.col("implied_utilization")
    # An implied utilization is only as good as the count of operations behind it: one that
    # rests on an assumed epoch count or dataset unit would teach the assumption, not the
    # hardware. A fine-tune's hardware is not set against anything but its stage either.
    counted_from_reports = (
        ~pl.col("flags").list.eval(pl.element().is_in(COUNT_ASSUMPTION_FLAGS)).list.any()
    )
    plausible = (
        implied.is_between(low, high) & pl.col("base_model").is_null() & counted_from_reports
    )
    return (
        estimates.join(years, on="hardware_matched", how="left")
        .select(
            pl.col("system"),
            pl.col("domain"),
            generation(pl.col("_year")).alias("generation"),
            pl.when(pl.col("utilization").is_not_null())
            .then(pl.col("utilization"))
            .when(plausible)
            .then(implied)
            .alias("observed_utilization"),
            pl.when(pl.col("utilization").is_not_null())
            .then(pl.lit("reported"))
            .when(plausible)
            .then(pl.lit("implied"))
            .alias("kind"),
        )
        .drop_nulls("observed_utilization")
        .filter(pl.col("observed_utilization") <= 1.0)
    )


def calibrate_priors(observations: pl.DataFrame, min_observations: int = 10) -> pl.DataFrame:
    """Priors at four levels of detail from utilization observations; a group is kept only
    with `min_observations` or more. The (any, any) prior is always written."""
    u = pl.col("observed_utilization")
    stats = [
        u.median().alias("utilization"),
        pl.max_horizontal(u.log().std().fill_null(MIN_PRIOR_SIGMA), pl.lit(MIN_PRIOR_SIGMA)).alias(
            "sigma"
        ),
        u.quantile(0.05, "linear").alias("low"),
        u.quantile(0.95, "linear").alias("high"),
        pl.len().cast(pl.Int64).alias("observations"),
    ]
    data = observations.with_columns(pl.col("domain").fill_null(ANY))
    groups = [
        data.filter(pl.col("domain") != ANY, pl.col("generation").is_not_null())
        .group_by("domain", "generation")
        .agg(stats),
        data.filter(pl.col("domain") != ANY)
        .group_by("domain")
        .agg(stats)
        .with_columns(pl.lit(ANY).alias("generation")),
        data.filter(pl.col("generation").is_not_null())
        .group_by("generation")
        .agg(stats)
        .with_columns(pl.lit(ANY).alias("domain")),
    ]
    kept = [g.filter(pl.col("observations") >= min_observations) for g in groups]
    overall = data.select(stats).with_columns(
        pl.lit(ANY).alias("domain"), pl.lit(ANY).alias("generation")
    )
    if overall["observations"][0] == 0:
        overall = seed_priors().filter(pl.col("domain") == ANY)
    priors = pl.concat(
        [frame.select(list(PRIOR_COLUMNS)).cast(PRIOR_COLUMNS) for frame in [*kept, overall]]
    )
    return priors.sort(pl.col("domain") == ANY, "domain", pl.col("generation") == ANY, "generation")


def priors_toml(learned: Learned, header: Sequence[str]) -> str:
    """What a run learns as a TOML document, `header` lines first as comments."""
    lines = [f"# {line}" if line else "#" for line in header]
    tables = [
        ("prior", learned.priors, PRIOR_COLUMNS), ("spread", learned.spreads, SPREAD_COLUMNS),
        ("forward", learned.forward_costs, FORWARD_COLUMNS),
        ("epochs", learned.epoch_spreads, EPOCH_SPREAD_COLUMNS),
    ]  # fmt: skip
    for name, table, columns in tables:
        if table is not None:
            lines += toml_table_lines(name, table.select(list(columns)))
    return "\n".join(lines) + "\n"
