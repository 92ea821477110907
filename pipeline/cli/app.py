"""The `flopsheet` command line: a thin layer over the library.

Each command parses its options, calls the library and prints; every library error becomes one
readable line on stderr and an exit code (`pipeline.errors`). The commands live in one module
per group; this one assembles them.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pipeline.cli import calc, dataset, estimate, evaluation, hardware, thresholds
from pipeline.cli.common import err, out, user_errors
from pipeline.version import __version__

app = typer.Typer(
    help="flopsheet: estimate the training compute of ML systems from a spreadsheet of papers.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
calc_app = typer.Typer(
    help="Epoch's two compute calculators, for one system.", no_args_is_help=True
)
hardware_app = typer.Typer(
    help="The hardware table: accelerators and their peaks.", no_args_is_help=True
)
app.add_typer(calc_app, name="calc")
app.add_typer(hardware_app, name="hardware")

app.command("estimate")(estimate.estimate)
app.command("validate")(estimate.validate)
calc_app.command("ops")(calc.calc_ops)
calc_app.command("hardware")(calc.calc_hardware)
hardware_app.command("list")(hardware.hardware_list)
hardware_app.command("show")(hardware.hardware_show)
app.command("refresh")(dataset.refresh)
app.command("diff")(dataset.diff)
app.command("query")(dataset.query)
app.command("report")(dataset.report)
app.command("thresholds")(thresholds.thresholds)
app.command("evaluate")(evaluation.evaluate)
app.command("calibrate")(evaluation.calibrate)


def _version(value: bool) -> None:
    if value:
        out.print(f"flopsheet {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """flopsheet: estimate the training compute of ML systems from a spreadsheet of papers.

    A flopsheet.toml in the working folder sets estimate's and refresh's inputs, output folder,
    column map and priors, and evaluate's priors (docs/input.md)."""
    from pathlib import Path

    from pipeline.cli.project import COMMANDS, project_defaults

    if ctx.invoked_subcommand in COMMANDS:  # a broken file is one line for those commands only
        with user_errors():
            ctx.default_map = project_defaults(Path.cwd())


# Click's UsageError (unknown option, missing argument, bad choice), reached through the one
# click exception typer exports, so that it works whether typer uses click or its own copy.
UsageError = typer.BadParameter.__mro__[1]


def run() -> None:
    """The console script: usage mistakes too end in one line (click would print a panel)."""
    try:
        code = app(prog_name="flopsheet", standalone_mode=False)
    except UsageError as error:
        err.print(f"Error: {error.format_message()} (see flopsheet --help)", markup=False)
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
