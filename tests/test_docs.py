"""The docs a newcomer reads: short README, a current CLI reference, every setting documented,
and the Python API's example runs as written."""

import dataclasses
import re
import shutil
import subprocess
import sys

import pytest

from pipeline.cli.reference import reference
from pipeline.settings import Settings
from tests.conftest import REPO

DOCS = REPO / "docs"


def test_the_readme_is_short_and_links_only_to_pages_that_exist():
    readme = (REPO / "README.md").read_text()
    assert len(readme.encode()) <= 8192
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / link).is_file(), link


def test_the_cli_reference_is_current():
    assert (DOCS / "cli.md").read_text() == reference(), "stale: run `make docs`"


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_documented(field):
    assert f"`{field}`" in (DOCS / "methods.md").read_text()


def test_the_python_api_example_runs(tmp_path):
    page = (DOCS / "python-api.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", page, flags=re.S))
    (tmp_path / "data" / "raw").mkdir(parents=True)
    shutil.copy(REPO / "data" / "raw" / "systems.csv", tmp_path / "data" / "raw")
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        exec(compile(code, "docs/python-api.md", "exec"), namespace)
    assert namespace["large"].height > 0
    assert namespace["top"].height == 5
    assert namespace["result"].run_id == namespace["runs"]["run_id"][-1]
    assert namespace["chinchilla"].flop == pytest.approx(6 * 70e9 * 1.4e12)


def test_the_readme_python_example_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S).group(1)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    shutil.copy(REPO / "data" / "raw" / "systems.csv", tmp_path / "data" / "raw")
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        import pipeline

        pipeline.estimate_files(["data/raw/systems.csv"], "data/processed")  # `make estimate`
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["big"].height > 0


def test_importing_the_api_loads_no_engine_and_changes_no_setting():
    script = (
        "import sys, polars as pl; before = pl.Config.state(); "
        "import pipeline; assert 'duckdb' not in sys.modules and 'pandera' not in sys.modules; "
        "[getattr(pipeline, name) for name in pipeline.__all__]; "
        "assert pl.Config.state() == before, 'polars settings changed'"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
    bare = "import sys, pipeline; assert 'polars' not in sys.modules, 'polars imported'"
    subprocess.run([sys.executable, "-c", bare], check=True, cwd=REPO)
