"""Errors that end a run with one readable line, and the exit codes the CLI gives them."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ROWS_REJECTED = 1  # validate found bad rows, or estimate --strict did
EXIT_INPUT_FILE = 2  # a file-level problem: missing, unreadable, no system column, empty
EXIT_LOCKED = 3  # another refresh holds the lock on the output folder


class FlopsheetError(Exception):
    """An error the user can act on; the CLI prints `str(error)` and exits with `exit_code`."""

    exit_code = 1


class InputValueError(FlopsheetError):
    """An argument that names nothing usable (a run prefix matching no run, or several)."""

    exit_code = EXIT_INPUT_FILE


class InputFileError(FlopsheetError):
    """The input file as a whole cannot be used."""

    exit_code = EXIT_INPUT_FILE

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def is_engine_panic(error: BaseException) -> bool:
    """A panic inside polars' Rust engine, raised as pyo3's PanicException, which derives from
    BaseException rather than Exception: still a failure to report in one line, not an exit."""
    return type(error).__name__ == "PanicException"
