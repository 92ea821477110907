"""`flopsheet calc ops` and `flopsheet calc hardware`: Epoch's two calculators, for one system."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import HardwareTableOption, JsonOption, out, print_json, user_errors
from pipeline.cli.thresholds import RuleOption, check_rule
from pipeline.resources import HARDWARE_TABLE

Text = str | None


def _print_calculation(result, as_json: bool, rule: str | None) -> None:  # noqa: ANN001 (a Calculation)
    result = result.for_rule(rule)
    if as_json:
        print_json(result.as_dict())
        return
    # The whole number of the float's shortest form: 3.15e23 is 315,000,000,000,000,000,000,000,
    # not the binary float's 314,999,999,999,999,991,611,392.
    whole = format(Decimal(repr(result.flop)).quantize(Decimal(1)), ",f")
    out.print(f"[bold]{result.flop:.2e} FLOP[/bold]  ({whole})")
    if result.low is not None:
        high = f"{result.high:.2e}" if result.high is not None else "no upper bound"
        out.print(f"90% interval: {result.low:.2e} to {high}", markup=False)
    out.print(f"formula:  {result.formula}", markup=False)
    if result.flags:
        out.print(f"flags:    {', '.join(result.flags)}", markup=False)
    out.print(f"sentence: {result.sentence}", markup=False)
    for line in result.thresholds:
        probability = line["probability_above"]
        shown = "unknown" if probability is None else f"{probability:.2f}"
        out.print(
            f"P(above {line['threshold_flop']:.0e}) under {line['rule']}: {shown}", markup=False
        )


def calc_ops(
    forward_flop: Annotated[
        Text, typer.Option("--forward-flop", help="FLOP of one forward pass on one example.")
    ] = None,
    connections: Annotated[
        Text, typer.Option(help="Connections (weights reused count each use).")
    ] = None,
    parameters: Annotated[
        Text, typer.Option(help="Parameters of a language model (6ND; needs --tokens).")
    ] = None,
    active_parameters: Annotated[
        Text,
        typer.Option("--active-parameters", help="Parameters used per token (mixture of experts)."),
    ] = None,
    examples: Annotated[Text, typer.Option(help="Examples (datapoints) per epoch.")] = None,
    tokens: Annotated[Text, typer.Option(help="Tokens per epoch.")] = None,
    epochs: Annotated[Text, typer.Option(help="Passes over the data (default 1).")] = None,
    training_tokens: Annotated[
        Text,
        typer.Option("--training-tokens", help="All tokens seen in training, epochs included."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="A Hugging Face config.json: the transformer's shape, counted."),
    ] = None,
    layers: Annotated[Text, typer.Option(help="Transformer layers.")] = None,
    d_model: Annotated[Text, typer.Option("--d-model", help="Model (hidden) width.")] = None,
    heads: Annotated[Text, typer.Option(help="Attention heads.")] = None,
    kv_heads: Annotated[
        Text, typer.Option("--kv-heads", help="Key-value heads (grouped-query attention).")
    ] = None,
    d_ff: Annotated[Text, typer.Option("--d-ff", help="MLP width.")] = None,
    vocab: Annotated[Text, typer.Option(help="Vocabulary size.")] = None,
    seq_len: Annotated[
        Text, typer.Option("--seq-len", help="Training sequence length (not the context window).")
    ] = None,
    gated: Annotated[
        bool, typer.Option("--gated", help="A gated MLP (SwiGLU, GeGLU): three matrices.")
    ] = False,
    rule: RuleOption = None,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
) -> None:
    """Counting operations: FLOP = 3 x forward FLOP x examples x epochs (6ND for language models).

    Examples:

        flopsheet calc ops --forward-flop 1e9 --examples 1e6 --epochs 10

        flopsheet calc ops --parameters 70B --tokens 1.4T

        flopsheet calc ops --config config.json --seq-len 8192 --training-tokens 15T

        flopsheet calc ops --layers 96 --d-model 12288 --heads 96 --vocab 50257 --seq-len 2048 --tokens 300B
    """  # fmt: skip
    with user_errors():
        from pipeline.calculators import counting_operations
        from pipeline.estimate.hardware import load_hardware
        from pipeline.read.small_files import read_small_text

        config_text = None if config is None else read_small_text(config, "config.json")
        shape = {
            "layers": layers, "d_model": d_model, "heads": heads, "kv_heads": kv_heads,
            "d_ff": d_ff, "vocab": vocab, "seq_len": seq_len, "gated": "yes" if gated else None,
        }  # fmt: skip
        result = counting_operations(
            load_hardware(hardware_table), forward_flop=forward_flop, connections=connections,
            parameters=parameters, active_parameters=active_parameters, examples=examples,
            tokens=tokens, epochs=epochs, training_tokens=training_tokens, config=config_text,
            **shape,
        )  # fmt: skip
        _print_calculation(result, as_json, check_rule(rule))


def calc_hardware(
    hardware: Annotated[
        Text, typer.Option("--hardware", help="Accelerator name, e.g. 'A100' or 'TPU v3'.")
    ] = None,
    peak: Annotated[Text, typer.Option(help="Peak FLOP/s per chip (instead of the table).")] = None,
    precision: Annotated[
        Text,
        typer.Option(
            help="Number format: fp32, tf32, fp16, bf16, fp8, ... (default: 16-bit tensor peak)."
        ),
    ] = None,
    chips: Annotated[Text, typer.Option(help="Number of chips.")] = None,
    time: Annotated[Text, typer.Option(help="Training time: hours, or e.g. '21 days'.")] = None,
    chip_hours: Annotated[
        Text, typer.Option("--chip-hours", help="Chip-hours (instead of --chips and --time).")
    ] = None,
    utilization: Annotated[
        Text,
        typer.Option(
            help="Utilization: 0.4 or '40%' (default: the shipped prior for the domain and chip).",
        ),
    ] = None,
    domain: Annotated[Text, typer.Option(help="Domain, for the default utilization.")] = None,
    rule: RuleOption = None,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
) -> None:
    """Hardware time: FLOP = seconds x chips x peak FLOP/s x utilization.

    Examples:

        flopsheet calc hardware --hardware "NVIDIA A100 SXM4 80 GB" --chips 8 --time "3 days"

        flopsheet calc hardware --hardware "TPU v3" --chip-hours 1.2e5 --precision bf16 --utilization 40%

        flopsheet calc hardware --hardware H100 --chips 16000 --time "60 days" --utilization 40% --rule eu-cumulative
    """  # fmt: skip
    with user_errors():
        from pipeline.calculators import hardware_time
        from pipeline.estimate.hardware import load_hardware

        result = hardware_time(
            load_hardware(hardware_table), chip=hardware, peak=peak, precision=precision,
            chips=chips, time=time, chip_hours=chip_hours, utilization=utilization, domain=domain,
        )  # fmt: skip
        _print_calculation(result, as_json, check_rule(rule))
