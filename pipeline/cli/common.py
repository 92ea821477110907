"""What every command shares: the consoles, option types, the one-line error rule, printing.

Nothing here imports polars, pandera or DuckDB: a command imports the library when it runs, so
that `--help` starts fast.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text

from pipeline.defaults import SEED_UTILIZATION
from pipeline.errors import EXIT_FAILED, FlopsheetError, is_engine_panic
from pipeline.resources import HARDWARE_TABLE, PRIORS_FILE

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_OUTPUT_DIR = Path("data/processed")
DEFAULT_DATABASE = DEFAULT_OUTPUT_DIR / "compute.duckdb"
DEFAULT_PRIORS = str(PRIORS_FILE)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    markdown = "markdown"


class InputFormat(StrEnum):
    auto = "auto"
    canonical = "canonical"
    epoch = "epoch"


def named_path(value: str | Path) -> Path:
    """An output path must name something: an empty one would mean the working directory."""
    if isinstance(value, str) and not value.strip():
        raise typer.BadParameter("is empty; give a file or folder name")
    return Path(value)


def _named_priors(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("is empty; give a priors file or 'seed'")
    return value


_SEED_TEXT = " / ".join(
    f"{utilization:.2f} {'other' if domain == '*' else domain}"
    for domain, utilization in SEED_UTILIZATION.items()
)

InputsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Spreadsheets: .csv, .xlsx or .parquet; - reads one from standard input.",
        show_default=False,
    ),
]
ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="TOML file mapping your headers to canonical column names."),
]
HardwareTableOption = Annotated[
    Path,
    typer.Option(
        "--hardware-table",
        help="Hardware table CSV to use instead of the shipped one.",
        show_default="the shipped table",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
PriorsOption = Annotated[
    str,
    typer.Option(
        "--priors",
        parser=_named_priors,
        show_default="the shipped priors",
        help="Utilization priors (TOML from `flopsheet calibrate`), or 'seed' for the fixed "
        f"{_SEED_TEXT}.",
    ),
]
FormatOption = Annotated[
    InputFormat,
    typer.Option(
        "--format",
        help="Spreadsheet layout: flopsheet's canonical columns, an Epoch AI database export, "
        "or auto (an Epoch export is recognised by its headers).",
    ),
]
OutputDirOption = Annotated[
    Path,
    typer.Option("--output-dir", "-o", parser=named_path, help="Where the outputs are written."),
]
# Every command that reads a published dataset names it the same way: its database, or the
# folder that holds it (estimate's and refresh's --output-dir).
DATASET_HELP = "The dataset: its DuckDB database, or the folder estimate or refresh wrote."
DatabaseOption = Annotated[
    Path, typer.Option("--db", "--output-dir", "-o", parser=named_path, help=DATASET_HELP)
]
OutputFormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold", min=0, help="Relative change of an estimate that counts as changed."
    ),
]


def sources(
    inputs: list[Path],
    columns: Path | None,
    input_format: InputFormat,
    hardware_table: Path = HARDWARE_TABLE,
    priors: str = DEFAULT_PRIORS,
):  # noqa: ANN201 (a Sources; its module loads the library)
    """The run's `Sources` from the command's options."""
    from pipeline.read.columns import load_column_map
    from pipeline.sources import Sources

    column_map = load_column_map(columns) if columns else None
    run_sources = Sources.of(inputs, column_map, input_format.value, hardware_table, priors)
    if STDIN not in run_sources.inputs:
        return run_sources
    if run_sources.inputs.count(STDIN) > 1:
        from pipeline.errors import InputFileError

        raise InputFileError(STDIN, "standard input can be read once: give - one time")
    files = tuple(_stdin_sheet() if path == STDIN else path for path in run_sources.inputs)
    return replace(run_sources, read_from=files)


# `-` names a sheet read from standard input; its rows and messages name it `-`.
STDIN = Path("-")
# The file formats a sheet on standard input may have, by the bytes it starts with.
STDIN_MAGIC = {b"PK\x03\x04": ".xlsx", b"PAR1": ".parquet"}


def _stdin_sheet() -> Path:
    """Standard input, copied into a private folder removed when the process ends, named by
    what it holds (an .xlsx or Parquet file by its first bytes, CSV otherwise)."""
    import atexit
    import shutil
    import tempfile

    from pipeline.errors import InputFileError
    from pipeline.read.small_files import MAX_SHEET_BYTES

    if sys.stdin is None or sys.stdin.isatty():
        raise InputFileError(STDIN, "reads a sheet from standard input, which is a terminal: "
                             "pipe or redirect a file into it")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="flopsheet-stdin-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    source = getattr(sys.stdin, "buffer", None) or sys.stdin
    data = source.read(MAX_SHEET_BYTES + 1)
    data = data.encode() if isinstance(data, str) else data
    if len(data) > MAX_SHEET_BYTES:
        raise InputFileError(STDIN, f"is more than a sheet can be ({MAX_SHEET_BYTES:,} bytes)")
    suffix = next((s for magic, s in STDIN_MAGIC.items() if data.startswith(magic)), ".csv")
    sheet = folder / f"stdin{suffix}"
    sheet.write_bytes(data)
    return sheet


@contextmanager
def user_errors() -> Iterator[None]:
    """One line and an exit code for every error; a traceback only with FLOPSHEET_DEBUG=1."""
    try:
        yield
    except FlopsheetError as error:
        print_line(err, f"Error: {error}")
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except OSError as error:  # an output folder that cannot be made or written, and the like
        where = error.filename or "file system"
        print_line(err, f"Error: {where}: {error.strerror or error}")
        raise typer.Exit(EXIT_FAILED) from None
    except BaseException as error:
        if os.environ.get("FLOPSHEET_DEBUG") or not (
            isinstance(error, Exception) or is_engine_panic(error)
        ):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print_line(err, f"Error: {type(error).__name__}: {first}")
        raise typer.Exit(EXIT_FAILED) from None


# ---------------------------------------------------------------------------------------------
# Printing what came from data. A cell holds whatever a sheet held, and a terminal acts on some
# characters rather than showing them: ESC begins the sequences that retitle the window
# (`\x1b]0;...\x07`), move the cursor or rewrite what is on screen, and the C1 controls and DEL
# do as much on some terminals. Line and paragraph separators break a line the reader takes for
# one, and the bidirectional overrides make text read other than it is stored. All of them are
# printed escaped, as Python writes them; rich's own clean-up removes only a few (BEL, CR) and
# leaves ESC. Every other character, any script, prints as it is.

UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CELL_CHARS = 200  # what a table cell prints of a value: a 50 MB cell is not printed whole
LINE_CHARS = 2000  # what an error or warning line prints


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in NAMED_ESCAPES:
        return NAMED_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(value: object, limit: int | None = None) -> str:
    """`value` as text safe to print on a terminal: control characters escaped, and at most
    `limit` characters of it, then an ellipsis with the length. The value itself is unchanged;
    only what is printed."""
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        return f"{UNPRINTABLE.sub(_escape, text[:limit])}… ({len(text):,} characters)"
    return UNPRINTABLE.sub(_escape, text)


def print_line(console: Console, text: str) -> None:
    """One line of text built from data (an error naming a cell, a warning, a path)."""
    console.print(printable(text, LINE_CHARS), markup=False)


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print_line(err, f"warning: {warning}")


def cells(values: tuple) -> list[Text]:
    """Table cells as plain text: a system named "[red]" is not rich markup, control characters
    are escaped and a long value is cut (see `printable`)."""
    return [Text(printable(value, CELL_CHARS)) for value in values]


# What json.dumps leaves as it is but a terminal acts on; JSON allows \u escapes for any
# character, and these can only be inside strings, so the text stays the same JSON.
JSON_UNPRINTABLE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def print_json(data: object) -> None:
    text = json.dumps(data, default=str, ensure_ascii=False, indent=2)
    text = JSON_UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    # rich's print_json parses and dumps again, which would undo the escapes: highlight as it
    # does, without the round trip.
    highlighted = JSONHighlighter()(text)
    highlighted.no_wrap, highlighted.overflow = True, None
    out.print(highlighted, soft_wrap=True)


def flops(value: object) -> str:
    return "" if value is None else f"{value:.3g}"


def frame_table(frame, title: str | None = None) -> Table:  # noqa: ANN001 (a polars frame)
    table = Table(title=title)
    for header in cells(tuple(frame.columns)):  # a sheet's headers are carried as columns
        table.add_column(header, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*cells(row))
    return table


def print_frame(frame: object, output_format: OutputFormat, table: Callable[[], None]) -> None:
    """Rows of data in `output_format`: CSV safe for spreadsheets, a JSON list, one JSON object
    per line, a Markdown table; `table` prints the terminal's table."""
    from pipeline.publish.query import flatten_nested
    from pipeline.publish.safe_csv import write_safe_csv

    if output_format is OutputFormat.csv:
        sys.stdout.write(write_safe_csv(frame))
    elif output_format is OutputFormat.json:
        print_json(frame.to_dicts())
    elif output_format is OutputFormat.ndjson:
        for row in frame.to_dicts():
            text = json.dumps(row, default=str, ensure_ascii=False)
            sys.stdout.write(
                JSON_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
            )
    elif output_format is OutputFormat.markdown:
        flat = flatten_nested(frame)

        def cell(value: object) -> str:
            text = printable("" if value is None else value).replace("\\", "\\\\")
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(cell(c) for c in flat.columns) + " |",
                 "|" + "---|" * flat.width]  # fmt: skip
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in flat.iter_rows()]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        table()
