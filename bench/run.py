"""Benchmarks of allfi.ota beside the hand-written baseline, in one run.

On one fleet of local hosts (connection local, each its own folder and port,
AllFi run by allfi.ota.process) and the fixture releases served by the fake
GitHub on 127.0.0.1, for N = 5 and 20 hosts:
- wall time of a rollout from 1.1.0 to 1.2.0: ours (playbooks/upgrade.yml in one
  batch of 100%, and with the default canary batches for the step before) and the
  baseline (bench/baseline, each host downloading for itself);
- requests and bytes the release server served for each rollout (its log);
- wall time of a rerun at 1.2.0, ours and the baseline, beside `ansible -m ping`;
- per-host downtime during the 1.2.0 rollouts of 5 hosts (health polled at 20 Hz);
- time from the start of the canary of the broken 1.3.0 to the rollout stopping;
- peak memory of allfi.ota.install for 16/128/512 MiB executables
  (bench/install_memory.py);
- when Docker answers, the container fleet: 5 containers with systemd as PID 1
  (allfi-bc-01..05, options as in .config/molecule/config.yml, network host, each
  AllFi on its own port), 1.1.0 deployed by playbooks/deploy.yml, then the
  rollout to 1.2.0 timed for ours and for the baseline (restarting through
  systemd), the containers recreated between the two; always removed at the end.
Writes bench/results/results.json, results.md and rollout-time.png.

Run as root from the repository root (bench/run.sh prepares the environment):
    .venv/bin/python bench/run.py [--sizes 5,20] [--keep-work] [--skip-memory]
        [--skip-containers | --only containers]
--only containers measures the container fleet alone and merges its rows into
the results.json and results.md already in the results folder.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.chart import line_chart
from bench.stats import Sample, downtime, ratio, summary, traffic
from tests.fixtures.net import free_port

RESULTS = REPO / "bench" / "results"
CATALOG = REPO / ".build" / "bench" / "catalog"
BASELINE = REPO / "bench" / "baseline" / "upgrade.yml"
PLAYBOOKS = REPO / "playbooks"
VENV_BIN = REPO / ".venv" / "bin"
GITHUB_REPO = "your-finance/allfi"
PLATFORM = "linux-amd64"
DEPLOYED, FROM, TO, BROKEN = "1.0.0", "1.1.0", "1.2.0", "1.3.0"
DEFAULT_BATCHES = [1, "10%", "100%"]
ONE_BATCH = ["100%"]
FORKS = 5
POLL_HZ = 20
MASTER_KEY = "bench-master-key-not-a-secret"
IMAGE = "allfi-ota-test/systemd:bookworm"
CONTAINER_PREFIX = "allfi-bc"
CONTAINER_HOSTS = 5
# What makes systemd run as PID 1 here, as in .config/molecule/config.yml
# (--privileged is refused: the capability bounding set lacks CAP_SYS_RESOURCE).
CONTAINER_OPTIONS = [
    "--cap-add=SYS_ADMIN",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--cgroupns=host",
    "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
    "--network=host",
]
CONTAINER_INSTALL_DIR = "/opt/allfi"

_step = 0


def say(text: str) -> None:
    """Print one numbered line for a step of the benchmark."""
    global _step
    _step += 1
    print(f"bench {_step}: {text}", flush=True)


def machine() -> dict:
    """The machine the numbers come from."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    core = subprocess.run(
        [str(VENV_BIN / "python"), "-c", "import ansible; print(ansible.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible_core": core,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def build_catalog() -> dict[str, str]:
    """Build the fixture releases; return the linux-amd64 sha256 by version."""
    subprocess.run(
        [sys.executable, "-m", "tests.fixtures.releases", "--out", str(CATALOG)],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = json.loads((CATALOG / "catalog.json").read_text())
    return {
        release["version"]: asset["sha256"]
        for release in data["repos"][GITHUB_REPO]["releases"]
        for asset in release["assets"]
        if asset.get("platform") == PLATFORM
    }


class ReleaseServer:
    """The fake GitHub in a process of its own, logging every request to a file."""

    def __init__(self, work: Path) -> None:
        self.log = work / "logs" / "github-requests.jsonl"
        self.log.touch()
        port_file = work / "api-url"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fixtures.github_server",
                "--catalog",
                str(CATALOG),
                "--port-file",
                str(port_file),
                "--log",
                str(self.log),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(work / "logs" / "server.log").open("w"),
        )
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the fake GitHub did not start; see logs/server.log")
            time.sleep(0.05)
        self.api_url = port_file.read_text().strip()

    def mark(self) -> int:
        """Where the request log ends now."""
        return self.log.stat().st_size

    def since(self, mark: int) -> dict:
        """Traffic served since mark."""
        time.sleep(0.2)  # the last answer's line is written after its bytes
        with self.log.open() as handle:
            handle.seek(mark)
            return traffic(handle.read().splitlines())

    def stop(self) -> None:
        """Stop the server."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def probe(port: int, timeout: float = 0.25) -> Sample:
    """Ask one host for its health and, when healthy, its running version."""
    now = time.monotonic()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("GET", "/api/v1/health")
        answer = connection.getresponse()
        body = json.loads(answer.read() or b"{}")
        connection.close()
        data = body.get("data") or {}
        healthy = (
            answer.status == 200
            and body.get("code") == 0
            and data.get("status") == "ok"
            and (data.get("database") or {}).get("status") == "ok"
        )
        if not healthy:
            return Sample(now, False)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request(
            "GET", "/api/v1/system/version", headers={"Authorization": "Bearer bench"}
        )
        answer = connection.getresponse()
        body = json.loads(answer.read() or b"{}")
        connection.close()
        version = str((body.get("data") or {}).get("version", "")).lstrip("v")
        return Sample(time.monotonic(), answer.status == 200, version or None)
    except (OSError, ValueError, http.client.HTTPException):
        return Sample(now, False)


class HealthPoller(threading.Thread):
    """Poll every host at POLL_HZ from one background thread, keeping each answer."""

    def __init__(self, ports: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.ports = ports
        self.samples: dict[str, list[Sample]] = {host: [] for host in ports}
        self.halt = threading.Event()

    def run(self) -> None:
        period = 1 / POLL_HZ
        tick = time.monotonic()
        while not self.halt.is_set():
            for host, port in self.ports.items():
                self.samples[host].append(probe(port))
            tick += period
            self.halt.wait(max(0.0, tick - time.monotonic()))

    def stop(self) -> dict[str, list[Sample]]:
        """Stop polling; return the samples by host."""
        self.halt.set()
        self.join(timeout=10)
        return self.samples


@dataclass
class PlayRun:
    """One ansible run: wall seconds, exit code, and its output lines with times."""

    seconds: float
    rc: int
    lines: list[tuple[float, str]] = field(default_factory=list)

    def first(self, pattern: str) -> float | None:
        """Seconds from the start to the first line matching pattern."""
        for at, line in self.lines:
            if re.search(pattern, line):
                return at
        return None

    def count(self, pattern: str) -> int:
        """Number of output lines matching pattern."""
        return sum(1 for _when, line in self.lines if re.search(pattern, line))


@dataclass
class Fleet:
    """N local AllFi hosts under work/hosts, described by one inventory file."""

    work: Path
    server: ReleaseServer
    size: int
    ports: dict[str, int] = field(default_factory=dict)
    kind = "local"

    def __post_init__(self) -> None:
        self.ports = {f"bench-{i:02d}": free_port() for i in range(1, self.size + 1)}
        self.cache = self.work / f"cache-{self.size}"
        self.inventory = self.work / f"inventory-{self.size}.yml"
        hosts = {
            name: {
                "allfi_ota_install_dir": str(self.host_dir(name)),
                "allfi_ota_port": port,
                "allfi_dir": str(self.host_dir(name)),
                "allfi_port": port,
            }
            for name, port in self.ports.items()
        }
        settings = {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(VENV_BIN / "python"),
            "allfi_ota_service_manager": "process",
            "allfi_ota_user": "root",
            "allfi_ota_group": "root",
            "allfi_ota_create_user": False,
            "allfi_ota_api_url": self.server.api_url,
            "allfi_ota_controller_cache_dir": str(self.cache),
            "allfi_ota_failed_versions_file": str(self.work / "failed-versions.json"),
            "allfi_ota_report_dir": str(self.work / "reports"),
            "allfi_download_base": self.server.api_url,
            "allfi_master_key": MASTER_KEY,
        }
        self.inventory.write_text(
            json.dumps({"allfi": {"hosts": hosts, "vars": settings}}, indent=2)
        )

    def host_dir(self, name: str) -> Path:
        """The folder of one host: its install_dir, for ours and the baseline."""
        return self.work / "hosts" / name

    def reset(self) -> None:
        """Stop every AllFi of this benchmark and empty the hosts' folders."""
        stop_processes(self.work / "hosts")
        shutil.rmtree(self.work / "hosts", ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)

    def versions(self) -> dict[str, str | None]:
        """The version each host runs, healthy, or None."""
        found = {}
        for host, port in self.ports.items():
            sample = probe(port, timeout=2)
            found[host] = sample.version if sample.healthy else None
        return found


def docker(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the docker client; never raises for its exit code."""
    return subprocess.run(
        ["docker", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def docker_ready() -> str | None:
    """None when Docker answers and the systemd image is there; else why not."""
    try:
        if docker("info", timeout=30).returncode != 0:
            return "skipped: `docker info` does not answer"
    except (OSError, subprocess.TimeoutExpired):
        return "skipped: no docker client, or `docker info` does not answer"
    if docker("image", "inspect", IMAGE).returncode != 0:
        say(f"build the image {IMAGE} (tests/images/build.sh systemd, about 50 s)")
        built = subprocess.run(
            [str(REPO / "tests" / "images" / "build.sh"), "systemd"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            raise RuntimeError(
                f"tests/images/build.sh systemd failed: {built.stderr.strip()[-500:]}"
            )
    return None


@dataclass
class ContainerFleet(Fleet):
    """N containers with systemd as PID 1 on the host's network, AllFi on a port each.

    Reached with the community.docker.docker connection; AllFi is deployed by
    playbooks/deploy.yml as a systemd unit, so the baseline restarts it through
    systemd and replaces the binary the unit runs.
    """

    kind = "containers"

    def __post_init__(self) -> None:
        self.ports = {
            f"{CONTAINER_PREFIX}-{i:02d}": free_port() for i in range(1, self.size + 1)
        }
        self.cache = self.work / "cache-containers"
        self.inventory = self.work / "inventory-containers.yml"
        hosts = {
            name: {"allfi_ota_port": port, "allfi_port": port}
            for name, port in self.ports.items()
        }
        settings = {
            "ansible_connection": "community.docker.docker",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_pipelining": True,
            "allfi_ota_service_manager": "systemd",
            "allfi_ota_install_dir": CONTAINER_INSTALL_DIR,
            "allfi_ota_listen_host": "127.0.0.1",
            "allfi_ota_api_url": self.server.api_url,
            "allfi_ota_controller_cache_dir": str(self.cache),
            "allfi_ota_failed_versions_file": str(
                self.work / "failed-versions-containers.json"
            ),
            "allfi_ota_report_dir": str(self.work / "reports-containers"),
            "allfi_download_base": self.server.api_url,
            "allfi_dir": CONTAINER_INSTALL_DIR,
            "allfi_binary": f"{CONTAINER_INSTALL_DIR}/current/allfi",
            "allfi_restart_with": "systemd",
            "allfi_service": "allfi",
        }
        self.inventory.write_text(
            json.dumps({"allfi": {"hosts": hosts, "vars": settings}}, indent=2)
        )

    def reset(self) -> None:
        """Replace every container with a fresh one and wait for systemd to boot."""
        self.remove()
        shutil.rmtree(self.cache, ignore_errors=True)
        for name in self.ports:
            started = docker(
                "run",
                "--detach",
                f"--name={name}",
                f"--hostname={name}",
                *CONTAINER_OPTIONS,
                IMAGE,
                "/lib/systemd/systemd",
            )
            if started.returncode != 0:
                raise RuntimeError(
                    f"docker run {name} failed: {started.stderr.strip()}"
                )
        for name in self.ports:
            booted = docker(
                "exec",
                name,
                "timeout",
                "60",
                "systemctl",
                "is-system-running",
                "--wait",
            )
            state = booted.stdout.strip()
            if state not in ("running", "degraded"):
                raise RuntimeError(f"systemd in {name} did not boot: {state!r}")

    def remove(self) -> None:
        """Remove this fleet's containers, whatever state they are in."""
        docker("rm", "--force", "--volumes", *self.ports, timeout=180)


def stop_processes(root: Path) -> None:
    """SIGTERM, then SIGKILL, every process whose executable lies under root."""
    prefix = str(root) + os.sep

    def ours() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "exe").startswith(prefix):
                        pids.append(int(entry.name))
        return pids

    for pid in ours():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in ours():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class Runner:
    """Runs ansible-playbook and ansible on the fleet, logging each run."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.logs = work / "logs"
        self.env = dict(
            os.environ,
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
            ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_STDOUT_CALLBACK="default",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_HOST_KEY_CHECKING="0",
            ANSIBLE_FORKS=str(FORKS),
            PYTHONUNBUFFERED="1",
        )

    def run(self, name: str, argv: list[str]) -> PlayRun:
        """Run a command, timing it and each line of its output."""
        began = time.monotonic()
        lines = []
        with (self.logs / f"{name}.log").open("w") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.work,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            assert process.stdout is not None
            for line in process.stdout:
                at = time.monotonic() - began
                lines.append((at, line.rstrip("\n")))
                log.write(f"{at:8.3f} {line}")
            rc = process.wait()
        return PlayRun(time.monotonic() - began, rc, lines)

    def play(self, name: str, fleet: Fleet, playbook: Path, variables: dict) -> PlayRun:
        """ansible-playbook on the fleet with extra variables."""
        extra = self.logs / f"{name}.vars.json"
        extra.write_text(json.dumps(variables))
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory)]
        return self.run(name, [*argv, "-e", f"@{extra}", str(playbook)])

    def ping(self, name: str, fleet: Fleet) -> PlayRun:
        """ansible -m ping on the fleet."""
        argv = [str(VENV_BIN / "ansible"), "allfi", "-i", str(fleet.inventory)]
        return self.run(name, [*argv, "-m", "ansible.builtin.ping"])


class Bench:
    """The whole benchmark: its measurements, gathered into one results dict."""

    def __init__(self, work: Path, server: ReleaseServer, sha256: dict[str, str]):
        self.work = work
        self.server = server
        self.sha256 = sha256
        self.runner = Runner(work)
        self.rollouts: list[dict] = []
        self.reruns: list[dict] = []
        self.downtime: dict[str, dict] = {}
        self.canary: dict = {}
        self.containers_measured = False

    def must(self, run: PlayRun, name: str, what: str) -> PlayRun:
        """Stop the benchmark when a run that must succeed failed."""
        if run.rc != 0:
            raise RuntimeError(f"{what} failed (exit {run.rc}); see logs/{name}.log")
        return run

    def expect(self, fleet: Fleet, version: str, what: str) -> None:
        """Stop the benchmark unless every host runs version, healthy."""
        wrong = {h: v for h, v in fleet.versions().items() if v != version}
        if wrong:
            raise RuntimeError(f"after {what}, hosts not at {version}: {wrong}")

    def timed(
        self,
        fleet: Fleet,
        tool: str,
        name: str,
        playbook: Path,
        variables: dict,
        *,
        poll: bool = False,
        record: list[dict] | None = None,
        **extra: object,
    ) -> PlayRun:
        """Run one measured rollout; keep its time, traffic and load."""
        load = round(os.getloadavg()[0], 2)
        mark = self.server.mark()
        poller = HealthPoller(fleet.ports) if poll else None
        if poller:
            poller.start()
            time.sleep(0.5)
        run = self.runner.play(name, fleet, playbook, variables)
        if poller:
            time.sleep(0.5)
            samples = poller.stop()
            per_host = {
                host: downtime(found, FROM, TO) for host, found in samples.items()
            }
            self.downtime[tool] = {
                "n": fleet.size,
                **summary(per_host.values()),
                "hosts": per_host,
                "samples": sum(len(found) for found in samples.values()),
            }
        self.must(run, name, f"{tool} {name}")
        entry = {
            "n": fleet.size,
            "fleet": fleet.kind,
            "tool": tool,
            "seconds": round(run.seconds, 2),
            "traffic": self.server.since(mark),
            "load_average_before": load,
            **extra,
        }
        (self.rollouts if record is None else record).append(entry)
        return run

    def ours(self, fleet: Fleet, with_canary: bool) -> None:
        """Deploy, then time our rollouts, rerun and ping, and the broken canary."""
        n = fleet.size
        say(f"N={n}: reset the fleet; deploy {DEPLOYED} with playbooks/deploy.yml")
        fleet.reset()
        deploy = self.must(
            self.runner.play(
                f"ours-{n}-deploy",
                fleet,
                PLAYBOOKS / "deploy.yml",
                {"allfi_ota_version": DEPLOYED},
            ),
            f"ours-{n}-deploy",
            "the deployment",
        )
        self.expect(fleet, DEPLOYED, "the deployment")
        print(f"    deployed in {deploy.seconds:.1f} s", flush=True)

        say(f"N={n}: ours, {DEPLOYED} -> {FROM} in the default canary batches")
        run = self.timed(
            fleet,
            "ours-canary-batches",
            f"ours-{n}-upgrade-{FROM}",
            PLAYBOOKS / "upgrade.yml",
            {"allfi_ota_version": FROM, "allfi_ota_batches": DEFAULT_BATCHES},
            version_from=DEPLOYED,
            version_to=FROM,
            batches=DEFAULT_BATCHES,
        )
        self.expect(fleet, FROM, "the canary-batch rollout")
        print(f"    {run.seconds:.1f} s", flush=True)

        say(f"N={n}: ours, {FROM} -> {TO} in one batch of 100%")
        run = self.timed(
            fleet,
            "ours",
            f"ours-{n}-upgrade-{TO}",
            PLAYBOOKS / "upgrade.yml",
            {"allfi_ota_version": TO, "allfi_ota_batches": ONE_BATCH},
            poll=n == 5,
            version_from=FROM,
            version_to=TO,
            batches=ONE_BATCH,
        )
        self.expect(fleet, TO, "our rollout")
        print(f"    {run.seconds:.1f} s", flush=True)

        say(f"N={n}: ours, rerun at {TO}; then ansible -m ping")
        rerun = self.timed(
            fleet,
            "ours",
            f"ours-{n}-rerun",
            PLAYBOOKS / "upgrade.yml",
            {"allfi_ota_version": TO, "allfi_ota_batches": ONE_BATCH},
            record=self.reruns,
        )
        ping = self.must(self.runner.ping(f"ours-{n}-ping", fleet), "ping", "ping")
        self.reruns[-1]["ping_seconds"] = round(ping.seconds, 2)
        print(f"    rerun {rerun.seconds:.1f} s, ping {ping.seconds:.1f} s", flush=True)

        if with_canary:
            self.broken_canary(fleet)

    def broken_canary(self, fleet: Fleet) -> None:
        """Time the broken release's canary from its start to the rollout stopping."""
        n = fleet.size
        name = f"ours-{n}-upgrade-{BROKEN}"
        say(f"N={n}: ours, the broken {BROKEN} in the default batches (canary)")
        run = self.runner.play(
            name,
            fleet,
            PLAYBOOKS / "upgrade.yml",
            {"allfi_ota_version": BROKEN, "allfi_ota_batches": DEFAULT_BATCHES},
        )
        start = run.first(r"^PLAY \[Upgrade AllFi in batches")
        stopped = run.first(r"^PLAY \[Summarise the rollout\]")
        rolled_back = run.count(r'"bench-\d+\s+linux-amd64\s+\S+\s+\S+\s+rolled back"')
        untouched = run.count(r'"bench-\d+\s+linux-amd64\s+\S+\s+\S+\s+not reached"')
        if run.rc == 0 or start is None or stopped is None:
            raise RuntimeError(f"the broken {BROKEN} did not stop; see logs/{name}.log")
        if rolled_back != 1 or untouched != n - 1:
            raise RuntimeError(
                f"expected 1 host rolled back and {n - 1} not reached, got"
                f" {rolled_back} and {untouched}; see logs/{name}.log"
            )
        self.expect(fleet, TO, "the broken canary")
        self.canary = {
            "n": n,
            "version": BROKEN,
            "batches": DEFAULT_BATCHES,
            "canary_start_to_stop_seconds": round(stopped - start, 2),
            "canary_start_to_exit_seconds": round(run.seconds - start, 2),
            "whole_run_seconds": round(run.seconds, 2),
            "rolled_back": rolled_back,
            "not_reached": untouched,
        }
        print(
            f"    stopped {stopped - start:.1f} s after the canary started",
            flush=True,
        )

    def containers(self, fleet: ContainerFleet) -> None:
        """Deploy FROM on fresh containers, time ours to TO; again for the baseline."""
        n = fleet.size
        for tool in ("ours", "baseline"):
            say(
                f"containers N={n}: fresh containers; deploy {FROM} with"
                " playbooks/deploy.yml (systemd)"
            )
            fleet.reset()
            name = f"containers-{tool}-{n}-deploy"
            deploy = self.must(
                self.runner.play(
                    name, fleet, PLAYBOOKS / "deploy.yml", {"allfi_ota_version": FROM}
                ),
                name,
                "the deployment on the containers",
            )
            self.expect(fleet, FROM, "the deployment on the containers")
            print(f"    deployed in {deploy.seconds:.1f} s", flush=True)
            say(f"containers N={n}: {tool}, {FROM} -> {TO} in one batch")
            if tool == "ours":
                playbook = PLAYBOOKS / "upgrade.yml"
                variables: dict = {
                    "allfi_ota_version": TO,
                    "allfi_ota_batches": ONE_BATCH,
                }
                extra: dict = {"batches": ONE_BATCH}
            else:
                playbook = BASELINE
                variables = {"allfi_version": TO, "allfi_sha256": self.sha256[TO]}
                extra = {}
            run = self.timed(
                fleet,
                tool,
                f"containers-{tool}-{n}-upgrade-{TO}",
                playbook,
                variables,
                version_from=FROM,
                version_to=TO,
                **extra,
            )
            self.expect(fleet, TO, f"the {tool} rollout on the containers")
            print(f"    {run.seconds:.1f} s", flush=True)
        self.containers_measured = True

    def baseline(self, fleet: Fleet) -> None:
        """Set the fleet up with the baseline at FROM, then time it to TO and rerun."""
        n = fleet.size

        def variables(version: str) -> dict:
            return {"allfi_version": version, "allfi_sha256": self.sha256[version]}

        say(f"N={n}: reset the fleet; install {FROM} with the baseline")
        fleet.reset()
        self.must(
            self.runner.play(
                f"baseline-{n}-install-{FROM}", fleet, BASELINE, variables(FROM)
            ),
            f"baseline-{n}-install-{FROM}",
            "the baseline's first install",
        )
        self.expect(fleet, FROM, "the baseline's first install")

        say(f"N={n}: baseline, {FROM} -> {TO} (all hosts at once)")
        run = self.timed(
            fleet,
            "baseline",
            f"baseline-{n}-upgrade-{TO}",
            BASELINE,
            variables(TO),
            poll=n == 5,
            version_from=FROM,
            version_to=TO,
        )
        self.expect(fleet, TO, "the baseline's rollout")
        print(f"    {run.seconds:.1f} s", flush=True)

        say(f"N={n}: baseline, rerun at {TO}; then ansible -m ping")
        rerun = self.timed(
            fleet,
            "baseline",
            f"baseline-{n}-rerun",
            BASELINE,
            variables(TO),
            record=self.reruns,
        )
        ping = self.must(self.runner.ping(f"baseline-{n}-ping", fleet), "ping", "ping")
        self.reruns[-1]["ping_seconds"] = round(ping.seconds, 2)
        print(f"    rerun {rerun.seconds:.1f} s, ping {ping.seconds:.1f} s", flush=True)
        fleet.reset()


def install_memory(work: Path) -> list[dict]:
    """Run bench/install_memory.py; return its rows."""
    out = work / "install-memory.json"
    with (work / "logs" / "install-memory.log").open("w") as log:
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "install_memory.py"),
                "--json",
                str(out),
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if not out.exists():
        raise RuntimeError(
            "bench/install_memory.py failed; see logs/install-memory.log"
        )
    return json.loads(out.read_text())


