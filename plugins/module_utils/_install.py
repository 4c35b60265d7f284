# Private to the allfi.ota collection: not a public API, may change at any time.
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""allfi.ota.install: decide what an install changes, then do it step by step.

plan_install() only reads; execute_install() changes the disk, each step
recorded in the journal first, so that a run killed at any moment leaves
`current` on a complete release and the next run finishes or undoes the step.

Uses nothing of the module object: run_install() takes the module's params,
check_mode and diff flags, and an optional callable that sets the default
SELinux context of a path (the module wraps set_default_selinux_context).
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import stat
from dataclasses import dataclass, field
from typing import IO, Callable, Iterator

from ansible_collections.allfi.ota.plugins.module_utils import _journal as journal
from ansible_collections.allfi.ota.plugins.module_utils._archive import (
    extract_release,
)
from ansible_collections.allfi.ota.plugins.module_utils._errors import AllfiOtaError
from ansible_collections.allfi.ota.plugins.module_utils._http import (
    display_url,
    download,
)
from ansible_collections.allfi.ota.plugins.module_utils._layout import (
    Layout,
    ReleaseRecord,
    State,
    discard_release,
    fsync_dir,
    hash_file,
    load_state,
    now,
    prune_candidates,
    release_drift,
    remove_path,
    save_state,
    switch_symlink,
)
from ansible_collections.allfi.ota.plugins.module_utils._lock import InstallLock
from ansible_collections.allfi.ota.plugins.module_utils._platform import (
    host_platform,
)
from ansible_collections.allfi.ota.plugins.module_utils._version import (
    Version,
    try_parse_version,
)

CHUNK = 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0
VERSION_FILE = "VERSION"

SelinuxSetter = Callable[[str], None]


@dataclass
class InstallParams:
    """The options of allfi.ota.install, checked."""

    src: str
    checksum: str
    version: Version
    install_dir: str
    binary_name: str = "allfi"
    keep_releases: int = 3
    allow_downgrade: bool = False
    activate: bool = True
    owner: str | None = None
    group: str | None = None
    validate_certs: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    max_size: int = 1024**3
    lock_timeout: float = 60.0
    adopt_version: str | None = None

    @classmethod
    def from_params(cls, params: dict) -> InstallParams:
        """Build from the module's params, refusing values that make no sense."""
        binary_name = params.get("binary_name") or "allfi"
        if "/" in binary_name or binary_name in (".", ".."):
            raise AllfiOtaError(
                f"binary_name '{binary_name}' must be a plain file name"
            )
        keep = int(params.get("keep_releases", 3))
        if keep < 1:
            raise AllfiOtaError(f"keep_releases must be 1 or more, not {keep}")
        max_size = int(params.get("max_size", 1024**3))
        if max_size < 1:
            raise AllfiOtaError(f"max_size must be a positive number, not {max_size}")
        adopt = params.get("adopt_version")
        if adopt:
            adopt = Version(adopt).text
        return cls(
            src=params["src"],
            checksum=parse_checksum(params["checksum"]),
            version=Version(params["version"]),
            install_dir=params.get("install_dir") or "/opt/allfi",
            binary_name=binary_name,
            keep_releases=keep,
            allow_downgrade=bool(params.get("allow_downgrade", False)),
            activate=bool(params.get("activate", True)),
            owner=params.get("owner"),
            group=params.get("group"),
            validate_certs=bool(params.get("validate_certs", True)),
            headers=dict(params.get("headers") or {}),
            max_size=max_size,
            lock_timeout=float(params.get("lock_timeout", 60)),
            adopt_version=adopt or None,
        )


