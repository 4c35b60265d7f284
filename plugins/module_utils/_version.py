# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Semantic versions of AllFi releases, parsed without any extra package.

Uses nothing of the module object.
"""

from __future__ import annotations

import re
from functools import total_ordering

from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

_PRERELEASE_WORDS = ("alpha", "beta", "rc")


@total_ordering
class Version:
    """A semantic version; ordering follows semver 2.0 precedence."""

    def __init__(self, text: str) -> None:
        match = _SEMVER.match(text.strip())
        if match is None:
            raise AllfiOtaError(
                f"'{text}' is not a semantic version such as 1.2.0 or v1.2.0-rc.1"
            )
        self.major = int(match.group("major"))
        self.minor = int(match.group("minor"))
        self.patch = int(match.group("patch"))
        pre = match.group("pre")
        self.prerelease: tuple[str, ...] = tuple(pre.split(".")) if pre else ()
        self.build = match.group("build") or ""

    @property
    def text(self) -> str:
        """The version without a leading v, as used in AllFi's asset names."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            core += "-" + ".".join(self.prerelease)
        if self.build:
            core += "+" + self.build
        return core

    @property
    def tag(self) -> str:
        """The git tag AllFi publishes this version under."""
        return "v" + self.text

    @property
    def is_prerelease(self) -> bool:
        """True when AllFi's pipeline publishes this version as a prerelease."""
        lowered = self.text.lower()
        return bool(self.prerelease) or any(w in lowered for w in _PRERELEASE_WORDS)

    def _key(self) -> tuple:
        # A release without a prerelease part sorts after all its prereleases.
        if not self.prerelease:
            pre_key: tuple = ((1,),)
        else:
            pre_key = tuple(
                (0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease
            )
            pre_key = ((0,), *pre_key)
        return (self.major, self.minor, self.patch, pre_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Version({self.text!r})"

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version:
    """Parse '1.2.0' or 'v1.2.0'; raise AllfiOtaError on anything else."""
    return Version(text)


def try_parse_version(text: str) -> Version | None:
    """Parse a version, or return None when the text is not one."""
    try:
        return Version(text)
    except AllfiOtaError:
        return None
