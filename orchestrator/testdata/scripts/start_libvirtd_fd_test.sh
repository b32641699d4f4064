#!/usr/bin/env bash
# The daemons scripts/start-libvirtd starts keep none of the caller's file
# descriptors: run under `flock LOCK`, it used to leave LOCK held by libvirtd
# for as long as the daemon ran. Restarts the daemons (root only; RUN_SERIAL).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
command -v libvirtd >/dev/null || [ -x /usr/sbin/libvirtd ] || { echo "skipped: no libvirtd"; exit 77; }
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkill -x libvirtd || true
pkill -x virtlogd || true
for _ in $(seq 50); do pgrep -x 'libvirtd|virtlogd' >/dev/null || break; sleep 0.2; done
pgrep -x 'libvirtd|virtlogd' >/dev/null && { echo "FAIL: could not stop the running daemons"; exit 1; }
flock "$tmp/lock" "$root/scripts/start-libvirtd"
pgrep -x libvirtd >/dev/null || { echo "FAIL: libvirtd is not running"; exit 1; }
flock -n "$tmp/lock" true || { echo "FAIL: the caller's lock is still held (by a daemon)"; exit 1; }
echo PASS