def parse_checksum(text: str) -> str:
    """The hex digest of 'sha256:<64 hex>'; refuse anything else."""
    algorithm, _sep, digest = text.strip().partition(":")
    digest = digest.lower()
    if (
        algorithm.lower() != "sha256"
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise AllfiOtaError(
            "checksum must read sha256:<64 hexadecimal digits>, as GitHub's asset"
            " digest does"
        )
    return digest


def is_url(src: str) -> bool:
    """True for an http(s) URL, False for a path on the host."""
    return src.lower().startswith(("http://", "https://"))


@dataclass
class Outcome:
    """What a run returns: the module result and the warnings to show."""

    result: dict
    warnings: list[str] = field(default_factory=list)


@dataclass
class Adoption:
    """A hand-installed executable to keep as a release."""

    name: str
    sha256: str
    reuse: bool


@dataclass
class InstallPlan:
    """The one comparison that changed, diff and check mode all come from."""

    version: str
    active: str | None
    active_sha256: str | None
    adoption: Adoption | None
    action: str
    reason: str
    drift: list[str]
    switch: bool
    previous_after: str | None
    prune: list[str]
    sha256_after: str | None
    uid: int = -1
    gid: int = -1

    @property
    def changed(self) -> bool:
        """True when the run changes anything on the host."""
        return bool(self.adoption or self.action != "none" or self.switch or self.prune)

    @property
    def active_before(self) -> str | None:
        """The release active once a hand-installed executable is adopted."""
        return self.adoption.name if self.adoption else self.active


def resolve_owner(owner: str | None, group: str | None) -> tuple[int, int]:
    """uid and gid for owner and group (-1: leave as it is)."""
    uid = gid = -1
    if owner:
        try:
            uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise AllfiOtaError(f"owner '{owner}' is not a user on this host") from None
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise AllfiOtaError(
                f"group '{group}' is not a group on this host"
            ) from None
    return uid, gid


def read_adopt_version(p: InstallParams, layout: Layout) -> tuple[str | None, str]:
    """The version of a hand-installed executable, and a warning when unknown."""
    if p.adopt_version:
        return p.adopt_version, ""
    path = os.path.join(layout.install_dir, VERSION_FILE)
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            text = stream.read(200).strip()
    except FileNotFoundError:
        return None, ""
    version = try_parse_version(text)
    if version is None:
        return None, f"ignored {path}: '{text[:40]}' is not a version"
    return version.text, ""


def plan_adoption(
    p: InstallParams, layout: Layout, state: State, warnings: list[str]
) -> Adoption:
    """Name the release a hand-installed executable becomes."""
    sha256 = hash_file(layout.legacy_binary)
    version, warning = read_adopt_version(p, layout)
    if warning:
        warnings.append(warning)
    fallback = "adopted-" + sha256[:12]
    for name in (version, fallback):
        if name is None:
            continue
        if not os.path.lexists(layout.release_dir(name)):
            return Adoption(name=name, sha256=sha256, reuse=False)
        record = state.releases.get(name)
        if record is not None and record.binary_sha256 == sha256:
            return Adoption(name=name, sha256=sha256, reuse=True)
    raise AllfiOtaError(
        f"cannot adopt {layout.legacy_binary}: {layout.release_dir(fallback)}"
        " exists and holds another executable"
    )


def active_sha256(layout: Layout, state: State) -> str | None:
    """The sha256 of the executable that runs now, whatever was recorded."""
    if layout.legacy_file():
        return hash_file(layout.legacy_binary)
    if state.active is None:
        return None
    record = state.releases.get(state.active)
    binary = record.binary if record else layout.binary_name
    path = os.path.join(layout.release_dir(state.active), binary)
    return hash_file(path) if os.path.isfile(path) else None


def plan_install(
    p: InstallParams, layout: Layout, state: State, warnings: list[str]
) -> InstallPlan:
    """Compare the host with the wanted release; read only."""
    wanted = p.version.text
    adoption = (
        plan_adoption(p, layout, state, warnings) if layout.legacy_file() else None
    )
    active = adoption.name if adoption else state.active

    # Downgrade check
    active_version = try_parse_version(active) if active else None
    downgrade = active_version is not None and p.version < active_version
    if downgrade and not p.allow_downgrade:
        raise AllfiOtaError(
            f"downgrade check: the active version is {active_version} and"
            f" {wanted} is lower; set allow_downgrade to install it"
        )

    # What to do with the wanted release's folder
    record = state.releases.get(wanted)
    exists = os.path.isdir(layout.release_dir(wanted))
    if adoption is not None and adoption.name == wanted:
        exists, record = True, None
    drift: list[str] = []
    sha256_after = None
    if not exists:
        action, reason = "install", f"release {wanted} is not installed"
    elif record is None or record.adopted:
        action = "reinstall"
        reason = f"release {wanted} was not installed from a verified archive"
    elif record.archive_sha256 != p.checksum:
        action = "reinstall"
        reason = f"release {wanted} was installed from an archive with another checksum"
    else:
        drift = release_drift(layout, record, wanted)
        if drift:
            action = "reinstall"
            reason = f"files of release {wanted} changed since it was installed"
        else:
            action, reason = "none", f"release {wanted} is installed and unchanged"
            sha256_after = record.binary_sha256
    switch = p.activate and active != wanted
    if action == "none" and switch:
        action, reason = "activate", f"release {wanted} is kept but not active"

    # Releases kept after the run
    previous_after = active if switch else state.previous
    if adoption is not None and not switch and active != state.active:
        previous_after = state.active
    active_after = wanted if p.activate else active
    keep = {n for n in (active_after, previous_after, wanted) if n is not None}
    names = set(layout.release_names()) | {wanted}
    if adoption is not None:
        names.add(adoption.name)
    prune = prune_candidates(sorted(names), state, keep, p.keep_releases, layout)

    uid, gid = resolve_owner(p.owner, p.group)
    return InstallPlan(
        version=wanted,
        active=state.active,
        active_sha256=active_sha256(layout, state),
        adoption=adoption,
        action=action,
        reason=reason,
        drift=drift,
        switch=switch,
        previous_after=previous_after,
        prune=prune,
        sha256_after=sha256_after,
        uid=uid,
        gid=gid,
    )


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Turn an OSError of one step into an AllfiOtaError naming the step."""
    try:
        yield
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise AllfiOtaError(
            f"{what} failed{where}: {error.strerror or error}"
        ) from None


def copy_hashed(
    source: IO[bytes], target: IO[bytes], limit: int, label: str
) -> tuple[int, str]:
    """Copy a stream in chunks, hashing it; refuse more than limit bytes."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise AllfiOtaError(
                f"size check: {label} is larger than max_size ({limit} bytes)"
            )
        digest.update(chunk)
        target.write(chunk)
    return size, digest.hexdigest()


