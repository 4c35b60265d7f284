#!/usr/bin/env bash
# The allfi.ota demonstration, with no Docker and no GitHub: five AllFi hosts
# on this machine (connection local, each its own folder and port, run by the
# collection's process manager) get their releases from a fake GitHub on
# 127.0.0.1. Steps: build the fixture releases, start the release server,
# deploy 1.0.0, roll a canary upgrade to 1.2.0, try the broken 1.3.0 (it exits
# at start: the canary is rolled back and the rollout stops), print the status.
# Every AllFi process and the server are stopped at the end, even on failure.
# Usage: scripts/demo.sh   (or `make demo`). ALLFI_DEMO_DIR=DIR keeps the files
# there instead of a new folder under /tmp. Needs root (the releases are
# installed root-owned, as on a real host) and gcc (the stand-in is C).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"
hosts=(allfi-1 allfi-2 allfi-3 allfi-4 allfi-5)
step=0
server_pid=""

say() { step=$((step + 1)); printf 'demo %d: %s\n' "$step" "$*"; }
fail() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "run the demo as root: the releases are installed root-owned"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  say "create the virtual environment (make venv)"
  make -C "$repo" --no-print-directory venv
fi
if ! command -v gcc >/dev/null 2>&1; then
  say "install gcc to build the AllFi stand-in (make build-tools)"
  make -C "$repo" --no-print-directory build-tools
fi
link="$repo/.build/collections/ansible_collections/allfi/ota"
mkdir -p "$(dirname "$link")"
[ -e "$link" ] || ln -sfn ../../../.. "$link"

work=${ALLFI_DEMO_DIR:-$(mktemp -d /tmp/allfi-ota-demo.XXXXXX)}
mkdir -p "$work/logs"
reports="$work/reports"
python="$venv/bin/python"
export ANSIBLE_COLLECTIONS_PATH="$repo/.build/collections"
export ANSIBLE_LOCAL_TEMP="$work/ansible-tmp"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_STDOUT_CALLBACK=default
export ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOST_KEY_CHECKING=0

