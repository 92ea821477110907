"""Layer lists named by the spreadsheet: resolving an `architecture_file` cell to a file (or
reading it as inline JSON), reading and counting it, and the per-cell frame the pipeline joins on
the `architecture_file` column. Files are small and read one at a time in Python.

A cell may also name a Hugging Face `config.json` (`hf_config.is_hf_config`): it is not counted
here but read into the transformer columns it gives (`architecture_config` in the frame), which
`fill_from_configs` writes into the row's blank cells, so that `Transformer` counts the row."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from pipeline.architecture.fields import ArchitectureFileError
from pipeline.architecture.hf_config import CONFIG_COLUMNS, hf_config_columns, is_hf_config
from pipeline.architecture.layers import LayerCount, count_layer_list
from pipeline.resources import ARCHITECTURES_DIR
from schemas.systems import ARCHITECTURE_COLUMNS

DEFAULT_ARCHITECTURES_DIR = ARCHITECTURES_DIR
FRAME_SCHEMA = {
    "architecture_file": pl.String,
    "architecture_parameters": pl.Float64,
    "architecture_forward_flop_per_example": pl.Float64,
    "architecture_sequence_length": pl.Int64,
    "architecture_breakdown": pl.String,
    "architecture_error": pl.String,
    # the columns a Hugging Face config.json gives, typed as the sheet's own cells are
    "architecture_config": pl.Struct(
        {c: pl.Boolean if ARCHITECTURE_COLUMNS[c] == "flag" else pl.Int64 for c in CONFIG_COLUMNS}
    ),
}


# A layer list is a few kilobytes; a file far larger is not one, and is not read.
MAX_LAYER_FILE_BYTES = 1_000_000


def read_layer_file(path: Path, shown: Path | str | None = None) -> str:
    """The text of a layer-list file, at most MAX_LAYER_FILE_BYTES; errors name `shown`."""
    shown = shown or path
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_LAYER_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ArchitectureFileError(shown, "architecture file not found") from None
    except OSError as error:
        raise ArchitectureFileError(
            shown, f"cannot read the architecture file: {error.strerror or error}"
        ) from None
    if len(data) > MAX_LAYER_FILE_BYTES:
        raise ArchitectureFileError(
            shown, f"is over {MAX_LAYER_FILE_BYTES:,} bytes, more than any layer list"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ArchitectureFileError(shown, f"cannot read the architecture file: {error}") from None


def count_layer_file(path: Path | str, read_from: Path | None = None) -> LayerCount:
    """Read and count one JSON layer list (its bytes from `read_from` when given: a run's
    snapshot of it); errors name `path`."""
    path = Path(path)
    text = read_layer_file(Path(read_from or path), path)
    return count_layer_list(parse_json(path, text), path)


def parse_json(source: object, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ArchitectureFileError(
            source, f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def resolve_architecture(cell: str, search_dirs: Sequence[Path | str] = ()) -> Path:
    """The file a cell names: a path relative to one of the search folders (the spreadsheet's)
    that stays inside it, else a shipped layer list (`pipeline/data/architectures/`); '.json'
    may be left off. A sheet never makes flopsheet read, or copy into a dataset, a file outside
    its own folder: an absolute path, a '..', or a link out of the folder is refused, and so is
    anything but a regular file."""
    name = cell.strip()
    written = Path(name)
    if written.is_absolute() or ".." in written.parts:
        raise ArchitectureFileError(
            name,
            "must name a layer list inside the spreadsheet's folder (no absolute path, no '..')",
        )
    if written.suffix.lower() != ".json":
        written = Path(f"{name}.json")
    # Never the working directory: the same sheet must count the same wherever it is run.
    folders = [Path(folder) for folder in (*search_dirs, DEFAULT_ARCHITECTURES_DIR)]
    for folder in folders:
        candidate = folder / written
        try:
            if not candidate.is_file():
                continue
            if not candidate.resolve().is_relative_to(folder.resolve()):
                raise ArchitectureFileError(name, f"links outside {folder}: not read")
        except OSError as error:  # a name too long for the file system, a folder not readable
            raise ArchitectureFileError(
                name, f"cannot be looked up: {error.strerror or error}"
            ) from None
        return candidate
    raise ArchitectureFileError(
        name,
        "architecture file not found (looked in "
        + ", ".join(str(f) for f in folders)
        + "; '.json' may be left off)",
    )


def cells_by_sheet(
    frame: pl.DataFrame, sheet_folders: Mapping[str, Path]
) -> list[tuple[str, list[Path], list[str]]]:
    """Each sheet's distinct `architecture_file` cells (inline JSON included), with the folders
    they are looked up in: a cell resolves in its own sheet's folder only, never in another
    sheet's, so two sheets can each name their own `model.json`."""
    if "architecture_file" not in frame.columns:
        return []
    named = frame.select("source_file", "architecture_file").filter(
        pl.col("architecture_file").str.strip_chars() != ""
    )
    return [
        (source, [sheet_folders[source]] if source in sheet_folders else [], cells.unique(maintain_order=True).to_list())
        for (source,), cells in (
            (key, group["architecture_file"])
            for key, group in named.group_by(["source_file"], maintain_order=True)
        )
    ]  # fmt: skip


def read_architecture_cell(
    cell: str, search_dirs: Sequence[Path | str] = (), copies: Mapping[Path, Path] | None = None
) -> tuple[object, object]:
    """(the parsed JSON, the name errors give it) of a cell of the `architecture_file` column:
    inline JSON (starts with '{') or a file. `copies` maps a file the cell resolves to onto the
    snapshot to read instead."""
    text = cell.strip()
    if text.startswith("{"):
        return parse_json("inline architecture", text), "inline architecture"
    found = resolve_architecture(text, search_dirs)
    read_from = (copies or {}).get(found)
    return parse_json(found, read_layer_file(Path(read_from or found), found)), found


def count_architecture_cell(
    cell: str, search_dirs: Sequence[Path | str] = (), copies: Mapping[Path, Path] | None = None
) -> LayerCount:
    """The layer list a cell of the `architecture_file` column names, counted."""
    document, source = read_architecture_cell(cell, search_dirs, copies)
    if is_hf_config(document):
        raise ArchitectureFileError(
            source,
            "is a Hugging Face config.json, not a layer list: read it with hf_config_columns",
        )
    return count_layer_list(document, source)


def _cell_name(cell: str) -> str:
    return "inline architecture" if cell.strip().startswith("{") else cell.strip()


def _counted_row(
    cell: str, search_dirs: Sequence[Path | str], copies: Mapping[Path, Path] | None
) -> dict:
    document, source = read_architecture_cell(cell, search_dirs, copies)
    if is_hf_config(document):
        return {
            "architecture_file": cell,
            "architecture_config": hf_config_columns(document, source),
            "architecture_error": None,
        }
    counted = count_layer_list(document, source)
    parameters, forward = float(counted.parameters), float(counted.forward_flop)
    if not (math.isfinite(parameters) and math.isfinite(forward)):
        raise OverflowError("counts past the float range")
    return {
        "architecture_file": cell,
        "architecture_parameters": parameters,
        "architecture_forward_flop_per_example": forward,
        "architecture_sequence_length": counted.sequence_length,
        "architecture_breakdown": counted.breakdown(),
        "architecture_error": None,
    }


def layer_list_frame(
    cells: Iterable[str | None],
    search_dirs: Sequence[Path | str] = (),
    errors: Literal["raise", "record"] = "raise",
    copies: Mapping[Path, Path] | None = None,
) -> pl.DataFrame:
    """One row per distinct non-blank cell, to join on `architecture_file`.

    With errors="record" a bad file gives a row whose counts are null and whose
    `architecture_error` holds the one-line message, so the row can be quarantined instead
    of ending the run.
    """
    rows = []
    for cell in dict.fromkeys(c for c in cells if c is not None and c.strip()):
        try:
            rows.append(_counted_row(cell, search_dirs, copies))
        except (
            ArchitectureFileError,
            ArithmeticError,
            RecursionError,
            ValueError,
            TypeError,
        ) as error:
            # Sizes past the float range or nesting past Python's stack are bad files too.
            problem = (
                error if isinstance(error, ArchitectureFileError)
                else ArchitectureFileError(_cell_name(cell), f"cannot be counted: {type(error).__name__}: {error}")
            )  # fmt: skip
            if errors == "raise":
                raise problem from None
            rows.append({"architecture_file": cell, "architecture_error": str(problem)})
    return pl.DataFrame(rows, schema=FRAME_SCHEMA)


def fill_from_configs(frame: pl.DataFrame, config: str) -> pl.DataFrame:
    """`frame` joined with a `layer_list_frame`, its blank architecture cells filled from the
    row's Hugging Face config in column `config` (the sheet's own cells win), without it."""
    configs = pl.col(config)
    return frame.with_columns(
        pl.coalesce(pl.col(c), configs.struct.field(c)).alias(c) for c in CONFIG_COLUMNS
    ).drop(config)