def fetch_archive(p: InstallParams, layout: Layout) -> str:
    """Download or copy src into a private temporary file and verify its checksum."""
    path = layout.new_tmp("download-")
    label = display_url(p.src) if is_url(p.src) else p.src
    with open(path, "r+b") as stream:
        if is_url(p.src):
            sensitive = ["authorization", *(name.lower() for name in p.headers)]
            result = download(
                p.src,
                stream,
                headers=p.headers,
                sensitive_headers=sensitive,
                timeout=DOWNLOAD_TIMEOUT,
                validate_certs=p.validate_certs,
                max_bytes=p.max_size,
            )
            size, sha256 = result.size, result.sha256
            if result.announced_length is not None and size != result.announced_length:
                raise AllfiOtaError(
                    f"length check: {label} sent {size} bytes but announced"
                    f" {result.announced_length}"
                )
        else:
            if not os.path.isabs(p.src):
                raise AllfiOtaError(
                    f"src '{p.src}' is neither an http(s) URL nor an absolute path"
                )
            with step(f"reading {p.src}"), open(p.src, "rb") as source:
                size, sha256 = copy_hashed(source, stream, p.max_size, p.src)
        stream.flush()
        os.fsync(stream.fileno())
    if sha256 != p.checksum:
        raise AllfiOtaError(
            f"checksum check: {label} has sha256:{sha256}, but checksum is"
            f" sha256:{p.checksum} ({size} bytes received)"
        )
    return path


def walk_paths(root: str) -> list[str]:
    """root and every path under it, parents first."""
    paths = [root]
    for folder, dirs, files in os.walk(root):
        paths.extend(
            os.path.join(folder, name) for name in sorted(dirs) + sorted(files)
        )
    return paths


def apply_owner(root: str, uid: int, gid: int) -> None:
    """chown a staged tree when owner or group was asked for."""
    if uid == -1 and gid == -1:
        return
    for path in walk_paths(root):
        os.lchown(path, uid, gid)


def apply_selinux(root: str, selinux: SelinuxSetter | None) -> None:
    """Give every path of a placed release its default SELinux context."""
    if selinux is None:
        return
    for path in walk_paths(root):
        selinux(path)


