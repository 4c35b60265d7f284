"""Peak memory of allfi.ota.install for large executables, from a file and over HTTP.

Builds releases whose linux-amd64 executable is padded to 16, 128 and 512 MiB
(the fixture builder's pad_to), installs each into a fresh install_dir by
running the module the way Ansible does (python -m with an arguments file),
once from a local path and once from the fake GitHub on 127.0.0.1, and reports
the peak resident memory of the module process (os.wait4's ru_maxrss).
Goal: under 100 MiB whatever the size.

Run from the repository root:
    .venv/bin/python bench/install_memory.py [--sizes 16,128,512] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
GOAL_MIB = 100
REPO_NAME = "bench/allfi-large"
POLL_SECONDS = 0.01

# The builder and the server run in processes of their own: a child forked from a
# process that once held a 512 MiB archive in memory would report that as its
# peak (ru_maxrss survives fork and exec).
BUILD = """
import json, sys
from pathlib import Path
from tests.fixtures.releases import ReleaseSpec, RepoSpec, build_catalog
catalog, repo, sizes = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
specs = [
    ReleaseSpec(f"1.{i}.0", platforms=("linux-amd64",), webapp=False, pad_to=s * 2**20)
    for i, s in enumerate(sizes)
]
build_catalog(catalog, {repo: RepoSpec(specs)})
"""


def env() -> dict:
    """Environment for the helper processes and the module."""
    paths = [str(REPO), str(REPO / ".build" / "collections")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def build(catalog: Path, sizes: list[int]) -> dict[int, dict]:
    """Build one release per size; return its linux-amd64 asset by size."""
    subprocess.run(
        [sys.executable, "-c", BUILD, str(catalog), REPO_NAME, json.dumps(sizes)],
        env=env(),
        check=True,
    )
    data = json.loads((catalog / "catalog.json").read_text())
    found = {}
    for size, release in zip(sizes, data["repos"][REPO_NAME]["releases"]):
        asset = release["assets"][0]
        found[size] = {**asset, "tag": release["tag"], "version": release["version"]}
    return found


def start_server(catalog: Path, work: Path) -> tuple[subprocess.Popen, str]:
    """Start the fake GitHub in its own process; return it and its API URL."""
    port_file = work / "port"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fixtures.github_server",
            "--catalog",
            str(catalog),
            "--port-file",
            str(port_file),
        ],
        env=env(),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("the fake GitHub did not start")
        time.sleep(0.05)
    return server, port_file.read_text().strip()


def high_water_kib(pid: int) -> int:
    """VmHWM of a live process: its peak resident memory since exec, in KiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_module(args: dict, work: Path) -> tuple[dict, int, int, float]:
    """Run allfi.ota.install once: result, VmHWM and ru_maxrss in KiB, seconds."""
    args_file = work / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    out_file = work / "out.json"
    module = "ansible_collections.allfi.ota.plugins.modules.install"
    began = time.monotonic()
    with out_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(args_file)],
            env=env(),
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        peak = 0
        while True:
            peak = max(peak, high_water_kib(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(POLL_SECONDS)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - began
    return json.loads(out_file.read_text()), peak, usage.ru_maxrss, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,128,512", help="executable sizes in MiB")
    parser.add_argument(
        "--catalog", default=str(REPO / ".build" / "bench" / "install-catalog")
    )
    parser.add_argument("--json", help="also write the measurements to this file")
    options = parser.parse_args(argv)
    sizes = [int(s) for s in options.sizes.split(",")]

    print(f"building releases of {', '.join(f'{s} MiB' for s in sizes)}", flush=True)
    catalog = Path(options.catalog)
    assets = build(catalog, sizes)

    rows = []
    work = Path(tempfile.mkdtemp(prefix="allfi-in-bench-"))
    server, api_url = start_server(catalog, work)
    try:
        for size in sizes:
            asset = assets[size]
            sources = {
                "file": str(catalog / asset["path"]),
                "http": f"{api_url}/{REPO_NAME}/releases/download/{asset['tag']}"
                f"/{asset['name']}",
            }
            for kind, src in sources.items():
                root = work / f"opt-{size}-{kind}"
                args = {
                    "src": src,
                    "checksum": "sha256:" + asset["sha256"],
                    "version": asset["version"],
                    "install_dir": str(root),
                    "max_size": 2 * 1024 * MIB,
                }
                result, hwm_kib, maxrss_kib, seconds = run_module(args, work)
                if result.get("failed"):
                    print(f"{size} MiB from {kind}:", result["msg"], file=sys.stderr)
                    return 1
                peak = max(hwm_kib, maxrss_kib) / 1024
                rows.append(
                    {
                        "size_mib": size,
                        "source": kind,
                        "peak_rss_mib": round(peak, 1),
                        "vm_hwm_mib": round(hwm_kib / 1024, 1),
                        "ru_maxrss_mib": round(maxrss_kib / 1024, 1),
                        "seconds": round(seconds, 2),
                    }
                )
                print(
                    f"{size:>4} MiB executable from {kind:<4}:"
                    f" peak RSS {peak:6.1f} MiB in {seconds:5.1f} s",
                    flush=True,
                )
                shutil.rmtree(root)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=2) + "\n")
    worst = max(row["peak_rss_mib"] for row in rows)
    verdict = "within" if worst < GOAL_MIB else "OVER"
    print(f"peak RSS at most {worst:.1f} MiB: {verdict} the {GOAL_MIB} MiB goal")
    return 0 if worst < GOAL_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
