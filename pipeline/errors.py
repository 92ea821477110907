"""Errors that end a run with one readable line, and the exit codes the CLI gives them: every
error type of the library and every exit code is declared here."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a failure that no other code names: a query DuckDB refused, a disk full
EXIT_ROWS_REJECTED = 1  # validate found bad rows, or estimate --strict did
EXIT_INPUT_FILE = 2  # a file or an input that cannot be used: missing, unreadable, no system column
EXIT_LOCKED = 3  # another refresh holds the lock on the output folder


class FlopsheetError(Exception):
    """An error the user can act on; the CLI prints `str(error)` and exits with `exit_code`."""

    exit_code = EXIT_FAILED


class QueryError(FlopsheetError):
    """A SQL statement that DuckDB refused or that failed."""


class LockedError(FlopsheetError):
    """Another refresh holds the output folder's lock."""

    exit_code = EXIT_LOCKED


class CalculatorInputError(FlopsheetError):
    """A calculator option that cannot be read, or too few options for the method."""

    exit_code = EXIT_INPUT_FILE


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