def fleet_of(row: dict) -> str:
    """The fleet a row was measured on; rows from before the container fleet: local."""
    return row.get("fleet", "local")


def found(
    rows: list[dict], tool: str, n: int, kind: str = "local", what: str = "seconds"
) -> float | None:
    """Seconds (or bytes served) of the first row of tool on N hosts of a fleet."""
    for row in rows:
        if row["tool"] == tool and row["n"] == n and fleet_of(row) == kind:
            return row["traffic"]["bytes"] if what == "bytes" else row["seconds"]
    return None


def container_fleet(rows: list[dict], status: str | None) -> dict | str:
    """The container fleet's settings and ratios, or why it was not measured."""
    if status is not None:
        return status
    ratios = {
        "rollout": ratio(
            found(rows, "ours", CONTAINER_HOSTS, "containers"),
            found(rows, "baseline", CONTAINER_HOSTS, "containers"),
        ),
        "bytes_served": ratio(
            found(rows, "ours", CONTAINER_HOSTS, "containers", "bytes"),
            found(rows, "baseline", CONTAINER_HOSTS, "containers", "bytes"),
        ),
    }
    return {
        "n": CONTAINER_HOSTS,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "hosts": f"{CONTAINER_HOSTS} Docker containers of {IMAGE} with systemd as"
        " PID 1, network host, connection community.docker.docker with pipelining,"
        " allfi_ota_service_manager systemd, each AllFi on its own port",
        "procedure": f"for each tool: fresh containers, {FROM} deployed by"
        f" playbooks/deploy.yml (not timed), then the timed rollout to {TO}: ours"
        " in one batch of 100%, the baseline replacing the binary the unit runs and"
        " restarting it with ansible.builtin.systemd_service",
        "ratios_ours_over_baseline": ratios,
    }


