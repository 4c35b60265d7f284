#!/usr/bin/env bash
# Run one molecule scenario: `molecule test -s NAME` (destroy, syntax, create,
# prepare, converge, idempotence, verify, destroy). Containers are destroyed even
# when a step fails; containers left by an interrupted run (named
# allfi-<scenario>-*) are removed first. Usage: molecule-scenario.sh NAME [ARGS...]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: molecule-scenario.sh SCENARIO [MOLECULE TEST ARGS...]}
shift

log() { printf 'molecule: %s\n' "$*"; }

remove_leftovers() {
  local ids
  ids=$(docker ps -aq --filter "name=^allfi-${scenario}-")
  if [ -n "$ids" ]; then
    log "removing containers left by an earlier run of $scenario"
    # shellcheck disable=SC2086  # one container id per word
    docker rm -f $ids >/dev/null
  fi
}

cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.build/collections"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
remove_leftovers
trap remove_leftovers EXIT
log "molecule test -s $scenario"
molecule test -s "$scenario" --destroy always "$@"
