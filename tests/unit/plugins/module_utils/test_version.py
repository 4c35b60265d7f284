"""Unit tests for the private semantic-version helper."""

from __future__ import annotations

import pytest

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    Version,
    try_parse_version,
)


# columns: text, expected .text, expected .tag, expected .is_prerelease
@pytest.mark.parametrize(
    ("text", "plain", "tag", "prerelease"),
    [
        ("1.2.0", "1.2.0", "v1.2.0", False),
        ("v1.2.0", "1.2.0", "v1.2.0", False),
        (" v1.2.0 ", "1.2.0", "v1.2.0", False),
        ("1.4.0-rc.1", "1.4.0-rc.1", "v1.4.0-rc.1", True),
        ("2.0.0-beta", "2.0.0-beta", "v2.0.0-beta", True),
        ("1.0.0+build.7", "1.0.0+build.7", "v1.0.0+build.7", False),
    ],
)
def test_parse(text, plain, tag, prerelease):
    version = Version(text)
    assert version.text == plain
    assert version.tag == tag
    assert version.is_prerelease is prerelease


# columns: text that is not a semantic version
@pytest.mark.parametrize(
    "text", ["", "latest", "1.2", "1.2.0.0", "01.2.0", "v", "1.2.0-", "vv1.2.0"]
)
def test_rejects(text):
    with pytest.raises(AllfiOtaError, match="not a semantic version"):
        Version(text)
    assert try_parse_version(text) is None


def test_precedence_follows_semver():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = list(reversed(ordered))
    assert [v.text for v in sorted(Version(t) for t in shuffled)] == ordered


# columns: left, right, equal?
@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("v1.2.0", "1.2.0", True),
        ("1.2.0+a", "1.2.0+b", True),
        ("1.2.0", "1.2.1", False),
    ],
)
def test_equality_ignores_v_and_build(left, right, equal):
    assert (Version(left) == Version(right)) is equal
    assert (hash(Version(left)) == hash(Version(right))) is equal