def sync_tree(stage: str, dest: str) -> None:
    """Make dest hold exactly the staged tree, each file renamed over its old copy."""
    staged_dirs: set[str] = set()
    staged_files: list[str] = []
    for folder, dirs, files in os.walk(stage):
        rel_folder = os.path.relpath(folder, stage)
        staged_dirs.update(os.path.normpath(os.path.join(rel_folder, d)) for d in dirs)
        staged_files.extend(
            os.path.normpath(os.path.join(rel_folder, f)) for f in files
        )

    # Folders first, then each file atomically
    for rel in sorted(staged_dirs, key=lambda r: r.count(os.sep)):
        target = os.path.join(dest, rel)
        if os.path.lexists(target) and (
            os.path.islink(target) or not os.path.isdir(target)
        ):
            remove_path(target)
        if not os.path.isdir(target):
            os.mkdir(target, 0o755)
            info = os.stat(os.path.join(stage, rel))
            os.chmod(target, stat.S_IMODE(info.st_mode))
            os.lchown(target, info.st_uid, info.st_gid)
    for rel in sorted(staged_files):
        target = os.path.join(dest, rel)
        if os.path.isdir(target) and not os.path.islink(target):
            remove_path(target)
        os.replace(os.path.join(stage, rel), target)

    # Anything else goes
    keep = staged_dirs | set(staged_files)
    for folder, dirs, files in os.walk(dest, topdown=False):
        for name in files + dirs:
            path = os.path.join(folder, name)
            if os.path.relpath(path, dest) not in keep:
                remove_path(path)
        fsync_dir(folder)


