"""The CLI reference (docs/cli.md), generated from the commands' own `--help`.

    python -m pipeline.cli.reference > docs/cli.md      (or: make docs)

A test regenerates it and fails when docs/cli.md is stale.
"""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from pipeline.cli.app import app

WIDTH = 100
HEADER = """# CLI reference

Generated from `flopsheet COMMAND --help` by `make docs` (`python -m pipeline.cli.reference`);
do not edit by hand. Exit codes and errors: [input.md](input.md#bad-input-and-exit-codes).
"""


def command_paths(group=None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:  # noqa: ANN001
    """Every command and group of the app, in the order `--help` lists them."""
    group = group or typer.main.get_command(app)
    paths = [prefix]
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "list_commands"):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(
        app, [*path, "--help"], prog_name="flopsheet", terminal_width=WIDTH,
        env={"TERMINAL_WIDTH": str(WIDTH), "COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"},
    )  # fmt: skip
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def reference() -> str:
    sections = [HEADER]
    for path in command_paths():
        title = " ".join(("flopsheet", *path))
        sections.append(f"## {title}\n\n```text\n{help_text(path)}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(reference(), end="")