def collect(
    bench: Bench,
    memory: list[dict],
    info: dict,
    seconds: float,
    containers: str | None,
) -> dict:
    """Everything measured, with the ratios ours / baseline."""

    def seconds_of(rows: list[dict], tool: str, n: int) -> float | None:
        return found(rows, tool, n)

    def bytes_of(rows: list[dict], tool: str, n: int) -> float | None:
        return found(rows, tool, n, what="bytes")

    sizes = sorted({row["n"] for row in bench.rollouts if fleet_of(row) == "local"})
    ratios = {
        str(n): {
            "rollout": ratio(
                seconds_of(bench.rollouts, "ours", n),
                seconds_of(bench.rollouts, "baseline", n),
            ),
            "rollout_canary_batches": ratio(
                seconds_of(bench.rollouts, "ours-canary-batches", n),
                seconds_of(bench.rollouts, "baseline", n),
            ),
            "rerun": ratio(
                seconds_of(bench.reruns, "ours", n),
                seconds_of(bench.reruns, "baseline", n),
            ),
            "bytes_served": ratio(
                bytes_of(bench.rollouts, "ours", n),
                bytes_of(bench.rollouts, "baseline", n),
            ),
        }
        for n in sizes
    }
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {
            "hosts": "local, connection local, allfi_ota_service_manager process",
            "forks": FORKS,
            "versions": {
                "deployed": DEPLOYED,
                "from": FROM,
                "to": TO,
                "broken": BROKEN,
            },
            "ours": "playbooks/upgrade.yml, role defaults (health: 3 successes, 1 s"
            " apart, timeout 60 s), archive fetched once on the controller",
            "baseline": "bench/baseline/upgrade.yml: get_url with checksum on each"
            " host, unarchive, copy, restart with allfi.ota.process, uri retries",
            "health_poll_hz": POLL_HZ,
        },
        "rollouts": bench.rollouts,
        "reruns": bench.reruns,
        "ratios_ours_over_baseline": ratios,
        "downtime": bench.downtime,
        "broken_canary": bench.canary,
        "install_memory": memory,
        "container_fleet": container_fleet(bench.rollouts, containers),
        "total_seconds": round(seconds, 1),
    }


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for the tables, or a dash."""
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(results: dict) -> str:
    """The results as Markdown tables."""
    info = results["machine"]
    lines = [
        "# allfi.ota benchmarks",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB,"
        f" Linux {info['kernel']}, Python {info['python']}, ansible-core"
        f" {info['ansible_core']}; load average at start"
        f" {info['load_average_at_start'][0]} (the machine was shared with other"
        " work: the 1-minute load average before each run is in the tables). Generated"
        f" {results['generated']} by `make bench` in {results['total_seconds']} s.",
        "",
        "Hosts: local, connection local, AllFi run by allfi.ota.process, forks"
        f" {results['settings']['forks']}. Ours: {results['settings']['ours']}."
        f" Baseline: {results['settings']['baseline']}.",
        "",
        "## Rollout (wall time, release server traffic)",
        "",
        "| N | fleet | tool | versions | batches | seconds | requests | downloads"
        " | bytes | load before |",
        "|---|-------|------|----------|---------|--------:|---------:|----------:"
        "|------:|---:|",
    ]
    for row in results["rollouts"]:
        batches = ", ".join(str(b) for b in row.get("batches", ["all at once"]))
        t = row["traffic"]
        lines.append(
            f"| {row['n']} | {fleet_of(row)} | {row['tool']} | {row['version_from']} to"
            f" {row['version_to']} | {batches} | {fmt(row['seconds'], 1)}"
            f" | {t['requests']} | {t['downloads']} | {t['bytes']:,}"
            f" | {row['load_average_before']} |"
        )
    lines += [
        "",
        "## Ratios ours / baseline (local hosts)",
        "",
        "| N | rollout, one batch | rollout, canary batches | rerun | bytes served |",
        "|---|---:|---:|---:|---:|",
    ]
    for n, row in results["ratios_ours_over_baseline"].items():
        lines.append(
            f"| {n} | {fmt(row['rollout'])} | {fmt(row['rollout_canary_batches'])}"
            f" | {fmt(row['rerun'])} | {fmt(row['bytes_served'])} |"
        )
    lines += [
        "",
        "## Rerun at the target version, beside `ansible -m ping`",
        "",
        "| N | tool | seconds | ping seconds | rerun / ping | requests | downloads"
        " | load before |",
        "|---|------|--------:|-------------:|-------------:|---------:|----------:"
        "|---:|",
    ]
    for row in results["reruns"]:
        lines.append(
            f"| {row['n']} | {row['tool']} | {fmt(row['seconds'], 1)}"
            f" | {fmt(row['ping_seconds'], 1)}"
            f" | {fmt(ratio(row['seconds'], row['ping_seconds']), 1)}"
            f" | {row['traffic']['requests']} | {row['traffic']['downloads']}"
            f" | {row['load_average_before']} |"
        )
    lines += [
        "",
        "## Downtime per host during the upgrade (health polled at"
        f" {results['settings']['health_poll_hz']} Hz)",
        "",
        "From the old process's last healthy answer to the new one's first; the"
        f" resolution is one poll, {1 / POLL_HZ:.2f} s. Polled during the timed"
        " rollouts of 5 hosts, for both tools.",
        "",
        "| tool | N | median s | max s | hosts measured |",
        "|------|---|---------:|------:|---------------:|",
    ]
    for tool, row in results["downtime"].items():
        lines.append(
            f"| {tool} | {row['n']} | {fmt(row['median'], 3)} | {fmt(row['max'], 3)}"
            f" | {row['count']} of {row['count'] + row['missing']} |"
        )
    canary = results["broken_canary"]
    if canary:
        lines += [
            "",
            "## A broken release stopped at the canary",
            "",
            "| N | version | canary start to rollout stopped, s | to exit, s"
            " | rolled back | not reached |",
            "|---|---------|---:|---:|---:|---:|",
            f"| {canary['n']} | {canary['version']}"
            f" | {fmt(canary['canary_start_to_stop_seconds'], 1)}"
            f" | {fmt(canary['canary_start_to_exit_seconds'], 1)}"
            f" | {canary['rolled_back']} | {canary['not_reached']} |",
        ]
    lines += [
        "",
        "## Peak memory of allfi.ota.install",
        "",
        "| executable MiB | source | peak RSS MiB | seconds |",
        "|---------------:|--------|-------------:|--------:|",
    ]
    for row in results["install_memory"]:
        lines.append(
            f"| {row['size_mib']} | {row['source']} | {fmt(row['peak_rss_mib'], 1)}"
            f" | {fmt(row['seconds'], 1)} |"
        )
    lines += ["", "## Container fleet", ""]
    containers = results["container_fleet"]
    if isinstance(containers, str):
        lines += [f"Container fleet: {containers}.", ""]
        return "\n".join(lines)
    ratios = containers["ratios_ours_over_baseline"]
    lines += [
        f"Hosts: {containers['hosts']}. Procedure: {containers['procedure']}. Rows"
        " with fleet `containers` in the rollout table above.",
        "",
        "| N | rollout ratio ours / baseline | bytes served ratio |",
        "|---|---:|---:|",
        f"| {containers['n']} | {fmt(ratios['rollout'])}"
        f" | {fmt(ratios['bytes_served'])} |",
        "",
    ]
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    """PNG of rollout wall time against N, ours beside the baseline."""
    names = {
        "ours": "allfi.ota, one batch of 100%",
        "baseline": "baseline, get_url on each host",
        "ours-canary-batches": "allfi.ota, canary batches 1, 10%, 100%",
    }
    series = {
        label: [
            (row["n"], row["seconds"])
            for row in results["rollouts"]
            if row["tool"] == tool and fleet_of(row) == "local"
        ]
        for tool, label in names.items()
    }
    line_chart(
        series,
        path,
        title="rollout time against N (local process hosts)",
        x_label="hosts (N)",
        y_label="seconds",
    )


def merge_containers(results: dict, new_rows: list[dict], status: str | None) -> dict:
    """results with its container rows and summary replaced by those of new_rows."""
    rows = [row for row in results["rollouts"] if fleet_of(row) != "containers"]
    rows += [row for row in new_rows if fleet_of(row) == "containers"]
    return {
        **results,
        "rollouts": rows,
        "container_fleet": container_fleet(rows, status),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20", help="fleet sizes, comma-separated")
    parser.add_argument("--results", default=str(RESULTS), help="folder for results")
    parser.add_argument("--keep-work", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--skip-memory", action="store_true", help="skip install memory"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--skip-containers", action="store_true", help="skip the container fleet"
    )
    which.add_argument(
        "--only",
        choices=["containers"],
        help="measure the container fleet alone and merge its rows into the"
        " results.json and results.md already in --results",
    )
    options = parser.parse_args(argv)
    sizes = [int(size) for size in options.sizes.split(",")]
    out = Path(options.results)
    if options.only and not (out / "results.json").exists():
        parser.error(f"--only containers needs {out / 'results.json'} to merge into")
    began = time.monotonic()
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="allfi-bn-"))
    (work / "logs").mkdir()
    print(
        f"bench: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB,"
        f" load {info['load_average_at_start'][0]}; work folder {work}",
        flush=True,
    )
    # SIGTERM unwinds like Ctrl-C, so that the finally below removes the containers.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = None
    containers: ContainerFleet | None = None
    try:
        say(f"build the fixture releases into {CATALOG}")
        sha256 = build_catalog()
        say("start the fake GitHub release server on 127.0.0.1")
        server = ReleaseServer(work)
        bench = Bench(work, server, sha256)
        memory: list[dict] = []
        if not options.only:
            for n in sizes:
                fleet = Fleet(work, server, n)
                bench.baseline(fleet)
                bench.ours(fleet, with_canary=n == min(sizes))
                fleet.reset()
            if not options.skip_memory:
                say(
                    "peak memory of allfi.ota.install, 16, 128, 512 MiB"
                    " (install_memory.py)"
                )
                memory = install_memory(work)
        status = "skipped: --skip-containers" if options.skip_containers else None
        status = status or docker_ready()
        if status is None:
            containers = ContainerFleet(work, server, CONTAINER_HOSTS)
            bench.containers(containers)
        else:
            say(f"container fleet: {status}")
        if options.only:
            results = merge_containers(
                json.loads((out / "results.json").read_text()), bench.rollouts, status
            )
        else:
            results = collect(bench, memory, info, time.monotonic() - began, status)
        out.mkdir(parents=True, exist_ok=True)
        say(f"write results.json, results.md and rollout-time.png into {out}")
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (out / "results.md").write_text(markdown(results))
        chart(results, out / "rollout-time.png")
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(
            f"bench: FAILED: {error} (work folder {work})", file=sys.stderr, flush=True
        )
        return 1
    except KeyboardInterrupt:
        print(f"bench: interrupted (work folder {work})", file=sys.stderr, flush=True)
        return 130
    finally:
        if containers:
            say(f"remove the containers {CONTAINER_PREFIX}-*")
            containers.remove()
        stop_processes(work / "hosts")
        if server:
            server.stop()
        if not options.keep_work:
            shutil.rmtree(work / "ansible-tmp", ignore_errors=True)
    quoted = [
        f"N={n} {fmt(r['rollout'])}"
        for n, r in results["ratios_ours_over_baseline"].items()
    ]
    if isinstance(results["container_fleet"], dict):
        ratios = results["container_fleet"]["ratios_ours_over_baseline"]
        quoted.append(f"containers N={CONTAINER_HOSTS} {fmt(ratios['rollout'])}")
    print(
        f"bench: done in {time.monotonic() - began:.0f} s; rollout time ours/baseline"
        f" {', '.join(quoted)}; results in {out}; logs in {work / 'logs'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
