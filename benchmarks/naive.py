"""The simplest thing that could work: the seed's two formulas, row by row, with the csv module.

The yardstick of `make bench`. No validation, notes, intervals, rules or database: each row's
cells are read as numbers where they can be (commas, SI suffixes, percentages, days and weeks),
and two figures are written per row:

    operations:    6 x parameters x dataset size x epochs
    hardware time: seconds x chips x peak 16-bit FLOP/s (the shipped table) x utilization (0.4)

Usage: python benchmarks/naive.py SHEET.csv OUT.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HARDWARE_TABLE = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "hardware.csv"
SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
HOURS = {"day": 24.0, "days": 24.0, "week": 168.0, "weeks": 168.0, "hours": 1.0, "hour": 1.0}
UTILIZATION = 0.4


def number(cell: str | None) -> float | None:
    if not cell:
        return None
    text = cell.strip().replace(",", "").lower()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    elif text[-1:] in SUFFIXES:
        text, scale = text[:-1], SUFFIXES[text[-1]]
    try:
        return float(text) * scale
    except ValueError:
        return None


def hours(cell: str | None) -> float | None:
    if not cell:
        return None
    value, _, unit = cell.strip().partition(" ")
    parsed = number(value)
    if parsed is None or (unit and unit not in HOURS):
        return None
    return parsed * HOURS.get(unit, 1.0)


def peaks() -> dict[str, float]:
    table: dict[str, float] = {}
    with HARDWARE_TABLE.open(newline="") as file:
        for row in csv.DictReader(file):
            peak = number(row["tensor_16bit_flop_per_second"]) or number(
                row["fp32_flop_per_second"]
            )
            if peak:
                for name in [row["name"], *row["aliases"].split("|")]:
                    table[name.lower()] = peak
    return table


def main(sheet: Path, output: Path) -> None:
    peak_of = peaks()
    with sheet.open(newline="") as source, output.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["system", "operations_flop", "hardware_flop"])
        for row in csv.DictReader(source):
            parameters = number(row.get("active_parameters")) or number(row.get("parameters"))
            dataset = number(row.get("dataset_size"))
            epochs = number(row.get("epochs")) or 1.0
            operations = 6 * parameters * dataset * epochs if parameters and dataset else None
            peak = peak_of.get((row.get("hardware") or "").strip().lower())
            chips = number(row.get("hardware_quantity"))
            time = hours(row.get("training_time_hours"))
            chip_hours = number(row.get("chip_hours")) or (chips * time if chips and time else None)
            utilization = number(row.get("utilization")) or UTILIZATION
            hardware = chip_hours * 3600 * peak * utilization if chip_hours and peak else None
            writer.writerow([row["system"], operations, hardware])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
