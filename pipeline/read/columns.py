"""Header matching: users' headers to the canonical column names.

Headers match case-insensitively, ignoring spaces, underscores and punctuation, so
"Training time (hours)" is `training_time_hours`; `HEADER_ALIASES` adds the names model cards
and Hugging Face configs use ("Tokens seen", `hidden_size`, `num_hidden_layers`, ...). A TOML file passed with `--columns` maps
a user's own headers to canonical names:

    [columns]
    "Model" = "system"
    "GPU type" = "hardware"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

from pipeline.architecture.hf_config import CONFIG_KEY_COLUMNS
from pipeline.errors import InputFileError
from pipeline.read.small_files import read_toml
from schemas.systems import CANONICAL_COLUMNS


def header_key(header: str) -> str:
    """Headers match ignoring case, spaces and punctuation; letters of any script count."""
    return re.sub(r"[\W_]", "", header.casefold())


# Other names users' sources give a column: a model card's token count, and the keys of a
# Hugging Face config.json that mean one column in every family that has them. A canonical
# name wins over an alias of the same spelling.
HEADER_ALIASES: dict[str, str] = {
    "tokens": "training_tokens", "training tokens": "training_tokens",
    "tokens seen": "training_tokens", "total training tokens": "training_tokens",
    # a Hugging Face config.json, by path or inline, is read as a layer file is
    "hf_config": "architecture_file", "config": "architecture_file",
    "config.json": "architecture_file",
    **CONFIG_KEY_COLUMNS,
}  # fmt: skip
_CANONICAL_BY_KEY = {
    **{header_key(alias): name for alias, name in HEADER_ALIASES.items()},
    **{header_key(name): name for name in CANONICAL_COLUMNS},
}


def load_column_map(path: Path) -> dict[str, str]:
    """Read a `--columns` TOML file: {user header: canonical name}."""
    document = read_toml(Path(path), "column map file")
    table = document.get("columns", document)
    if not isinstance(table, dict):
        raise InputFileError(
            path, 'expected a [columns] table of "your header" = "canonical_name" lines'
        )
    mapping: dict[str, str] = {}
    for user_header, canonical in table.items():
        if not isinstance(canonical, str) or canonical not in CANONICAL_COLUMNS:
            raise InputFileError(
                path,
                f"column map sends {user_header!r} to {canonical!r}, which is not a canonical "
                f"column (expected one of: {', '.join(CANONICAL_COLUMNS)})",
            )
        mapping[user_header] = canonical
    return mapping


def canonical_names(
    headers: list[str], path: object, column_map: dict[str, str] | None = None
) -> dict[str, str]:
    """Rename map for one file's headers. Headers that match no canonical name keep theirs."""
    by_key = dict(_CANONICAL_BY_KEY)
    for user_header, canonical in (column_map or {}).items():
        by_key[header_key(user_header)] = canonical
    renames: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for header in headers:
        # polars names a repeated header "x_duplicated_0"; it is the same column twice.
        original = re.sub(r"_duplicated_\d+$", "", header)
        target = by_key.get(header_key(original)) or original.strip()
        if target in claimed:
            raise InputFileError(
                path,
                f"columns {claimed[target]!r} and {original!r} both mean {target!r}; "
                "keep one or map them apart with --columns",
            )
        claimed[target] = original
        renames[header] = target
    return renames


def column_uses(renames: Mapping[str, str], shown: object) -> list[dict]:
    """What a file's headers became: for each, the column it is read as (`read`), or, for a
    header carried through unread, the canonical name closest to it, if one is close."""
    uses = []
    for header, column in renames.items():
        original = re.sub(r"_duplicated_\d+$", "", header)
        read = column in CANONICAL_COLUMNS
        closest = None if read else _closest(original)
        uses.append({"file": str(shown), "header": original, "column": column, "read": read,
                     "closest": closest})  # fmt: skip
    return uses


def _closest(header: str) -> str | None:
    """The canonical column whose name, or a name it is known by, is spelled most like
    `header` (as frictionless suggests a field): a hint for a header that was not read."""
    found = difflib.get_close_matches(header_key(header), _CANONICAL_BY_KEY, n=1, cutoff=0.75)
    return _CANONICAL_BY_KEY[found[0]] if found else None
