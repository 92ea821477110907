"""What a run reads, as one value built once: the sheets, how to read them, and the reference
tables. Every job (estimate, refresh, validate, evaluate, calibrate) starts from a `Sources`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pipeline.defaults import INPUT_FORMATS
from pipeline.errors import InputFileError
from pipeline.estimate.priors import PriorsChoice
from pipeline.resources import HARDWARE_TABLE


@dataclass(frozen=True)
class Sources:
    """The inputs of one run.

    `inputs` are the spreadsheets as the user named them: rows and errors name these files, even
    where a run reads a snapshot of them. `columns` maps the user's headers to canonical names
    (`--columns`); `input_format` is auto, canonical or epoch; `withhold` holds patterns of
    headers whose columns are dropped before anything reads them (an export's own compute
    figures and what derives from them, when evaluating).
    `read_from` holds, for each input, where its bytes are when not at its name (a sheet read
    from standard input, named `-`, is kept in a file of its own); empty: at their names."""

    inputs: tuple[Path, ...]
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    input_format: str = "auto"
    hardware_table: Path = HARDWARE_TABLE
    priors: PriorsChoice = PriorsChoice()
    withhold: tuple[str, ...] = ()
    read_from: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """Where each input's bytes are read from."""
        return self.read_from or self.inputs

    @classmethod
    def of(
        cls,
        inputs: Iterable[Path | str],
        columns: Mapping[str, str] | None = None,
        input_format: str = "auto",
        hardware_table: Path | str = HARDWARE_TABLE,
        priors: PriorsChoice | Path | str = PriorsChoice(),
        withhold: Iterable[str] = (),
    ) -> Sources:
        """Sources from loose arguments: paths as text, a priors file or 'seed'."""
        inputs = (Path(inputs),) if isinstance(inputs, str | Path) else tuple(map(Path, inputs))
        if not inputs:
            raise InputFileError("(no input)", "give at least one spreadsheet")
        if input_format not in INPUT_FORMATS:
            raise InputFileError(
                "(input format)", f"{input_format!r}, expected one of {', '.join(INPUT_FORMATS)}"
            )
        if not isinstance(priors, PriorsChoice):
            priors = PriorsChoice.parse(priors)
        return cls(
            inputs=inputs,
            columns=MappingProxyType(dict(columns or {})),
            input_format=input_format,
            hardware_table=Path(hardware_table),
            priors=priors,
            withhold=tuple(withhold),
        )

    @property
    def sheet_folders(self) -> dict[str, Path]:
        """Each sheet's folder, by the name its rows give it (`source_file`): where the layer
        lists its rows name are looked for."""
        # A sheet on standard input (`-`) is looked beside in the working folder, never in
        # the private folder its bytes are kept in.
        return {str(path): path.resolve().parent for path in self.inputs}