# --- clean-up, on success and on failure ------------------------------------------
stop_all() {
  local pidfile pid
  for host in "${hosts[@]}"; do
    pidfile="$work/hosts/$host/run/allfi.pid"
    [ -f "$pidfile" ] || continue
    pid=$(head -n1 "$pidfile")
    # Only a process whose executable is one of this demo's releases.
    if [ -n "$pid" ] && readlink "/proc/$pid/exe" 2>/dev/null | grep -q "^$work/hosts/$host/"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

cleanup() {
  local status=$?
  stop_all
  rm -rf "$work/ansible-tmp"
  if [ "$status" -ne 0 ]; then
    printf 'demo: stopped every AllFi process and the release server; logs are in %s\n' "$work/logs" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Print the table of the last summary (or status) in a playbook log.
table() {
  awk -v marker="$2" '
    index($0, marker) { found = 1; lines = ""; next }
    found && /"msg": \[/ { inside = 1; next }
    inside && /^ *\]/ { inside = 0; found = 0; last = lines; next }
    inside { line = $0; sub(/^ *"/, "", line); sub(/",?$/, "", line); lines = lines "    " line "\n" }
    END { printf "%s", last }
  ' "$1"
}

play() {
  local log="$work/logs/$1.log"
  shift
  (cd "$work" && "$venv/bin/ansible-playbook" -i "$work/inventory.yml" "$@") >"$log" 2>&1
}

# --- the demonstration -------------------------------------------------------------
say "build the fixture releases (1.0.0 to 1.5.0; 1.3.0 exits at start) into $repo/.build/demo/catalog"
(cd "$repo" && "$python" -m tests.fixtures.releases --out "$repo/.build/demo/catalog") \
  >"$work/logs/releases.log" 2>&1 || fail "building the releases failed; see $work/logs/releases.log"

say "start the fake GitHub release server on 127.0.0.1"
rm -f "$work/api-url"
(cd "$repo" && exec "$python" -m tests.fixtures.github_server --catalog "$repo/.build/demo/catalog" \
  --port-file "$work/api-url" --log "$work/logs/github-requests.jsonl") >"$work/logs/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$work/api-url" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the release server exited; see $work/logs/server.log"
  sleep 0.1
done
[ -s "$work/api-url" ] || fail "the release server did not start within 10 s"
api_url=$(cat "$work/api-url")

say "write an inventory of five local hosts into $work/inventory.yml"
"$python" - "$work" "$api_url" "$repo" "${hosts[@]}" <<'PY'
import json, socket, sys
work, api_url, repo, *names = sys.argv[1:]
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
hosts = {
    name: {"allfi_ota_install_dir": f"{work}/hosts/{name}", "allfi_ota_port": free_port()}
    for name in names
}
settings = {
    "ansible_connection": "local",
    "ansible_python_interpreter": f"{repo}/.venv/bin/python",
    "allfi_ota_service_manager": "process",
    "allfi_ota_user": "root",
    "allfi_ota_group": "root",
    "allfi_ota_create_user": False,
    "allfi_ota_api_url": api_url,
    "allfi_ota_health_timeout": 15,
    "allfi_ota_health_successes": 2,
    "allfi_ota_controller_cache_dir": f"{work}/cache",
    "allfi_ota_failed_versions_file": f"{work}/failed-versions.json",
    "allfi_ota_report_dir": f"{work}/reports",
}
with open(f"{work}/inventory.yml", "w") as handle:
    json.dump({"allfi": {"hosts": hosts, "vars": settings}}, handle, indent=2)
PY

say "deploy AllFi 1.0.0 to the five hosts (playbooks/deploy.yml)"
play 01-deploy "$repo/playbooks/deploy.yml" -e allfi_ota_version=1.0.0 ||
  fail "the deployment failed; see $work/logs/01-deploy.log"
table "$work/logs/01-deploy.log" "Show the summary"

say "roll out 1.2.0 in batches 1, 10%, 100% with a canary first (playbooks/upgrade.yml)"
play 02-upgrade-1.2.0 "$repo/playbooks/upgrade.yml" -e allfi_ota_version=1.2.0 ||
  fail "the upgrade to 1.2.0 failed; see $work/logs/02-upgrade-1.2.0.log"
table "$work/logs/02-upgrade-1.2.0.log" "Show the summary"

say "try the broken release 1.3.0: the canary must be rolled back and the rollout stop"
if play 03-upgrade-1.3.0 "$repo/playbooks/upgrade.yml" -e allfi_ota_version=1.3.0; then
  fail "the rollout of the broken 1.3.0 did not stop; see $work/logs/03-upgrade-1.3.0.log"
fi
table "$work/logs/03-upgrade-1.3.0.log" "Show the summary"
grep -q '"allfi-1  linux-amd64  1.2.0  *1.2.0  *rolled back"' "$work/logs/03-upgrade-1.3.0.log" ||
  fail "the canary was not rolled back; see $work/logs/03-upgrade-1.3.0.log"
[ "$(grep -c 'linux-amd64  1.2.0  *1.2.0  *not reached"' "$work/logs/03-upgrade-1.3.0.log")" -eq 4 ] ||
  fail "the four other hosts were not left untouched; see $work/logs/03-upgrade-1.3.0.log"
printf '    the rollout stopped at the canary; 1.3.0 is recorded as failed in %s\n' "$work/failed-versions.json"

say "report the fleet's status (playbooks/status.yml)"
play 04-status "$repo/playbooks/status.yml" || fail "the status report failed; see $work/logs/04-status.log"
table "$work/logs/04-status.log" "Show the fleet status"

downloads=$(grep -c '"server": "objects".*"status": 200' "$work/logs/github-requests.jsonl" || true)
say "stop the five AllFi processes and the release server"
stop_all
printf 'demo: done: 1.0.0 deployed, 1.2.0 rolled out, broken 1.3.0 stopped at the canary (%s archive downloads in all); reports in %s/status.json and %s/status.md, logs in %s\n' \
  "$downloads" "$reports" "$reports" "$work/logs"
