"""The reference tables that ship inside the package: the hardware table, the utilization priors
and the layer lists of classic networks. They are package data, so an installed flopsheet finds
them wherever it runs; `data/raw/` keeps only the default spreadsheet of papers."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# A package installed from a wheel or a source tree is a folder on disk, so its data has a path.
DATA_DIR = Path(str(files("pipeline").joinpath("data")))
HARDWARE_TABLE = DATA_DIR / "hardware.csv"
PRIORS_FILE = DATA_DIR / "priors.toml"
ARCHITECTURES_DIR = DATA_DIR / "architectures"
FOUNDATION_MODELS = DATA_DIR / "foundation_models.csv"