class Installer:
    """Carries out an InstallPlan, journaled step by step."""

    def __init__(
        self,
        p: InstallParams,
        layout: Layout,
        state: State,
        plan: InstallPlan,
        platform_name: str,
        selinux: SelinuxSetter | None,
    ) -> None:
        self.p = p
        self.layout = layout
        self.state = state
        self.plan = plan
        self.platform_name = platform_name
        self.selinux = selinux
        self.warnings: list[str] = []
        self.sha256 = plan.sha256_after
        self.restore_to = state.active

    def run(self) -> None:
        """Adopt, place, switch, record, prune: whatever the plan asks for."""
        try:
            if self.plan.adoption is not None:
                self.adopt(self.plan.adoption)
            self.restore_to = self.state.active
            if self.plan.action in ("install", "reinstall"):
                self.place()
            elif self.plan.action == "activate":
                self.activate()
        except BaseException:
            self.undo()
            raise
        self.prune()

    def undo(self) -> None:
        """After a failed step: `current` back where it was, the step undone."""
        layout = self.layout
        with contextlib.suppress(Exception):
            if layout.active_name() != self.restore_to:
                if self.restore_to is None:
                    remove_path(layout.current)
                else:
                    switch_symlink(layout.current, self.link_target(self.restore_to))
            recover(layout, load_state(layout))
        with contextlib.suppress(Exception):
            layout.clean_tmp()

    def link_target(self, name: str) -> str:
        """The relative target of `current` for a release."""
        return os.path.join("releases", name)

    def adopt(self, adoption: Adoption) -> None:
        """Keep a hand-installed executable as a release and make it active."""
        layout = self.layout
        record = ReleaseRecord(
            name=adoption.name,
            binary=layout.binary_name,
            files={layout.binary_name: adoption.sha256},
            installed_at=now(),
            adopted=True,
        )
        entry = journal.begin(
            layout,
            journal.JournalEntry(
                operation="adopt",
                target=adoption.name,
                previous=self.state.active,
                created_release=not adoption.reuse,
                record=record.to_json(),
                legacy_link=True,
            ),
        )
        if not adoption.reuse:
            with step(f"copying {layout.legacy_binary} into a release"):
                self.copy_legacy(adoption)
        journal.advance(layout, entry, "switch")
        with step(f"switching {layout.current} to {adoption.name}"):
            switch_symlink(layout.current, self.link_target(adoption.name))
        self.record(record, adoption.name, self.state.active, "adopt")
        with step(f"replacing {layout.legacy_binary} with a symlink"):
            switch_symlink(
                layout.legacy_binary, os.path.join("current", layout.binary_name)
            )
        journal.finish(layout)

    def copy_legacy(self, adoption: Adoption) -> None:
        """Copy the hand-installed executable into releases/<name>/."""
        layout = self.layout
        stage = layout.new_tmp("adopt-", directory=True)
        target = os.path.join(stage, layout.binary_name)
        with open(layout.legacy_binary, "rb") as source, open(target, "xb") as copy:
            _size, sha256 = copy_hashed(source, copy, 1 << 62, layout.legacy_binary)
            copy.flush()
            os.fsync(copy.fileno())
        if sha256 != adoption.sha256:
            raise AllfiOtaError(
                f"{layout.legacy_binary} changed while it was being adopted"
            )
        info = os.stat(layout.legacy_binary)
        os.chmod(target, stat.S_IMODE(info.st_mode) | 0o111)
        os.chown(target, info.st_uid, info.st_gid)
        os.chmod(stage, 0o755)
        fsync_dir(stage)
        os.rename(stage, layout.release_dir(adoption.name))
        fsync_dir(layout.releases_dir)
        apply_selinux(layout.release_dir(adoption.name), self.selinux)

    def place(self) -> None:
        """Download, verify, extract and place the wanted release, then switch."""
        layout, plan, p = self.layout, self.plan, self.p
        name = plan.version
        created = plan.action == "install"
        previous = self.state.active if plan.switch else self.state.previous
        entry = journal.begin(
            layout,
            journal.JournalEntry(
                operation="install",
                target=name,
                previous=previous,
                created_release=created,
                activate=p.activate,
            ),
        )
        with step(f"downloading {p.src}"):
            archive = fetch_archive(p, layout)
        with step(f"extracting {p.src}"):
            stage = layout.new_tmp("stage-", directory=True)
            extracted = extract_release(
                archive,
                stage,
                binary_name=layout.binary_name,
                max_size=p.max_size,
                platform_name=self.platform_name,
                expected_version=name,
            )
            remove_path(archive)
            apply_owner(stage, plan.uid, plan.gid)
        record = ReleaseRecord(
            name=name,
            binary=layout.binary_name,
            files=extracted.files,
            installed_at=now(),
            archive_sha256=p.checksum,
        )
        journal.advance(layout, entry, "place", record=record.to_json())

        # Place: a new folder appears at once; a kept one is updated file by file
        release_dir = layout.release_dir(name)
        with step(f"placing release {name} in {release_dir}"):
            if created:
                os.chmod(stage, 0o755)
                fsync_dir(stage)
                os.rename(stage, release_dir)
                fsync_dir(layout.releases_dir)
            else:
                sync_tree(stage, release_dir)
                remove_path(stage)
            apply_selinux(release_dir, self.selinux)
        self.sha256 = extracted.binary_sha256

        if p.activate:
            journal.advance(layout, entry, "switch")
            with step(f"switching {layout.current} to {name}"):
                switch_symlink(layout.current, self.link_target(name))
        self.record(record, name, previous, "install")
        journal.finish(layout)

    def activate(self) -> None:
        """Switch `current` to a kept, unchanged release."""
        layout, name = self.layout, self.plan.version
        journal.begin(
            layout,
            journal.JournalEntry(
                operation="activate", target=name, previous=self.state.active
            ),
        )
        with step(f"switching {layout.current} to {name}"):
            switch_symlink(layout.current, self.link_target(name))
        self.record(None, name, self.state.active, "install")
        journal.finish(layout)

    def record(
        self, record: ReleaseRecord | None, name: str, previous: str | None, action: str
    ) -> None:
        """Write the outcome of a step to state.json."""
        state = self.state
        if record is not None:
            state.releases[name] = record
        if self.layout.active_name() == name:
            if state.active != name:
                state.previous = previous
            state.active = name
            state.last_action = action
        with step(f"writing {self.layout.state_file}"):
            save_state(self.layout, state)

    def prune(self) -> None:
        """Remove the releases beyond keep_releases; a failure is only a warning."""
        for name in self.plan.prune:
            try:
                discard_release(self.layout, name)
            except OSError as error:
                self.warnings.append(f"could not remove release {name}: {error}")
                continue
            self.state.releases.pop(name, None)
        if self.plan.prune:
            with step(f"writing {self.layout.state_file}"):
                save_state(self.layout, self.state)


def recover(layout: Layout, state: State) -> str | None:
    """Finish or undo the operation a killed run left in the journal."""
    entry = journal.load(layout)
    if entry is None:
        layout.clean_tmp()
        return None
    active = layout.active_name()
    target_dir = layout.release_dir(entry.target)
    if entry.record is not None:
        recorded = ReleaseRecord.from_json(entry.target, entry.record)
        placed = os.path.isdir(target_dir) and not release_drift(
            layout, recorded, entry.target
        )
    else:
        recorded = None
        placed = os.path.isdir(target_dir)
    done = placed and (active == entry.target or not entry.activate)

    if done:
        if recorded is not None:
            state.releases[entry.target] = recorded
        if active == entry.target:
            if state.active != entry.target or state.previous != entry.previous:
                state.previous = entry.previous
            state.active = entry.target
            state.last_action = entry.operation
        if entry.legacy_link and layout.legacy_file():
            link = os.path.join("current", layout.binary_name)
            switch_symlink(layout.legacy_binary, link)
        message = f"finished the {entry.operation} of {entry.target}"
    else:
        if entry.created_release and active != entry.target:
            discard_release(layout, entry.target)
            state.releases.pop(entry.target, None)
        message = f"undid the {entry.operation} of {entry.target}"
    if state.previous == state.active:
        state.previous = None
    save_state(layout, state)
    layout.clean_tmp()
    journal.finish(layout)
    return f"{message} that an earlier run (process {entry.pid}) left unfinished"


