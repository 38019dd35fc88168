#!/usr/bin/env bash
# Runs a command of the README on a fresh Debian 12: a minimal bookworm (debootstrap --variant=minbase:
# no compiler, no Python, no sudo) in a chroot, with this repository's committed state cloned into it.
# A developer's machine has packages installed by hand that hide a missing install step; this machine
# has none. Needs root, debootstrap, git and the network (Debian's mirror, and PyPI for the torch wheel).
# The chroot has no CUDA toolkit: the build must not need one (most users' laptops have none).
#   scripts/check-fresh-debian.sh [COMMAND]       default: ./scripts/test.sh
# SAMSCAPE_FRESH_DIR (default /var/tmp/samscape-fresh) holds the chroot; an existing one is reused,
# with a new clone of the repository each time (delete the folder for a machine with nothing installed).
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-./scripts/test.sh}
base=${SAMSCAPE_FRESH_DIR:-/var/tmp/samscape-fresh}
root="$base/root"
[ "$(id -u)" -eq 0 ] || { echo "check-fresh-debian: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
for tool in debootstrap chroot git mountpoint; do
  command -v "$tool" >/dev/null || { echo "check-fresh-debian: needs '$tool'" >&2; exit 2; }
done
if [ ! -x "$root/bin/bash" ]; then
  mkdir -p "$base"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
cleanup() {
  for mount in dev/pts dev sys proc; do mountpoint -q "$root/$mount" && umount "$root/$mount" || true; done
}
trap cleanup EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A network whose HTTPS goes through a proxy with its own certificate authority (PIP_CERT on the host
# names the bundle that trusts it): pip in the chroot gets the same bundle, as the host's pip has it.
pip_cert=""
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
  cp "$PIP_CERT" "$root/etc/ssl/host-ca-bundle.crt"
  pip_cert="PIP_CERT=/etc/ssl/host-ca-bundle.crt"
fi
rm -rf "$root/samscape"
git clone --quiet . "$root/samscape"
if chroot "$root" /bin/sh -c 'command -v nvcc || test -e /usr/local/cuda' >/dev/null 2>&1; then
  echo "check-fresh-debian: $root has a CUDA toolkit; a fresh machine has none (delete $base)" >&2
  exit 2
fi
echo "check-fresh-debian: running '$command' at $(git rev-parse --short HEAD) in $root (no CUDA toolkit)" >&2
started=$SECONDS
status=0
chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-xterm}" LANG=C.UTF-8 $pip_cert \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "cd /samscape && $command" || status=$?
if ((status == 0)); then
  echo "check-fresh-debian: passed in $((SECONDS - started)) s" >&2
else
  echo "check-fresh-debian: failed (exit $status) after $((SECONDS - started)) s" >&2
fi
exit "$status"
