"""allfi.ota.install, rollback and host_info in real ansible-playbook runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.plugins.module_utils.install_support import sha256_of

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
REPO_NAME = "your-finance/allfi"


def asset(catalog: Path, version: str, repo: str = REPO_NAME) -> dict:
    """The linux-amd64 asset of a release in the fixture catalog."""
    data = json.loads((catalog / "catalog.json").read_text())
    release = next(
        r for r in data["repos"][repo]["releases"] if r["tag"] == "v" + version
    )
    found = next(a for a in release["assets"] if a["platform"] == "linux-amd64")
    return {
        **found,
        "file": catalog / found["path"],
        "checksum": "sha256:" + found["sha256"],
    }


def binary_sha256(archive: Path) -> str:
    import tarfile

    with tarfile.open(archive) as tar:
        member = next(m for m in tar if m.name.endswith("/allfi"))
        import hashlib

        return hashlib.sha256(tar.extractfile(member).read()).hexdigest()


def play(tmp_path: Path, tasks: list[dict], diff: bool = False):
    """Run tasks on localhost; return the registered results by name and the output."""
    names = []
    for index, task in enumerate(tasks):
        task.setdefault("register", f"r{index}")
        task.setdefault("ignore_errors", True)
        names.append(task["register"])
    results_file = tmp_path / "results.json"
    collect = ", ".join(f"'{n}': {n}" for n in names)
    tasks.append(
        {
            "name": "Save the results",
            "ansible.builtin.copy": {
                "content": "{{ {" + collect + "} | to_json }}",
                "dest": str(results_file),
                "mode": "0600",
            },
            "check_mode": False,
            "diff": False,
        }
    )
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(
        yaml.safe_dump(
            [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}],
            sort_keys=False,
        )
    )
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
    )
    command = [
        str(PLAYBOOK),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        str(playbook),
    ]
    if diff:
        command.append("--diff")
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert results_file.exists(), done.stdout + done.stderr
    return json.loads(results_file.read_text()), done.stdout


def install_task(root, src, checksum, version, **extra):
    return {
        "name": f"Install AllFi {version}",
        "allfi.ota.install": {
            "src": str(src),
            "checksum": checksum,
            "version": version,
            "install_dir": str(root),
            **extra,
        },
    }


def changed(results, *names):
    return [results[n]["changed"] for n in names]


def test_check_apply_check_apply_from_github(tmp_path, github, release_catalog):
    root = tmp_path / "opt" / "allfi"
    a = asset(release_catalog, "1.1.0")
    url = github.browser_download_url(REPO_NAME, "v1.1.0", a["name"])
    task = install_task(root, url, a["checksum"], "v1.1.0")
    tasks = [
        {**task, "check_mode": True, "register": "check1"},
        {**task, "register": "apply1"},
        {**task, "check_mode": True, "register": "check2"},
        {**task, "register": "apply2"},
        {
            "name": "Read host facts",
            "allfi.ota.host_info": {"install_dir": str(root)},
            "register": "info",
        },
    ]
    results, output = play(tmp_path, tasks, diff=True)
    assert changed(results, "check1", "apply1", "check2", "apply2") == [
        True,
        True,
        False,
        False,
    ]
    assert results["check1"]["sha256"] is None
    expected = binary_sha256(a["file"])
    assert results["apply1"]["sha256"] == expected
    assert results["apply2"]["sha256"] == expected
    assert github.downloads(a["name"]) == 1
    info = results["info"]
    assert (info["platform"], info["version"], info["sha256"]) == (
        "linux-amd64",
        "1.1.0",
        expected,
    )
    assert info["drift"] is False
    assert info["releases"] == ["1.1.0"]
    assert info["free_bytes"] > 0
    assert '"sha256": "' + expected in output or expected in output


def test_upgrade_rollback_and_idempotent_rollback(tmp_path, release_catalog):
    root = tmp_path / "allfi"
    old, new = asset(release_catalog, "1.1.0"), asset(release_catalog, "1.2.0")
    rollback = {"name": "Roll back", "allfi.ota.rollback": {"install_dir": str(root)}}
    tasks = [
        install_task(root, old["file"], old["checksum"], "1.1.0"),
        {
            **install_task(root, new["file"], new["checksum"], "1.2.0"),
            "register": "upgrade",
        },
        {**rollback, "check_mode": True, "register": "rb_check"},
        {**rollback, "register": "rb1"},
        {**rollback, "register": "rb2"},
        {
            **install_task(root, old["file"], old["checksum"], "1.1.0"),
            "register": "downgrade",
        },
        {
            "name": "Facts",
            "allfi.ota.host_info": {"install_dir": str(root)},
            "register": "info",
        },
    ]
    results, _output = play(tmp_path, tasks)
    assert results["upgrade"]["previous_version"] == "1.1.0"
    assert changed(results, "rb_check", "rb1", "rb2") == [True, True, False]
    assert results["rb1"]["rolled_back_from"] == "1.2.0"
    assert results["rb1"]["version"] == "1.1.0"
    assert results["downgrade"]["changed"] is False
    assert results["info"]["version"] == "1.1.0"
    assert results["info"]["previous_version"] == "1.2.0"
    assert sha256_of(root / "current" / "allfi") == binary_sha256(old["file"])


def test_drift_is_seen_and_repaired(tmp_path, release_catalog):
    root = tmp_path / "allfi"
    a = asset(release_catalog, "1.2.0")
    task = install_task(root, a["file"], a["checksum"], "1.2.0")
    info = {"name": "Facts", "allfi.ota.host_info": {"install_dir": str(root)}}
    tasks = [
        task,
        {
            "name": "Overwrite the executable like the in-app updater",
            "ansible.builtin.shell": f"printf 'other build' > {root}/current/allfi",
        },
        {**info, "register": "drifted"},
        {**task, "register": "repair"},
        {**info, "register": "repaired"},
    ]
    results, _output = play(tmp_path, tasks)
    assert results["drifted"]["drift"] is True
    assert results["drifted"]["drifted_files"] == ["allfi"]
    assert results["repair"]["changed"] is True
    assert results["repair"]["drift"] == ["allfi"]
    assert results["repaired"]["drift"] is False
    assert sha256_of(root / "current" / "allfi") == binary_sha256(a["file"])


def test_private_download_sends_headers_to_github_only(
    tmp_path, github, release_catalog
):
    root = tmp_path / "allfi"
    repo = "your-finance/allfi-private"
    a = asset(release_catalog, "1.1.0", repo=repo)
    url = f"{github.api_url}/repos/{repo}/releases/assets/{a['id']}"
    headers = {
        "Authorization": "Bearer ghp_fixture_token",
        "Accept": "application/octet-stream",
    }
    tasks = [
        {
            **install_task(root, url, a["checksum"], "1.1.0", headers=headers),
            "register": "private",
        }
    ]
    results, output = play(tmp_path, tasks)
    assert results["private"]["changed"] is True, results["private"]
    assert "ghp_fixture_token" not in output
    assert "ghp_fixture_token" not in json.dumps(results)
    objects = [r for r in github.requests if r.server == "objects"]
    assert objects
    assert all("authorization" not in r.headers for r in objects)
    assert all(
        "accept" not in r.headers or "octet" not in r.headers["accept"] for r in objects
    )


def test_failures_leave_the_active_release(tmp_path, github, release_catalog):
    root = tmp_path / "allfi"
    old, new = asset(release_catalog, "1.1.0"), asset(release_catalog, "1.2.0")
    url = github.browser_download_url(REPO_NAME, "v1.2.0", new["name"])
    github.inject(r"/objects/.*", status=200, times=20, truncate=True)
    tasks = [
        install_task(root, old["file"], old["checksum"], "1.1.0"),
        {**install_task(root, url, new["checksum"], "1.2.0"), "register": "truncated"},
        {
            **install_task(root, new["file"], old["checksum"], "1.2.0"),
            "register": "mismatch",
        },
        {
            **install_task(root, new["file"], new["checksum"], "1.3.0"),
            "register": "wrong_version",
        },
    ]
    results, _output = play(tmp_path, tasks)
    assert results["truncated"]["failed"] is True
    assert "announced" in results["truncated"]["msg"]
    assert "(1.1.0)" in results["truncated"]["msg"]
    assert results["mismatch"]["failed"] is True
    assert "checksum check" in results["mismatch"]["msg"]
    assert "holds version 1.2.0, not 1.3.0" in results["wrong_version"]["msg"]
    assert os.readlink(root / "current") == "releases/1.1.0"
    assert sorted(os.listdir(root / "releases")) == ["1.1.0"]
    assert os.listdir(root / ".allfi-ota" / "tmp") == []


def test_hand_installed_host_is_adopted(tmp_path, release_catalog):
    root = tmp_path / "allfi"
    root.mkdir()
    old, new = asset(release_catalog, "1.1.0"), asset(release_catalog, "1.2.0")
    import tarfile

    with tarfile.open(old["file"]) as tar:
        member = next(m for m in tar if m.name.endswith("/allfi"))
        (root / "allfi").write_bytes(tar.extractfile(member).read())
    (root / "allfi").chmod(0o755)
    (root / "VERSION").write_text("1.1.0\n")
    tasks = [
        {
            "name": "Facts",
            "allfi.ota.host_info": {"install_dir": str(root)},
            "register": "before",
        },
        {
            **install_task(root, new["file"], new["checksum"], "1.2.0"),
            "register": "adopt",
        },
        {
            "name": "Back",
            "allfi.ota.rollback": {"install_dir": str(root)},
            "register": "back",
        },
    ]
    results, _output = play(tmp_path, tasks)
    assert results["before"]["unmanaged_binary"] == str(root / "allfi")
    assert results["before"]["unmanaged_version"] == "1.1.0"
    assert results["adopt"]["adopted"] == "1.1.0"
    assert results["adopt"]["previous_version"] == "1.1.0"
    assert results["back"]["version"] == "1.1.0"
    assert os.readlink(root / "allfi") == "current/allfi"
    assert sha256_of(root / "allfi") == binary_sha256(old["file"])
