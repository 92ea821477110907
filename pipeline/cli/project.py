"""`flopsheet.toml`: a project's inputs, output folder, column map and priors, read from the
working folder so that `estimate`, `refresh` and `evaluate` need no repeated flags.

    [project]
    inputs = ["papers.xlsx", "more.csv"]
    output_dir = "out"
    columns = "headers.toml"
    priors = "seed"

Paths are as written, relative to the working folder, where the file is. The file only sets defaults: an option or argument
given on the command line wins.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import InputFileError
from pipeline.read.small_files import read_toml

PROJECT_FILE = "flopsheet.toml"
KEYS = ("inputs", "output_dir", "columns", "priors")
# Which settings each command takes, by the name of its parameter.
COMMANDS = {
    "estimate": {"inputs": "inputs", "output_dir": "output_dir", "columns": "columns",
                 "priors": "priors"},
    "refresh": {"inputs": "inputs", "output_dir": "output_dir", "columns": "columns",
                "priors": "priors"},
    "evaluate": {"priors": "priors"},
}  # fmt: skip


def project_defaults(folder: Path) -> dict[str, dict[str, object]] | None:
    """Defaults by command from `folder/flopsheet.toml` (None when there is none), in the form
    of click's `default_map`."""
    path = folder / PROJECT_FILE
    if not path.is_file():
        return None
    document = read_toml(path, "project file")
    table = document.get("project")
    if not isinstance(table, dict) or set(document) - {"project"}:
        raise InputFileError(path, "expected one [project] table (keys: " + ", ".join(KEYS) + ")")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise InputFileError(path, f"unknown key {unknown[0]!r} (expected: {', '.join(KEYS)})")
    values = {key: _value(path, key, value) for key, value in table.items()}
    return {
        command: {name: values[key] for key, name in names.items() if key in values}
        for command, names in COMMANDS.items()
    }


def _value(path: Path, key: str, value: object) -> object:
    if key == "inputs":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise InputFileError(path, f'{key} must be a list of file names, such as ["a.csv"]')
        return list(value)
    if not isinstance(value, str) or not value:
        raise InputFileError(path, f'{key} must be a text value, such as "out"')
    return value
