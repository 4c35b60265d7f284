# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""allfi.ota.rollback: switch `current` back to a kept release.

Uses nothing of the module object: run_rollback() takes the module's params
and its check_mode and diff flags.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.allfi.ota.plugins.module_utils import _journal as journal
from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._install import (
    Outcome,
    lock_for,
    recover,
    step,
)
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    State,
    hash_file,
    load_state,
    release_drift,
    save_state,
    switch_symlink,
)
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    try_parse_version,
)


def release_name(text: str) -> str:
    """A release name from the version option: 1.2.0 and v1.2.0 are the same."""
    version = try_parse_version(text)
    return version.text if version is not None else text.strip()


def choose_target(layout: Layout, state: State, version: str | None) -> str | None:
    """The release to switch to; None when the last action already rolled back."""
    kept = layout.release_names()
    if version:
        name = release_name(version)
        if name not in kept:
            raise AllfiOtaError(
                f"release {name} is not kept in {layout.releases_dir}"
                f" (kept: {', '.join(kept) or 'none'})"
            )
        return name
    if state.last_action == "rollback":
        return None
    if state.previous is None:
        raise AllfiOtaError(
            f"nothing to roll back to: no release was active before {state.active}"
            f" (kept: {', '.join(kept) or 'none'})"
        )
    return state.previous


def executable_sha256(layout: Layout, state: State, name: str | None) -> str | None:
    """The sha256 of a release's executable as it is on disk now."""
    if name is None:
        return None
    record = state.releases.get(name)
    binary = record.binary if record is not None else layout.binary_name
    path = os.path.join(layout.release_dir(name), binary)
    return hash_file(path) if os.path.isfile(path) else None


def check_target(layout: Layout, state: State, name: str, warnings: list[str]) -> None:
    """Refuse a target whose files changed since install, or with no executable."""
    record = state.releases.get(name)
    binary = record.binary if record is not None else layout.binary_name
    path = os.path.join(layout.release_dir(name), binary)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise AllfiOtaError(f"release {name} has no executable {path}")
    if record is None:
        warnings.append(
            f"release {name} has no record in {layout.state_file}; its files"
            " cannot be checked"
        )
        return
    drift = release_drift(layout, record, name)
    if drift:
        raise AllfiOtaError(
            f"drift check: files of release {name} changed since it was installed"
            f" ({', '.join(drift[:5])}); install it again with allfi.ota.install"
        )


def run_rollback(params: dict, *, check_mode: bool, diff: bool) -> Outcome:
    """Switch `current` to the wanted kept release; raise AllfiOtaError on failure."""
    layout = Layout(params.get("install_dir") or "/opt/allfi")
    if not os.path.isfile(layout.state_file) and not os.path.islink(layout.current):
        raise AllfiOtaError(
            f"nothing to roll back to: {layout.install_dir} holds no release"
            " installed by allfi.ota.install"
        )
    warnings: list[str] = []
    with lock_for(layout, float(params.get("lock_timeout", 60)), check_mode):
        if not check_mode:
            with step(f"recovering from {layout.journal_file}"):
                message = recover(layout, load_state(layout))
            if message:
                warnings.append(message)
        state = load_state(layout)
        active = state.active
        if active is None:
            raise AllfiOtaError(
                f"nothing to roll back from: {layout.current} is missing"
            )
        target = choose_target(layout, state, params.get("version"))
        changed = target is not None and target != active
        if target is None:
            # The last action was a rollback: stay, do not flip back and forth
            target, rolled_back_from = active, state.previous
        else:
            rolled_back_from = active if changed else None
        if changed:
            check_target(layout, state, target, warnings)
        before = {"version": active, "sha256": executable_sha256(layout, state, active)}
        after = {"version": target, "sha256": executable_sha256(layout, state, target)}

        if changed and not check_mode:
            journal.begin(
                layout,
                journal.JournalEntry(
                    operation="rollback", target=target, previous=active
                ),
            )
            try:
                with step(f"switching {layout.current} to {target}"):
                    switch_symlink(layout.current, os.path.join("releases", target))
                state.previous, state.active = active, target
                state.last_action = "rollback"
                with step(f"writing {layout.state_file}"):
                    save_state(layout, state)
            except BaseException:
                _switch_back(layout, active)
                raise
            journal.finish(layout)

    result = {
        "changed": changed,
        "version": target,
        "rolled_back_from": rolled_back_from,
    }
    if diff:
        result["diff"] = {"before": before, "after": after}
    return Outcome(result, warnings)


def _switch_back(layout: Layout, active: str) -> None:
    """After a failed rollback: `current` back on the release it was on."""
    with contextlib.suppress(Exception):
        if layout.active_name() != active:
            switch_symlink(layout.current, os.path.join("releases", active))
        journal.finish(layout)
        layout.clean_tmp()
