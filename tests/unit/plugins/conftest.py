"""Fixtures shared by the unit tests of the modules and module_utils."""

from __future__ import annotations

import pytest

from tests.unit.plugins.module_utils.install_support import build


@pytest.fixture(scope="session", name="releases")
def releases_fixture(tmp_path_factory):
    """linux-amd64 archives of 1.0.0, 1.1.0, 1.2.0 and 1.3.0, by version."""
    out = tmp_path_factory.mktemp("install-releases")
    return {v: build(out, v) for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")}
