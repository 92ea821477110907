"""The wheel, installed into a fresh virtual environment, works from any folder: the reference
tables travel as package data and no command needs the clone.

The new environment reaches flopsheet's dependencies through a `.pth` line naming this
environment's site-packages (pip would download the same packages from the index), while
flopsheet itself comes only from the wheel: the clone is not on its path.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from pipeline.version import __version__
from tests.conftest import EPOCH_DIR, REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin` folder of a fresh environment with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so that building leaves no build/ in the clone
    shutil.copytree(
        REPO, source,
        ignore=shutil.ignore_patterns(".venv", ".git", "data/processed", "*.egg-info", "__pycache__", "build"),
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(work / "dist"), str(source)],
        check=True,
    )  # fmt: skip
    environment = work / "env"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = (work / "dist").glob("flopsheet-*.whl")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    return environment / "bin"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    shutil.copy(REPO / "data" / "raw" / "systems.csv", tmp_path / "papers.csv")
    shutil.copy(EPOCH_DIR / "frontier_ai_models_2025-12.csv", tmp_path / "export.csv")
    return tmp_path


def flopsheet(bin_dir: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [bin_dir / "flopsheet", *args], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert result.stderr == "" or result.stderr.startswith("warning:"), result.stderr
    return result


def test_the_package_comes_from_the_wheel(installed, elsewhere):
    where = subprocess.run(
        [installed / "python", "-c", "import pipeline.resources as r; print(r.DATA_DIR)"],
        cwd=elsewhere, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(installed.parent) and not Path(where).is_relative_to(REPO)
    assert flopsheet(installed, elsewhere, "--version").stdout.strip() == f"flopsheet {__version__}"


def test_every_command_runs_from_another_folder(installed, elsewhere):
    run = lambda *args: flopsheet(installed, elsewhere, *args)  # noqa: E731
    assert "NVIDIA A100" in run("hardware", "list", "--search", "a100").stdout
    assert "V100" in run("hardware", "show", "V100").stdout
    assert (
        json.loads(run("calc", "ops", "--parameters", "70B", "--tokens", "1.4T", "--json").stdout)[
            "flop"
        ]
        > 5e23
    )
    calc = run(
        "calc", "hardware", "--hardware", "A100", "--chips", "8", "--time", "3 days", "--json"
    )
    assert json.loads(calc.stdout)["flop"] > 1e20
    assert "rows valid" in run("validate", "papers.csv").stdout
    summary = json.loads(run("estimate", "papers.csv", "-o", "out", "--json").stdout)
    assert summary["rows_estimated"] > 40
    rows = json.loads(
        run(
            "query",
            "SELECT count(*) AS n FROM estimates",
            "--db",
            "out/compute.duckdb",
            "--format",
            "json",
        ).stdout
    )
    assert rows == [{"n": summary["rows_read"]}]
    assert (
        json.loads(run("refresh", "papers.csv", "-o", "out", "--json").stdout)["status"]
        == "skipped"
    )
    (elsewhere / "papers.csv").write_text(
        (elsewhere / "papers.csv").read_text().replace("5.76e23", "1.2e24", 1)
    )
    assert (
        json.loads(run("refresh", "papers.csv", "-o", "out", "--json").stdout)["status"]
        == "published"
    )
    assert [c["system"] for c in json.loads(run("diff", "-o", "out", "--json").stdout)] == [
        "Chinchilla"
    ]
    assert (elsewhere / "out" / "report" / "report.html").is_file()
    run("report", "--db", "out/compute.duckdb", "--out", "page")
    assert (elsewhere / "page" / "report.html").is_file()
    evaluation = json.loads(run("evaluate", "export.csv", "--report", "eval", "--json").stdout)
    assert evaluation["rows"] > 100
    run("calibrate", "export.csv", "--out", "priors.toml", "--min-observations", "3")
    assert "[[prior]]" in (elsewhere / "priors.toml").read_text()
    run("estimate", "papers.csv", "-o", "seed", "--priors", "priors.toml")
