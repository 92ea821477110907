"""`flopsheet hardware list` and `flopsheet hardware show`: the hardware table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli.common import (
    HardwareTableOption,
    JsonOption,
    OutputFormat,
    OutputFormatOption,
    cells,
    flops,
    out,
    print_frame,
    print_json,
    user_errors,
)
from pipeline.resources import HARDWARE_TABLE

LIST_COLUMNS = {
    "name": "name",
    "type": "type",
    "release_date": "released",
    "tensor_16bit_flop_per_second": "16-bit tensor",
    "tf32_flop_per_second": "tf32",
    "fp32_flop_per_second": "fp32",
    "fp8_flop_per_second": "fp8",
}


def hardware_list(
    search: Annotated[
        str | None, typer.Option(help="Only chips whose name or alias contains this text.")
    ] = None,
    output_format: OutputFormatOption = OutputFormat.table,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
) -> None:
    """List the accelerators in the hardware table (dense peak FLOP/s per chip).

    Example:

        flopsheet hardware list --search a100
    """  # fmt: skip
    with user_errors():
        from pipeline.estimate.hardware import load_hardware, search_hardware

        table_frame = load_hardware(hardware_table)
        if search:
            table_frame = search_hardware(table_frame, search)
        fmt = OutputFormat.json if as_json else output_format
        print_frame(table_frame, fmt, lambda: out.print(_chips_table(table_frame)))


def _chips_table(table_frame) -> Table:  # noqa: ANN001 (a polars frame)
    """The terminal's table of chips: their peaks as a person reads them."""
    table = Table(title=f"Hardware ({table_frame.height} chips, dense FLOP/s per chip)")
    for label in LIST_COLUMNS.values():
        table.add_column(
            label, justify="left" if label in ("name", "type", "released") else "right"
        )
    for row in table_frame.select(list(LIST_COLUMNS)).iter_rows(named=True):
        table.add_row(
            *cells((row["name"], row["type"], row["release_date"])),
            *(flops(row[c]) for c in list(LIST_COLUMNS)[3:]),
        )  # fmt: skip
    return table


def hardware_show(
    name: Annotated[str, typer.Argument(help="A chip name or alias, e.g. 'V100' or 'TPUv3'.")],
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
) -> None:
    """Show one accelerator: every peak, its aliases and its datasheet.

    Example:

        flopsheet hardware show "Tesla V100-SXM2-16GB"
    """  # fmt: skip
    with user_errors():
        from pipeline.calculators import unknown_hardware_message
        from pipeline.errors import CalculatorInputError
        from pipeline.estimate.hardware import load_hardware, lookup

        table_frame = load_hardware(hardware_table)
        row = lookup(name, table_frame)
        if row is None:
            raise CalculatorInputError(unknown_hardware_message(name, table_frame))
        if as_json:
            print_json(row)
            return
        table = Table(title=Text(row["name"]), show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for key, value in row.items():
            shown = (
                flops(value)
                if key.endswith("_per_second")
                else ("" if value is None else str(value))
            )
            table.add_row(key, Text(shown))
        out.print(table)
