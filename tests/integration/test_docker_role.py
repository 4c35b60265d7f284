"""The allfi_ota_docker role end to end on the local Docker engine.

Runs playbooks/docker.yml with ansible-playbook against this machine (connection
local) and the fake GitHub on loopback: deploy 1.0.0, upgrade to 1.2.0, try the
broken 1.3.0 (it exits at start) and see the rollback, then rerun 1.2.0 and see
nothing change. The published port is bound to 127.0.0.1 and is the only
address the test talks to.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.net import free_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "docker.yml"
BUSYBOX_BUILD = REPO / "tests" / "images" / "busybox" / "build.sh"
BASE_IMAGE = (
    os.environ.get("ALLFI_OTA_IMAGE_PREFIX", "allfi-ota-test") + "/busybox:local"
)
HOST = "docker-host"
RECAP = re.compile(
    rf"^{HOST}\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, timeout=120
    )


@dataclass
class Run:
    """One ansible-playbook run: exit code, output and the recap counters."""

    rc: int
    output: str
    changed: int
    failed: int


@dataclass
class DockerProject:
    """The names and paths one test gives the role, and how to run it."""

    name: str
    project_dir: Path
    port: int
    workdir: Path
    api_url: str

    @property
    def image_name(self) -> str:
        return f"{self.name}/allfi"

    @property
    def volume(self) -> str:
        return f"{self.name}-data"

    def extra_vars(self, version: str) -> dict:
        return {
            "allfi_ota_target": HOST,
            "allfi_ota_docker_version": version,
            "allfi_ota_docker_api_url": self.api_url,
            "allfi_ota_docker_download_dir": str(self.workdir / "cache"),
            "allfi_ota_docker_project_dir": str(self.project_dir),
            "allfi_ota_docker_project_name": self.name,
            "allfi_ota_docker_container_name": self.name,
            "allfi_ota_docker_volume_name": self.volume,
            "allfi_ota_docker_image_name": self.image_name,
            "allfi_ota_docker_base_image": BASE_IMAGE,
            "allfi_ota_docker_port": self.port,
            "allfi_ota_docker_bind_address": "127.0.0.1",
            "allfi_ota_docker_health_interval": "1s",
            "allfi_ota_docker_health_timeout": 60,
        }

    def play(self, version: str, *options: str) -> Run:
        """Run playbooks/docker.yml at this version, verbose, and parse the recap."""
        inventory = self.workdir / "inventory.ini"
        python = f"ansible_python_interpreter={sys.executable}"
        inventory.write_text(f"{HOST} ansible_connection=local {python}\n")
        variables = self.workdir / f"vars-{version}.json"
        variables.write_text(json.dumps(self.extra_vars(version)))
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_STDOUT_CALLBACK="default",
            ANSIBLE_LOCAL_TEMP=str(self.workdir / "ansible-tmp"),
        )
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-v",
                "-i",
                str(inventory),
                "-e",
                f"@{variables}",
                *options,
                str(PLAYBOOK),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=600,
            cwd=self.workdir,
        )
        output = done.stdout + done.stderr
        recap = RECAP.search(output)
        assert recap, f"no PLAY RECAP for {HOST} in:\n{output[-3000:]}"
        return Run(done.returncode, output, int(recap["changed"]), int(recap["failed"]))

    def container(self) -> dict:
        """docker inspect of the AllFi container."""
        return json.loads(_docker("container", "inspect", self.name).stdout)[0]

    def health(self) -> dict:
        """AllFi's health answer through the published port on 127.0.0.1."""
        url = f"http://127.0.0.1:{self.port}/api/v1/health"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)

    def master_key(self) -> str:
        """The key in .env (read here, as the test owns the machine)."""
        for line in (self.project_dir / ".env").read_text().splitlines():
            if line.startswith("ALLFI_MASTER_KEY="):
                return line.split("=", 1)[1]
        raise AssertionError(".env has no ALLFI_MASTER_KEY line")

    def marker(self) -> str:
        """The file the test wrote into the data volume, read in the container."""
        return _docker("exec", self.name, "cat", "/app/data/marker.txt").stdout


