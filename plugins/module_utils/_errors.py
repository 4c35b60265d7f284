# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type that the collection's shared code raises."""

from __future__ import annotations


class AllfiOtaError(Exception):
    """A failure that a module reports with fail_json(msg=str(error))."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details
