"""The methods' defaults, in one place. Each is documented in docs/methods.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Settings:
    # Backward pass cost as a multiple of the forward pass: training = (1 + ratio) x forward.
    backward_forward_ratio: float = 2.0
    # Tokens per word when a language dataset is counted in words.
    tokens_per_word: float = 4 / 3
    # The utilization assumed when a paper reports none comes from the utilization priors
    # (pipeline/estimate/priors.py), not from here.
    # With epochs unreported, a language dataset of fewer tokens per parameter than this is not
    # a whole training run (a fine-tune, or many unreported epochs): 6ND is not applied.
    min_tokens_per_parameter: float = 0.1
    # Two methods (or a method and the reported figure) "agree" within this factor.
    agreement_factor: float = 3.0
    # Implied utilization outside these bounds points to mismatched inputs: the hardware-time
    # estimate is then preferred to the count of operations. Reported MFU spans about 0.2-0.6.
    implied_utilization_low: float = 0.1
    implied_utilization_high: float = 1.0
    # A transformer's stated parameters further than this factor from its shape's count are
    # flagged: one of them is wrong (the shape is what gets counted). Published counts of
    # open models match their configs' to within a few percent.
    shape_parameters_factor: float = 1.2
    # A transformer whose attention over its context is above this share of its forward pass
    # is flagged: its seq_len is likely a context window (128k), not the training length.
    context_share_flagged: float = 0.5
    # Training tokens further than this factor from dataset_size x epochs are flagged.
    training_tokens_factor: float = 1.2

    # Uncertainty: each assumption widens a method's log-normal interval by a factor that
    # bounds its 90% range (x/f to x*f). Reported inputs are exact; the utilization prior's
    # spread comes from the priors file.
    spread_6nd: float = 1.5  # 6ND against a full count (context, embeddings, conventions)
    spread_backward_ratio: float = 1.5  # backward/forward between 1 and 3 rather than 2
    spread_architecture: float = 1.15  # a counted architecture: backward ratio, conventions
    # Chips x time x peak x utilization describes the run only roughly: reported wall-clock
    # time and chip counts include evaluation, restarts and idle chips, or leave out stages.
    spread_hardware_time: float = 2.0
    spread_epochs_assumed: float = 5.0
    spread_tokens_assumed: float = 2.0  # a blank language dataset unit read as tokens
    spread_words_to_tokens: float = 1.5
    spread_unit_from_notes: float = 2.0
    # Chip-hours, chips or a duration read from the training time notes: they may count other
    # stages or runs than the one estimated.
    spread_hardware_from_notes: float = 2.0
    # A base found in the catalogue of foundation models may be another checkpoint than the one
    # the row started from, and sheets differ on whether a fine-tune's figure counts its base.
    spread_base_from_catalogue: float = 3.0
    spread_active_from_notes: float = 1.5
    # A mixture of experts without its active count: that share of the total is assumed. The
    # 24 such models in the shared Epoch exports with both counts have a median share of 0.09
    # and a 10-90% range of 0.033-0.156, about 3x either way.
    moe_active_share: float = 0.1
    spread_active_share_assumed: float = 3.0
    spread_precision_assumed: float = 1.5
    # Confidence labels by the 90% interval's reach from the estimate, either way.
    confident_factor: float = 2.0
    likely_factor: float = 3.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_SETTINGS = Settings()
