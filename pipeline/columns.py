"""Header matching: users' headers to the canonical column names.

Headers match case-insensitively, ignoring spaces, underscores and punctuation, so
"Training time (hours)" is `training_time_hours`. A TOML file passed with `--columns` maps
a user's own headers to canonical names:

    [columns]
    "Model" = "system"
    "GPU type" = "hardware"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pipeline.errors import InputFileError
from schemas.systems import CANONICAL_COLUMNS


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


_CANONICAL_BY_KEY = {header_key(name): name for name in CANONICAL_COLUMNS}


def load_column_map(path: Path) -> dict[str, str]:
    """Read a `--columns` TOML file: {user header: canonical name}."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "column map file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputFileError(path, f"cannot read the column map: {error}") from None
    table = document.get("columns", document)
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
        canonical = by_key.get(header_key(header))
        if canonical is None:
            renames[header] = header.strip()
            continue
        if canonical in claimed:
            raise InputFileError(
                path,
                f"columns {claimed[canonical]!r} and {header!r} both mean {canonical!r}; "
                "keep one or map them apart with --columns",
            )
        claimed[canonical] = header
        renames[header] = canonical
    return renames
