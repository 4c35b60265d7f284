#!/usr/bin/env bash
# Build the test images from Debian's packages (no registry is reachable).
# Each image is skipped when it already exists. Usage: build.sh [IMAGE...]
# Images: systemd (base), sshd, openrc.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
prefix=${ALLFI_OTA_IMAGE_PREFIX:-allfi-ota-test}

log() { printf 'images: %s\n' "$*"; }

have() { docker image inspect "$1" >/dev/null 2>&1; }

build_base() {
  local tag="$prefix/systemd:bookworm"
  if have "$tag"; then log "$tag already built"; return; fi
  local rootfs
  rootfs=$(mktemp -d /var/tmp/allfi-ota-rootfs.XXXXXX)
  log "debootstrap bookworm into $rootfs (about a minute)"
  debootstrap --variant=minbase \
    --include=python3,systemd,systemd-sysv,dbus,procps,ca-certificates,iproute2 \
    bookworm "$rootfs" "$mirror" >/var/tmp/allfi-ota-debootstrap.log 2>&1 || {
      tail -n 30 /var/tmp/allfi-ota-debootstrap.log >&2; rm -rf "$rootfs"; exit 1; }
  # Units that make no sense in a container and slow down or block boot.
  for unit in systemd-remount-fs.service getty.target console-getty.service \
      systemd-logind.service systemd-timesyncd.service apt-daily.timer \
      apt-daily-upgrade.timer; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  echo "allfi-test" > "$rootfs/etc/hostname"
  log "importing $tag"
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
}

build_layer() {
  local name=$1 tag="$prefix/$1:bookworm"
  if have "$tag"; then log "$tag already built"; return; fi
  log "building $tag"
  docker build --network host -q --build-arg "BASE=$prefix/systemd:bookworm" \
    -t "$tag" "$here/$name" >/dev/null
}

images=("$@")
[ "${#images[@]}" -gt 0 ] || images=(systemd sshd openrc)
build_base
for image in "${images[@]}"; do
  case "$image" in
    systemd) ;;
    sshd|openrc) build_layer "$image" ;;
    *) log "unknown image: $image" >&2; exit 2 ;;
  esac
done
log "images ready: ${images[*]}"
