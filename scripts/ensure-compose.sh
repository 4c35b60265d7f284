#!/usr/bin/env bash
# Make sure `docker compose` (the Compose v2 CLI plugin) answers, as
# community.docker.docker_compose_v2 needs it.
#
# Debian 12 (bookworm) only packages Compose v1 (python, `docker-compose` 1.29),
# which community.docker 4.x no longer drives. Debian 13 (trixie) packages
# Compose v2 as `docker-compose` 2.x: a Go program whose only dependency is
# libc6 (>= 2.34), which bookworm satisfies. So this script downloads that one
# package from Debian's mirror through a private apt state (bookworm's sources
# and package lists stay untouched; apt checks the archive signature with the
# trixie key that debian-archive-keyring already ships) and installs it with dpkg.
set -euo pipefail

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${ALLFI_OTA_COMPOSE_SUITE:-trixie}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'ensure-compose: %s\n' "$*"; }

if docker compose version >/dev/null 2>&1; then
  log "$(docker compose version) already answers"
  exit 0
fi

work=$(mktemp -d /var/tmp/allfi-ota-compose.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Sandbox::User=root"
)

log "reading the $suite package list from $mirror"
apt-get "${apt_opts[@]}" update -qq >/dev/null
log "downloading docker-compose from $suite"
(cd "$work" && apt-get "${apt_opts[@]}" download -qq docker-compose >/dev/null)
log "installing $(basename "$work"/docker-compose_*.deb) with dpkg"
dpkg -i "$work"/docker-compose_*.deb >/dev/null

if ! docker compose version >/dev/null 2>&1; then
  log "docker compose still does not answer after installing the package" >&2
  exit 1
fi
log "$(docker compose version) answers"
