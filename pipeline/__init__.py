"""flopsheet's Python API: training compute of ML systems, estimated from a spreadsheet of papers.

    import pipeline
    result = pipeline.estimate_files(["data/raw/systems.csv"])
    result.estimates.filter(result.estimates["estimate_flop"] > 1e24)

The names below are the API (see docs/python-api.md). Each is imported from the module that
defines it the first time it is used, so that importing `pipeline` (as the command line does)
loads neither polars nor DuckDB, and changes no global setting of either.
"""

from importlib import import_module

from pipeline.version import __version__

# Each public name and the module that defines it.
_API = {
    "Sources": "pipeline.sources",
    "Settings": "pipeline.settings",
    "PriorsChoice": "pipeline.estimate.priors",
    "read_sheets": "pipeline.run",
    "estimate_systems": "pipeline.run",
    "estimate_files": "pipeline.run",
    "RunResult": "pipeline.run",
    "refresh_dataset": "pipeline.refresh",
    "RefreshResult": "pipeline.refresh",
    "Dataset": "pipeline.publish.dataset",
    "counting_operations": "pipeline.calculators",
    "hardware_time": "pipeline.calculators",
    "Calculation": "pipeline.calculators",
    "load_hardware": "pipeline.estimate.hardware",
    "load_priors": "pipeline.estimate.priors",
    "FlopsheetError": "pipeline.errors",
    "InputFileError": "pipeline.errors",
    "InputValueError": "pipeline.errors",
    "CalculatorInputError": "pipeline.errors",
    "LockedError": "pipeline.errors",
    "QueryError": "pipeline.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    if name not in _API:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    return getattr(import_module(_API[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
