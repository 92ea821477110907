"""`make bench`: time and peak memory of `flopsheet estimate` end to end on synthetic sheets,
against the naive script (benchmarks/naive.py) on the same sheet in the same run.

Each spreadsheet mixes rows for every rule of both methods (language models with tokens,
vision nets with forward FLOP, hardware-only rows, reported compute, MoE, messy cells), and
2% of rows are bad in one cell. Every run is a fresh `flopsheet estimate` process whose peak
resident memory is read from the kernel's accounting of that child; its stage times are
the ones `estimate --json` reports. The ratio is naive seconds / flopsheet seconds: above 1,
flopsheet is the faster.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl

SIZES = (1_000, 10_000, 100_000, 1_000_000)
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
NAIVE = Path(__file__).with_name("naive.py")
STAGES = ("read", "validate", "estimate", "publish")
BAD_SHARE = 0.02
SEED = 20221
# The command timed: `make bench` names a user install of flopsheet; run by hand, the
# working tree's.
FLOPSHEET = (
    [os.environ["FLOPSHEET"]] if "FLOPSHEET" in os.environ else [sys.executable, "-m", "pipeline"]
)

TEMPLATES = [
    # language model, both methods
    {"domain": "language", "parameters": "175B", "dataset_size": "300B", "dataset_unit": "tokens",
     "hardware": "V100", "hardware_quantity": "1,024", "training_time_hours": "34 days"},
    {"domain": "language", "parameters": "7e9", "dataset_size": "1.4e12", "epochs": "1",
     "hardware": "NVIDIA A100 SXM4 80 GB", "chip_hours": "82432", "precision": "bf16",
     "utilization": "41%"},
    {"domain": "language", "parameters": "671B", "active_parameters": "37B",
     "dataset_size": "14.8T", "dataset_unit": "tokens", "hardware": "H800", "chip_hours": "2.788M",
     "precision": "fp8"},
    # vision, counting operations only
    {"domain": "vision", "forward_flop_per_example": "8.2e9", "dataset_size": "1.28M",
     "dataset_unit": "images", "epochs": "90"},
    {"domain": "vision", "connections": "6.5e8", "dataset_size": "1,200,000", "epochs": "74"},
    # hardware time only
    {"domain": "games", "hardware": "TPU v3", "hardware_quantity": "64", "training_time_hours": "40 days"},
    {"domain": "speech", "hardware": "Tesla V100-SXM2-16GB", "hardware_quantity": "16",
     "training_time_hours": "120"},
    # reported compute, words, unknown chip, several chips, nothing usable
    {"domain": "language", "parameters": "1.5B", "dataset_size": "40B", "dataset_unit": "words",
     "reported_compute_flop": "1.5e21"},
    {"domain": "vision", "hardware": "Mystery Chip 9", "hardware_quantity": "8",
     "training_time_hours": "1 week"},
    {"domain": "multimodal", "hardware": "V100, A100", "hardware_quantity": "8",
     "training_time_hours": "10"},
    {"domain": "robotics", "parameters": "35M", "publication_date": "2022-12"},
]  # fmt: skip
BAD_CELLS = [
    ("parameters", "lots"), ("hardware_quantity", "2.5"), ("utilization", "150%"),
    ("training_time_hours", "forever"), ("epochs", "-1"),
]  # fmt: skip


def synthetic(rows: int, seed: int = SEED) -> pl.DataFrame:
    """`rows` rows sampled from the templates, unique names, BAD_SHARE of them broken."""
    columns = sorted({k for t in TEMPLATES for k in t})
    templates = pl.DataFrame(
        {c: [t.get(c) for t in TEMPLATES] for c in columns},
        schema={c: pl.String for c in columns},
    )
    frame = templates.sample(rows, with_replacement=True, seed=seed).with_columns(
        pl.format("system {}", pl.int_range(pl.len())).alias("system"),
        pl.int_range(pl.len()).alias("_i"),
    )
    every = int(1 / BAD_SHARE)
    for slot, (column, value) in enumerate(BAD_CELLS):
        broken = (pl.col("_i") % every == 0) & ((pl.col("_i") // every) % len(BAD_CELLS) == slot)
        frame = frame.with_columns(
            pl.when(broken).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
        )
    return frame.drop("_i").select("system", *columns)


def _timed(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, stdout) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Both pipes are drained together, so that a child writing much to either never blocks;
    # the child is reaped by os.wait4, for its peak memory, only once they close.
    stdout, stderr = (stream.read() for stream in _drained(process))
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {stderr.decode()}")
    return seconds, usage.ru_maxrss / 1024, stdout.decode()


def _drained(process: subprocess.Popen) -> tuple[io.BytesIO, io.BytesIO]:
    """The child's stdout and stderr, each read to its end by a thread of its own."""
    buffers = (io.BytesIO(), io.BytesIO())
    readers = [
        threading.Thread(target=lambda s=stream, b=buffer: b.write(s.read()))
        for stream, buffer in zip((process.stdout, process.stderr), buffers, strict=True)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    for buffer in buffers:
        buffer.seek(0)
    return buffers


def flopsheet(csv_path: Path, output_dir: Path) -> tuple[float, float, dict[str, float]]:
    """(seconds, peak MiB, seconds per stage) of `flopsheet estimate` into a fresh folder."""
    shutil.rmtree(output_dir, ignore_errors=True)
    command = [*FLOPSHEET, "estimate", str(csv_path), "-o", str(output_dir), "--json"]
    seconds, peak, stdout = _timed(command)
    return seconds, peak, json.loads(stdout)["stage_seconds"]


# What `estimate` cannot start without: the libraries it imports, and nothing of flopsheet.
LIBRARIES = ("polars", "pandera.polars", "duckdb", "pyarrow", "typer", "rich.console")


def start_up_floor(repeats: int) -> tuple[float, float]:
    """(seconds to import LIBRARIES, seconds of `flopsheet --help`), each the fastest of
    `repeats`, in the interpreter of the flopsheet timed: the part of a small run's time that
    is start-up."""
    python = Path(FLOPSHEET[0]).with_name("python") if "FLOPSHEET" in os.environ else None
    interpreter = str(python) if python and python.exists() else sys.executable
    imports = [interpreter, "-c", "import " + ", ".join(LIBRARIES)]
    return (
        min(_timed(imports)[0] for _ in range(repeats)),
        min(_timed([*FLOPSHEET, "--help"])[0] for _ in range(repeats)),
    )


def naive(csv_path: Path, output: Path) -> tuple[float, float]:
    seconds, peak, _ = _timed([sys.executable, str(NAIVE), str(csv_path), str(output)])
    return seconds, peak


def sizes_from_environment() -> tuple[int, ...]:
    """SIZES, and BENCH_ROWS (for instance 10000000) as one size more."""
    extra = os.environ.get("BENCH_ROWS", "").replace("_", "")
    return tuple(sorted({*SIZES, int(extra)})) if extra else SIZES


def main(sizes: tuple[int, ...], workdir: Path = Path("bench"), repeats: int = REPEATS) -> None:
    """Per size, naive script and flopsheet alternately, `repeats` times each; the table holds
    each one's fastest run and flopsheet's peak memory and stage times in that run."""
    workdir.mkdir(exist_ok=True)
    stages = "".join(f" {stage:>9}" for stage in STAGES)
    print(f"{'rows':>10} {'flopsheet s':>11} {'naive s':>8} {'ratio':>6} {'peak MiB':>9}{stages}")
    for rows in sizes:
        csv_path = workdir / f"synthetic_{rows}.csv"
        if not csv_path.exists():
            synthetic(rows).write_csv(csv_path)
        runs, baseline = [], []
        for _ in range(repeats):
            baseline.append(naive(csv_path, workdir / f"naive_{rows}.csv")[0])
            runs.append(flopsheet(csv_path, workdir / f"out_{rows}"))
        seconds, peak, spent = min(runs, key=lambda run: run[0])
        fastest_naive = min(baseline)
        times = "".join(f" {spent.get(stage, 0.0):>9.2f}" for stage in STAGES)
        print(f"{rows:>10} {seconds:>11.2f} {fastest_naive:>8.2f} "
              f"{fastest_naive / seconds:>6.2f} {peak:>9,.0f}{times}", flush=True)  # fmt: skip
    libraries, help_seconds = start_up_floor(max(repeats, 3))
    print(f"start-up: importing {', '.join(LIBRARIES)} takes {libraries:.2f} s; "
          f"flopsheet --help {help_seconds:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or sizes_from_environment())
