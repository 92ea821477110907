"""Publishing: Parquet, a DuckDB database and the rejects as CSV, each replaced atomically.

Every file is written under a temporary name in the output directory and renamed into place
only when complete, so a reader sees the previous file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import InputFileError
from pipeline.estimate.priors import SEED
from pipeline.settings import Settings
from pipeline.version import __version__

DATABASE_NAME = "compute.duckdb"
PARQUET_NAME = "estimates.parquet"
REJECTS_NAME = "rejects.csv"


@dataclass(frozen=True)
class Published:
    database: Path
    parquet: Path
    rejects: Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(
    inputs: Sequence[Path], hardware_path: Path, settings: Settings, priors_path: Path | str
) -> pl.DataFrame:
    """Key-value facts that tie the outputs to the exact inputs and settings."""
    rows = [("flopsheet_version", __version__), ("settings", json.dumps(settings.as_dict()))]
    rows += [(f"input:{p}", file_sha256(Path(p))) for p in inputs]
    rows.append((f"hardware_table:{hardware_path}", file_sha256(Path(hardware_path))))
    rows.append((f"priors:{priors_path}", priors_fingerprint(priors_path)))
    return pl.DataFrame(rows, schema={"key": pl.String, "value": pl.String}, orient="row")


def priors_fingerprint(priors_path: Path | str) -> str:
    """The priors file's SHA-256, or "seed" for the built-in fixed values."""
    if str(priors_path) == SEED:
        return SEED
    try:
        return file_sha256(Path(priors_path))
    except FileNotFoundError:
        raise InputFileError(priors_path, "priors file not found") from None
    except OSError as error:  # a folder, an unreadable file
        raise InputFileError(priors_path, f"cannot read: {error.strerror or error}") from None


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_database(path: Path, tables: dict[str, pl.DataFrame]) -> None:
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET enable_progress_bar = false")  # never on the user's terminal
        for name, frame in tables.items():
            connection.register("_frame", frame.to_arrow())
            connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
            connection.unregister("_frame")


def publish(
    output_dir: Path,
    estimates: pl.DataFrame,
    rejects: pl.DataFrame,
    hardware: pl.DataFrame,
    metadata: pl.DataFrame,
) -> Published:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    final = Published(
        database=output_dir / DATABASE_NAME,
        parquet=output_dir / PARQUET_NAME,
        rejects=output_dir / REJECTS_NAME,
    )
    staged = Published(*(_temporary(p) for p in (final.database, final.parquet, final.rejects)))
    try:
        estimates.write_parquet(staged.parquet, compression="zstd", statistics=True)
        rejects.write_csv(staged.rejects)
        write_database(
            staged.database,
            {
                "estimates": estimates,
                "rejects": rejects,
                "hardware": hardware,
                "metadata": metadata,
            },
        )
        for temporary, target in zip(
            (staged.database, staged.parquet, staged.rejects),
            (final.database, final.parquet, final.rejects),
            strict=True,
        ):
            os.replace(temporary, target)
    finally:
        for temporary in (staged.database, staged.parquet, staged.rejects):
            temporary.unlink(missing_ok=True)
            Path(f"{temporary}.wal").unlink(missing_ok=True)
    return final
