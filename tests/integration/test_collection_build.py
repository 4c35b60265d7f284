"""The built collection installs, ships no test code and documents its modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Installed:
    """A tarball built from the work tree and installed into a folder of its own."""

    tarball: Path
    collections: Path
    modules: list[str]


def run_tool(tool: str, *args: str, cwd: Path, collections: Path) -> str:
    """Run an ansible tool of the venv that sees only `collections`; return stdout."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_GALAXY_SERVER_LIST="",
    )
    result = subprocess.run(
        [str(VENV_BIN / tool), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"{tool} {' '.join(args)} failed with {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the collection from the work tree, then install the tarball offline."""
    root = tmp_path_factory.mktemp("collection")
    dist = root / "dist"
    collections = root / "collections"
    modules = sorted(
        path.stem
        for path in (REPO / "plugins" / "modules").glob("*.py")
        if path.name != "__init__.py"
    )

    run_tool(
        "ansible-galaxy",
        *("collection", "build", "--output-path", str(dist), str(REPO)),
        cwd=root,
        collections=collections,
    )
    (tarball,) = dist.glob("allfi-ota-*.tar.gz")

    run_tool(
        "ansible-galaxy",
        *("collection", "install", "--offline", "-p", str(collections), str(tarball)),
        cwd=root,
        collections=collections,
    )
    return Installed(tarball=tarball, collections=collections, modules=modules)


def test_tarball_is_named_after_galaxy_yml(installed: Installed):
    with tarfile.open(installed.tarball) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))

    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("allfi", "ota")
    assert installed.tarball.name == f"allfi-ota-{info['version']}.tar.gz"


# columns: path part that must not appear in the tarball, why
@pytest.mark.parametrize(
    "part",
    [
        "tests",  # test code, fixtures and test images
        "molecule",  # scenarios
        "bench",  # benchmarks
        ".venv",  # the development virtual environment
        ".build",  # build output, sanity copies, fixture caches
        "fixtures",  # release fixtures, wherever they sit
        ".config",  # molecule's shared configuration
        "scripts",  # harness scripts
        "dist",  # earlier tarballs
        "__pycache__",  # compiled Python left by test runs
    ],
)
def test_tarball_leaves_out_development_files(installed: Installed, part: str):
    with tarfile.open(installed.tarball) as archive:
        names = archive.getnames()

    shipped = [name for name in names if part in Path(name).parts]
    assert shipped == []


def test_tarball_ships_the_collection(installed: Installed):
    with tarfile.open(installed.tarball) as archive:
        names = set(archive.getnames())

    expected = {"MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml"}
    expected |= {f"plugins/modules/{name}.py" for name in installed.modules}
    assert expected - names == set()


def test_install_lays_out_the_collection(installed: Installed):
    root = installed.collections / "ansible_collections" / "allfi" / "ota"

    assert (root / "MANIFEST.json").is_file()
    assert not (root / "tests").exists()
    shipped = sorted(p.stem for p in (root / "plugins" / "modules").glob("*.py"))
    assert shipped == installed.modules


def test_ansible_doc_lists_every_module_with_a_short_description(
    installed: Installed, tmp_path: Path
):
    listing = json.loads(
        run_tool(
            "ansible-doc",
            *("--list", "--json", "allfi.ota"),
            cwd=tmp_path,
            collections=installed.collections,
        )
    )

    assert installed.modules, "plugins/modules holds no module yet"
    assert sorted(listing) == [f"allfi.ota.{name}" for name in installed.modules]
    empty = [name for name, description in listing.items() if not description.strip()]
    assert empty == []