@pytest.fixture(scope="session")
def busybox_image():
    """The local base image, built from Debian's busybox-static when missing."""
    if _docker("info", check=False).returncode != 0:
        pytest.skip("no Docker engine answers (make docker starts one)")
    subprocess.run([str(BUSYBOX_BUILD)], check=True, timeout=600)
    return BASE_IMAGE


@pytest.fixture
def docker_project(busybox_image, github, tmp_path):
    """Unique names for one test; removes its containers, images and volume after."""
    name = f"allfi-dk-{uuid.uuid4().hex[:8]}"
    project = DockerProject(
        name=name,
        project_dir=tmp_path / "project",
        port=free_port(),
        workdir=tmp_path,
        api_url=github.api_url,
    )
    yield project

    # Remove what the role made, whatever state the test left
    _docker("rm", "--force", name, check=False)
    listed = _docker(
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        f"reference={project.image_name}",
    )
    for tag in listed.stdout.split():
        _docker("image", "rm", tag, check=False)
    _docker("volume", "rm", "--force", project.volume, check=False)
    _docker("network", "rm", f"{name}_default", check=False)


def test_deploy_upgrade_rollback_and_rerun(docker_project):
    project = docker_project

    # Check mode on a fresh host reports the deployment and touches nothing
    run = project.play("1.0.0", "--check")
    assert run.rc == 0, run.output
    assert run.changed == 1
    assert not project.project_dir.exists()

    # Deploy 1.0.0
    run = project.play("1.0.0")
    assert run.rc == 0, run.output
    container = project.container()
    assert container["Config"]["Image"] == f"{project.image_name}:1.0.0"
    assert container["State"]["Health"]["Status"] == "healthy"
    assert project.health()["data"]["version"] == "1.0.0"
    env_file = project.project_dir / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    key = project.master_key()
    assert len(key) == 44
    outputs = [run.output]

    # The container runs hardened, its data on the named volume
    assert container["Config"]["User"] == "10001:10001"
    assert "no-new-privileges:true" in container["HostConfig"]["SecurityOpt"]
    assert container["HostConfig"]["Memory"] == 512 * 1024 * 1024
    assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    bindings = container["HostConfig"]["PortBindings"]["8080/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(project.port)}]
    volumes = {m["Destination"]: m.get("Name") for m in container["Mounts"]}
    assert volumes["/app/data"] == project.volume
    _docker("exec", project.name, "sh", "-c", "echo kept > /app/data/marker.txt")

    # Upgrade to 1.2.0: new tag, new container, same volume and key
    run = project.play("1.2.0")
    assert run.rc == 0, run.output
    outputs.append(run.output)
    assert project.container()["Config"]["Image"] == f"{project.image_name}:1.2.0"
    assert project.health()["data"]["version"] == "1.2.0"
    assert project.marker() == "kept\n"
    assert project.master_key() == key

    # The broken 1.3.0 exits at start: rolled back to 1.2.0, and the run fails
    run = project.play("1.3.0")
    outputs.append(run.output)
    assert run.rc != 0
    assert run.failed == 1
    assert (
        "AllFi 1.3.0 failed on docker-host, so it was rolled back to 1.2.0"
        in run.output
    )
    container = project.container()
    assert container["Config"]["Image"] == f"{project.image_name}:1.2.0"
    assert container["State"]["Health"]["Status"] == "healthy"
    assert project.health()["data"]["version"] == "1.2.0"
    assert project.marker() == "kept\n"
    assert project.master_key() == key

    # Rerun at 1.2.0: nothing changes, in check mode or for real
    for options in (("--check",), ()):
        run = project.play("1.2.0", *options)
        outputs.append(run.output)
        assert run.rc == 0, run.output
        assert run.changed == 0, run.output
    assert project.container()["Id"] == container["Id"]
    assert project.master_key() == key
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    # The master key never appears in the (verbose) output
    assert all(key not in output for output in outputs)
