"""The wheel users install holds the whole package and nothing else.

`pip install -e .` hides a package left out of the wheel (the first releases had
no `tracegraph/cli/`): these tests build the wheel and the sdist the way
`python -m build` does and compare what is inside with the source tree.
`scripts/check-package` then installs both outside the checkout and runs them.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracegraph

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tracegraph"


def _source_files() -> set[str]:
    """Every file under tracegraph/ that belongs to the package (no caches)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in {".pyc", ".pyo"}
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("tracegraph-*.whl")
    (sdist,) = out.glob("tracegraph-*.tar.gz")
    yield wheel, sdist


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_every_file_of_the_package(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    names = _wheel_names(wheel)
    missing = sorted(_source_files() - names)
    assert not missing, f"files under tracegraph/ that the wheel leaves out: {missing}"
    assert "tracegraph/cli/__init__.py" in names
    assert "tracegraph/py.typed" in names


def test_the_wheel_holds_nothing_but_the_package_and_its_metadata(
    built: tuple[Path, Path],
) -> None:
    wheel, _ = built
    names = _wheel_names(wheel)
    strays = sorted(
        name
        for name in names
        if not name.startswith(("tracegraph/", "tracegraph-"))
        or name.startswith(("tests/", "bench/", "samples/", "scripts/"))
        or "__pycache__" in name
    )
    assert not strays, f"the wheel holds files that are not the package: {strays}"
    package_files = {name for name in names if name.startswith("tracegraph/")}
    assert package_files == _source_files()


def test_the_wheel_metadata_is_what_an_index_shows(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
        licences = [n for n in archive.namelist() if "/licenses/" in n]
    assert metadata["Name"] == "tracegraph"
    assert metadata["Version"] == tracegraph.__version__
    assert metadata["License-Expression"] == "MIT"
    assert licences and licences[0].endswith("LICENSE")
    assert metadata["Keywords"] and "genealogy" in metadata["Keywords"]
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in classifiers)
    assert metadata.get_all("Project-URL")
    assert metadata["Requires-Python"] == ">=3.10"
    assert "tracegraph answers" in (metadata.get_payload() or "")


def test_the_sdist_builds_the_same_package(built: tuple[Path, Path]) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = {
            name.removeprefix(top + "/") for name in archive.getnames() if name.startswith(top)
        }
    assert _source_files() <= names
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names
    assert not {name for name in names if "__pycache__" in name}
