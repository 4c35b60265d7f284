#!/usr/bin/env bash
# Build a tiny local base image from Debian's busybox-static package, for the
# Docker deployment tests (no registry is reachable). Skipped when it exists.
# Image: ${ALLFI_OTA_IMAGE_PREFIX:-allfi-ota-test}/busybox:local (FROM scratch:
# /bin/busybox, one link per applet, /etc/passwd and /etc/group, /tmp).
set -euo pipefail

prefix=${ALLFI_OTA_IMAGE_PREFIX:-allfi-ota-test}
tag="$prefix/busybox:local"

log() { printf 'busybox image: %s\n' "$*"; }

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag already built"
  exit 0
fi

work=$(mktemp -d /var/tmp/allfi-ota-busybox.XXXXXX)
trap 'rm -rf "$work"' EXIT

log "downloading busybox-static with apt"
if ! (cd "$work" && apt-get download -qq busybox-static >/dev/null 2>&1); then
  apt-get update -qq
  (cd "$work" && apt-get download -qq busybox-static >/dev/null)
fi

rootfs="$work/rootfs"
mkdir -p "$rootfs"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/pkg"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp "$work/pkg/bin/busybox" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

log "importing $tag"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
  -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$tag" >/dev/null
log "$tag ready"
