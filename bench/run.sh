#!/usr/bin/env bash
# The allfi.ota benchmarks (`make bench`): ours beside a hand-written baseline on
# 5 and 20 local hosts and 5 systemd containers (when Docker answers), the
# release server's traffic, reruns, downtime, the broken canary and the install
# module's memory. Results go to bench/results/
# (results.json, results.md, rollout-time.png); details in bench/run.py.
# Usage: bench/run.sh [--sizes 5,20] [--keep-work] [--skip-memory]
#        [--skip-containers | --only containers]
# Needs root (the releases are installed root-owned, as on a real host) and gcc
# (the AllFi stand-in is C). About 10 to 15 minutes on 2 cores.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"

say() { printf 'bench: %s\n' "$*"; }
fail() { printf 'bench: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run the benchmarks as root: the releases are installed root-owned"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  say "create the virtual environment (make venv)"
  make -C "$repo" --no-print-directory venv
fi
if ! command -v gcc >/dev/null 2>&1 || [ "$(gcc -print-file-name=libc.a)" = libc.a ]; then
  say "install gcc and static libc to build the AllFi stand-in (make build-tools)"
  make -C "$repo" --no-print-directory build-tools
fi
link="$repo/.build/collections/ansible_collections/allfi/ota"
if [ ! -e "$link" ]; then
  say "link the collection at $link"
  mkdir -p "$(dirname "$link")"
  ln -sfn ../../../.. "$link"
fi
cd "$repo"
exec "$venv/bin/python" bench/run.py "$@"