def diff_of(plan: InstallPlan, sha256_after: str | None) -> dict:
    """Version and sha256 of the active executable, before and after."""
    before = {"version": plan.active_before, "sha256": plan.active_sha256}
    after = dict(before)
    if plan.switch or plan.active_before == plan.version:
        after = {"version": plan.version, "sha256": sha256_after}
    return {"before": before, "after": after}


def result_of(layout: Layout, plan: InstallPlan, sha256: str | None) -> dict:
    """The module's return values."""
    release_path = layout.release_dir(plan.version)
    return {
        "changed": plan.changed,
        "version": plan.version,
        "previous_version": plan.active_before,
        "release_path": release_path,
        "binary": os.path.join(release_path, layout.binary_name),
        "sha256": sha256,
        "pruned": plan.prune,
        "adopted": plan.adoption.name if plan.adoption else None,
        "drift": plan.drift,
    }


def run_install(
    params: dict,
    *,
    check_mode: bool,
    diff: bool,
    selinux: SelinuxSetter | None = None,
    platform_name: str | None = None,
) -> Outcome:
    """Install a release as params ask; raise AllfiOtaError on any failure."""
    p = InstallParams.from_params(params)
    layout = Layout(p.install_dir, p.binary_name)
    if platform_name is None:
        host = host_platform()
        if not host.supported:
            raise AllfiOtaError(
                f"platform check: AllFi ships no executable for this host"
                f" ({host.system} on CPU '{host.machine}')"
            )
        platform_name = host.name or ""
    try:
        outcome, plan = _install_locked(p, layout, check_mode, selinux, platform_name)
    except AllfiOtaError as error:
        active = _describe_active(layout)
        raise AllfiOtaError(
            f"installing AllFi {p.version.text} into {layout.install_dir} failed"
            f" and left the active release as it was ({active}): {error}"
        ) from None
    if diff:
        outcome.result["diff"] = diff_of(plan, outcome.result["sha256"])
    return outcome


def _install_locked(
    p: InstallParams,
    layout: Layout,
    check_mode: bool,
    selinux: SelinuxSetter | None,
    platform_name: str,
) -> tuple[Outcome, InstallPlan]:
    """Recover, plan and execute under the install_dir's lock."""
    warnings: list[str] = []
    with lock_for(layout, p.lock_timeout, check_mode):
        if check_mode and os.path.exists(layout.journal_file):
            warnings.append(
                "an earlier run left an operation unfinished in"
                f" {layout.journal_file}; the next run finishes or undoes it"
            )
        elif not check_mode:
            with step(f"recovering from {layout.journal_file}"):
                message = recover(layout, load_state(layout))
            if message:
                warnings.append(message)
        state = load_state(layout)
        plan = plan_install(p, layout, state, warnings)
        if check_mode or not plan.changed:
            result = result_of(layout, plan, plan.sha256_after)
            return Outcome(result, warnings), plan
        installer = Installer(p, layout, state, plan, platform_name, selinux)
        installer.run()
        result = result_of(layout, plan, installer.sha256)
        return Outcome(result, warnings + installer.warnings), plan


def _describe_active(layout: Layout) -> str:
    """The active release for a failure message."""
    try:
        name = layout.active_name()
    except AllfiOtaError as error:
        return str(error)
    if name is None:
        return "legacy file" if layout.legacy_file() else "none installed"
    return name


@contextlib.contextmanager
def lock_for(layout: Layout, timeout: float, check_mode: bool) -> Iterator[None]:
    """The install_dir's lock; check mode takes it only when its file exists."""
    if check_mode and not os.path.exists(layout.lock_file):
        yield
        return
    if not check_mode:
        with step(f"creating {layout.state_dir}"):
            layout.prepare()
    with InstallLock(layout.lock_file, timeout):
        yield
