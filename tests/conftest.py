"""Shared pytest setup: the collection's import path and the release fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.github_server import FakeGitHub
from tests.fixtures.releases import build_catalog, default_repos
from tests.fixtures.standin import build_standin

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "allfi" / "ota"
CATALOG = REPO / ".build" / "fixtures" / "catalog"

# Make the collection importable as ansible_collections.allfi.ota
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(REPO, LINK.parent), LINK)


@pytest.fixture(scope="session")
def release_catalog():
    """The default release catalog, built once (and cached between sessions)."""
    return build_catalog(CATALOG, default_repos())


@pytest.fixture
def github(release_catalog):
    """A started fake GitHub serving the default catalog, stopped afterwards."""
    with FakeGitHub(release_catalog) as server:
        yield server


@pytest.fixture(scope="session")
def standin_factory(tmp_path_factory):
    """Return a callable(version, mode="ok") giving the path of a built stand-in."""
    folder = tmp_path_factory.mktemp("standins")

    def build(version, mode="ok", slow_seconds=4):
        out = folder / f"{version}-{mode}-{slow_seconds}" / "allfi"
        if not out.exists():
            build_standin(out, version, mode, slow_seconds)
        return out

    return build
