"""A run's snapshot of its inputs, and the run key taken from it.

A run copies every file it reads into its own folder (`inputs/`): the sheets, the layer lists
they name, the hardware table and the priors file, each read once and hashed as it is copied.
The run then reads the copies, so it holds every byte it counted, and its key comes from the
copies' hashes: a sheet rewritten while the run goes on cannot publish new content under the
old content's key.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.architecture.files import MAX_LAYER_FILE_BYTES
from pipeline.errors import InputFileError
from pipeline.read.small_files import MAX_SHEET_BYTES, MAX_TABLE_BYTES, check_regular_file
from pipeline.settings import Settings
from pipeline.sources import Sources
from pipeline.version import __version__

INPUTS_DIR = "inputs"
LAYERS_COPY_DIR = "architectures"
HARDWARE_COPY = "hardware.csv"
PRIORS_COPY = "priors.toml"
CHECKSUMS = "SHA256SUMS"
# Libraries whose version can change what a run computes or writes.
COMPUTING_LIBRARIES = ("polars", "duckdb", "pandera", "pyarrow")
# Folders of the package whose code does not change what a run computes: the command line
# (options and help texts).
NOT_COMPUTING = ("pipeline/cli",)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_regular(source: Path, what: str, max_bytes: int, stay_inside: Path | None) -> int:
    """A descriptor of `source`, checked after it is open (so that nothing can be swapped in
    between): a regular file of at most `max_bytes` and, with `stay_inside`, a file that is
    not a link and lies in that folder. Opened without blocking, so a FIFO cannot hang."""
    check_regular_file(source, what, max_bytes)  # a clear message for the usual mistakes
    flags = os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if stay_inside else 0)
    try:
        descriptor = os.open(source, flags)
    except FileNotFoundError:
        raise InputFileError(source, f"{what} not found") from None
    except OSError as error:  # ELOOP: a link where none may be
        raise InputFileError(source, f"cannot read: {error.strerror or error}") from None
    status = os.fstat(descriptor)
    where = Path(os.readlink(f"/proc/self/fd/{descriptor}")) if stay_inside else None
    if (
        not stat.S_ISREG(status.st_mode)
        or status.st_size > max_bytes
        or (where is not None and not where.is_relative_to(stay_inside.resolve()))
    ):
        os.close(descriptor)
        raise InputFileError(source, f"changed while it was read: not copied as a {what}")
    return descriptor


def _copy_hashed(
    source: Path, target: Path, what: str, max_bytes: int = MAX_TABLE_BYTES,
    stay_inside: Path | None = None,
) -> str:  # fmt: skip
    """Copy `source` to `target`, hashing the bytes as they are written: the copy's SHA-256.
    A copy, not a hard link: a link would change with the next in-place edit of the file.
    Only a regular file under `max_bytes` is copied, and no more than that is read."""
    descriptor = _open_regular(source, what, max_bytes, stay_inside)
    digest = hashlib.sha256()
    copied = 0
    try:
        with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
            for block in iter(lambda: reader.read(1 << 20), b""):
                copied += len(block)
                if copied > max_bytes:  # it grew while it was copied
                    raise InputFileError(
                        source, f"is more than a {what} can be ({max_bytes:,} bytes)"
                    )
                digest.update(block)
                writer.write(block)
    except FileNotFoundError:
        raise InputFileError(source, f"{what} not found") from None
    except IsADirectoryError:
        raise InputFileError(source, "not a file") from None
    except OSError as error:
        if error.filename is not None and Path(error.filename) == target:
            raise
        raise InputFileError(source, f"cannot read: {error.strerror or error}") from None
    return digest.hexdigest()


def copy_name(index: int, original: Path) -> str:
    """`NN-name` for a run's copy of a file; a long name is cut (its suffix kept) so that the copy
    fits the file system's 255-byte names: the run record keeps the original's name."""
    name = original.name
    if len(name.encode()) > 120:
        name = name.encode()[:100].decode(errors="ignore") + original.suffix[:16]
    return f"{index:02d}-{name}"


@dataclass(frozen=True)
class Copy:
    original: Path  # the file as the user named it
    relative: Path  # its copy, inside the run folder
    sha256: str


@dataclass
class Snapshot:
    """The copies of one run's inputs inside `run_dir` (which a run may rename)."""

    run_dir: Path
    sheets: list[Copy]
    hardware: Copy
    priors: Copy | None  # None: the seed's priors, no file
    layers: list[Copy] = field(default_factory=list)

    @classmethod
    def take(cls, sources: Sources, run_dir: Path) -> Snapshot:
        (run_dir / INPUTS_DIR).mkdir()
        snapshot = cls(run_dir, [], None, None)  # type: ignore[arg-type]
        snapshot.sheets = [
            snapshot._copy(file, copy_name(index, file), "file", MAX_SHEET_BYTES, shown=path)
            for index, (path, file) in enumerate(zip(sources.inputs, sources.files, strict=True))
        ]
        snapshot.hardware = snapshot._copy(sources.hardware_table, HARDWARE_COPY, "hardware table")
        if not sources.priors.is_seed:
            snapshot.priors = snapshot._copy(sources.priors.path, PRIORS_COPY, "priors file")
        return snapshot

    def _copy(
        self, original: Path, name: str, what: str, max_bytes: int = MAX_TABLE_BYTES,
        stay_inside: Path | None = None, shown: Path | None = None,
    ) -> Copy:  # fmt: skip
        """A copy of `original`, recorded by the name `shown` (default: `original`)."""
        relative = Path(INPUTS_DIR) / name
        sha256 = _copy_hashed(original, self.run_dir / relative, what, max_bytes, stay_inside)
        return Copy(shown or original, relative, sha256)

    def path(self, item: Copy) -> Path:
        return self.run_dir / item.relative

    @property
    def sheet_copies(self) -> list[Path]:
        return [self.path(item) for item in self.sheets]

    @property
    def files(self) -> list[Copy]:
        return [*self.sheets, *self.layers, self.hardware, *([self.priors] if self.priors else [])]

    def add_layer_lists(self, files: Mapping[Path, Path]) -> None:
        """Copy the layer lists the sheets name ({file: the folder it must lie in}), ordered by
        file name first, so that a run's copies are numbered the same wherever the project and
        the sheets live. The copy is what is checked, parsed and counted: a file swapped for a
        link after it was found is not copied, and one that does not parse is not kept."""
        from pipeline.architecture.fields import ArchitectureFileError
        from pipeline.architecture.files import parse_json, read_layer_file

        if not files:
            return
        (self.run_dir / INPUTS_DIR / LAYERS_COPY_DIR).mkdir()
        for path in sorted(files, key=lambda p: (p.name, str(p))):
            name = f"{LAYERS_COPY_DIR}/{copy_name(len(self.layers), path)}"
            try:
                copy = self._copy(
                    path, name, "architecture file", MAX_LAYER_FILE_BYTES, files[path]
                )
                parse_json(path, read_layer_file(self.path(copy)))
            except (InputFileError, ArchitectureFileError):
                (self.run_dir / INPUTS_DIR / name).unlink(missing_ok=True)
                continue
            self.layers.append(copy)

    @property
    def layer_copies(self) -> dict[Path, Path]:
        return {item.original: self.path(item) for item in self.layers}

    def write_checksums(self) -> None:
        (self.run_dir / INPUTS_DIR / CHECKSUMS).write_text(
            "".join(
                f"{item.sha256}  {item.relative.relative_to(INPUTS_DIR).as_posix()}\n"
                for item in self.files
            )
        )

    def record(self, items: Sequence[Copy]) -> list[dict]:
        """[{file, copy, sha256}] as the run record keeps them."""
        return [
            {"file": str(item.original), "copy": item.relative.as_posix(), "sha256": item.sha256}
            for item in items
        ]

    @contextmanager
    def naming_originals(self) -> Iterator[None]:
        """An error about a copy names the file the user gave instead."""
        try:
            yield
        except InputFileError as error:
            originals = {str(self.path(item)): item.original for item in self.files}
            if str(error.path) not in originals:
                raise
            raise InputFileError(originals[str(error.path)], error.problem) from None

    def key(self, sources: Sources, settings: Settings) -> str:
        """Hash of everything a run depends on: the copied bytes of every input, the settings,
        the column map, the input format, and the flopsheet version and code."""
        parts = [
            __version__,
            code_fingerprint(),
            json.dumps(settings.as_dict(), sort_keys=True),
            json.dumps(dict(sources.columns), sort_keys=True),
            sources.input_format,
            self.hardware.sha256,
            self.priors.sha256 if self.priors else str(sources.priors),
            *(f"{item.original.name}:{item.sha256}" for item in self.sheets),
            *(f"{item.original}:{item.sha256}" for item in self.layers),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def provenance(self, sources: Sources, settings: Settings) -> pl.DataFrame:
        """Key-value facts that tie the outputs to the exact inputs and settings."""
        rows = [("flopsheet_version", __version__), ("settings", json.dumps(settings.as_dict()))]
        rows += [(f"input:{item.original}", item.sha256) for item in self.sheets]
        rows.append((f"hardware_table:{self.hardware.original}", self.hardware.sha256))
        rows.append(
            (f"priors:{sources.priors}", self.priors.sha256 if self.priors else str(sources.priors))
        )
        return pl.DataFrame(rows, schema={"key": pl.String, "value": pl.String}, orient="row")


def _package_folders() -> list[Path]:
    import pipeline
    import schemas

    return [Path(pipeline.__file__).parent, Path(schemas.__file__).parent]


@functools.cache
def code_fingerprint(folders: tuple[Path, ...] | None = None) -> str:
    """SHA-256 of flopsheet's own code (every module of `pipeline` and `schemas`, in every
    subfolder, but the command line's) and of the versions of the libraries that compute and
    write: a change to either changes what a run computes, with or without a new version."""
    digest = hashlib.sha256()
    for library in COMPUTING_LIBRARIES:
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    for folder in folders or _package_folders():
        root = folder.parent
        # The catalogue of foundation models is estimated in every run that names a base it
        # holds: its rows count as code here.
        for path in sorted([*folder.rglob("*.py"), *folder.rglob("foundation_models.csv")]):
            name = path.relative_to(root).as_posix()
            if any(name.startswith(f"{skipped}/") for skipped in NOT_COMPUTING):
                continue
            digest.update(f"{name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def may_name_layer_lists(path: Path) -> bool:
    """Whether the sheet's headers include the layer-list column (True when in doubt): a run
    that may skip reads the whole sheet only when it may name layer lists, which the run key
    covers too."""
    from pipeline.read.columns import header_key

    try:
        if path.suffix.lower() == ".parquet":
            headers = list(pl.read_parquet_schema(path))
        elif path.suffix.lower() in (".csv", ".tsv"):
            separator = "\t" if path.suffix.lower() == ".tsv" else ","
            headers = pl.read_csv(
                path, n_rows=0, infer_schema=False, separator=separator, encoding="utf8-lossy"
            ).columns
        else:
            return True
    except Exception:
        return True
    return any(header_key(h) == header_key("architecture_file") for h in headers)


def named_layer_lists(raw: pl.DataFrame, sheet_folders: Mapping[str, Path]) -> dict[Path, Path]:
    """{file: the folder it lies in} for the layer-list files the sheets' `architecture_file`
    cells name, that resolve inside their sheet's folder (or among the shipped lists). A cell
    naming anything else is the run's to reject, row by row."""
    from pipeline.architecture.fields import ArchitectureFileError
    from pipeline.architecture.files import (
        DEFAULT_ARCHITECTURES_DIR,
        cells_by_sheet,
        resolve_architecture,
    )

    found = {}
    for _, folders, cells in cells_by_sheet(raw, sheet_folders):
        for cell in cells:
            if cell.strip().startswith("{"):
                continue
            try:
                path = resolve_architecture(cell, folders)
            except ArchitectureFileError:
                continue
            found[path] = next(
                (f for f in (*folders, DEFAULT_ARCHITECTURES_DIR) if path.is_relative_to(f)),
                path.parent,
            )
    return found
