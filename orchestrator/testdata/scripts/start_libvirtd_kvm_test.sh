#!/usr/bin/env bash
# scripts/start-libvirtd puts a KVM node left root:root 0600 (no udev) to
# group kvm, mode 0660, and says so. Uses a private node with /dev/kvm's
# device numbers, so the host's /dev/kvm is not touched. Root only (mknod).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
pgrep -x systemd-udevd >/dev/null 2>&1 && { echo "skipped: udev manages /dev/kvm here"; exit 77; }
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mknod "$tmp/kvm" c 10 232
chown root:root "$tmp/kvm"
chmod 0600 "$tmp/kvm"
out=$(RACEBISECT_KVM_DEV="$tmp/kvm" "$root/scripts/start-libvirtd" 2>&1) || true
echo "$out"
[ "$(stat -c '%G %a' "$tmp/kvm")" = "kvm 660" ] || { echo "FAIL: node is $(stat -c '%G %a' "$tmp/kvm")"; exit 1; }
grep -q "set to group kvm, mode 0660" <<<"$out" || { echo "FAIL: start-libvirtd did not say what it did"; exit 1; }
echo PASS
