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
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

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
    "hf_config": "architecture_file", "config.json": "architecture_file",
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


# A header that shares its column with others, by the user's column map, is renamed
# `<column><COALESCE_MARK><rank>` (rank: its place in the map) until `coalesce_mapped` makes
# the one column of them.
COALESCE_MARK = "\0"


def canonical_names(
    headers: list[str],
    path: object,
    column_map: dict[str, str] | None = None,
    user_map: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Rename map for one file's headers. Headers that match no canonical name keep theirs.
    Headers that `user_map` (the user's `--columns`) sends to one column are all kept, to be
    coalesced (see `coalesce_mapped`); any other two headers of one column are an error."""
    by_key = dict(_CANONICAL_BY_KEY)
    for user_header, canonical in (column_map or {}).items():
        by_key[header_key(user_header)] = canonical
    ranks = {header_key(h): rank for rank, h in enumerate(user_map or {})}
    renames: dict[str, str] = {}
    claimed: dict[str, tuple[str, str]] = {}  # column -> (first header of it, as read)
    for header in headers:
        if COALESCE_MARK in header:  # a Parquet file's column names may hold any character
            raise InputFileError(path, f"column name {header!r} holds a NUL character")
        # polars names a repeated header "x_duplicated_0"; it is the same column twice.
        original = re.sub(r"_duplicated_\d+$", "", header)
        target = by_key.get(header_key(original)) or original.strip()
        if target not in claimed:
            claimed[target] = (original, header)
            renames[header] = target
            continue
        first, first_header = claimed[target]
        # Only different headers the map names are coalesced: one header twice is an error.
        mapped = header_key(first) in ranks and header_key(original) in ranks
        if not mapped or header_key(first) == header_key(original):
            raise InputFileError(
                path,
                f"columns {first!r} and {original!r} both mean {target!r}; "
                "keep one or map them apart with --columns",
            )
        renames[first_header] = f"{target}{COALESCE_MARK}{ranks[header_key(first)]}"
        renames[header] = f"{target}{COALESCE_MARK}{ranks[header_key(original)]}"
    return renames


def coalesce_mapped(frame: pl.DataFrame) -> pl.DataFrame:
    """One column from each group of headers the column map sent to it: per row, the first
    non-blank cell in the map's order."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in frame.columns:
        if COALESCE_MARK in name:
            column, rank = name.split(COALESCE_MARK)
            groups.setdefault(column, []).append((int(rank), name))
    if not groups:
        return frame
    merged = [
        pl.coalesce(
            pl.when(pl.col(name).str.strip_chars() != "").then(pl.col(name))
            for _, name in sorted(members)
        ).alias(column)
        for column, members in groups.items()
    ]
    return frame.with_columns(merged).drop(n for m in groups.values() for _, n in m)


def column_uses(
    renames: Mapping[str, str], shown: object, withheld: Sequence[str] = ()
) -> list[dict]:
    """What a file's headers became: for each, the column it is read as (`read`), or, for a
    header carried through unread, the canonical name closest to it, if one is close; a
    withheld header (`evaluate` withholds an export's own figures) is neither."""
    uses = [{"file": str(shown), "header": h, "column": None, "read": False, "closest": None,
             "withheld": True} for h in withheld]  # fmt: skip
    for header, column in renames.items():
        original = re.sub(r"_duplicated_\d+$", "", header)
        column = column.split(COALESCE_MARK)[0]
        read = column in CANONICAL_COLUMNS
        closest = None if read else _closest(original)
        uses.append({"file": str(shown), "header": original, "column": column, "read": read,
                     "closest": closest, "withheld": False})  # fmt: skip
    return uses


def _closest(header: str) -> str | None:
    """The canonical column whose name, or a name it is known by, is spelled most like
    `header` (as frictionless suggests a field): a hint for a header that was not read."""
    found = difflib.get_close_matches(header_key(header), _CANONICAL_BY_KEY, n=1, cutoff=0.75)
    return _CANONICAL_BY_KEY[found[0]] if found else None
