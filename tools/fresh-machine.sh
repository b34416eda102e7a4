#!/usr/bin/env bash
# `npm run test:fresh`: proves that the README's two commands do all the set-up. A clean clone of
# this repository's HEAD runs `npm install && npm test` as root inside a fresh Debian bookworm root
# (tools/rootfs.sh: Node 20 and the build tools, none of the packages the tests need), with the
# host's /proc, /sys (tracefs), /dev and /dev/shm, as CI does on a new machine. The root is made
# anew for each run and removed afterwards (TSTRACE_KEEP_ROOT=1 keeps it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "fresh-machine: needs root (chroot, mounts)" >&2; exit 1; }
root=$(mktemp -d /var/tmp/tstrace-fresh-XXXXXX)
rmdir "$root"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  [ "${TSTRACE_KEEP_ROOT:-}" = 1 ] && { echo "fresh-machine: kept $root"; return; }
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

"$repo/tools/rootfs.sh" "$root"
git clone -q --no-local "$repo" "$root/work/tstrace"
for m in proc sys dev dev/pts dev/shm; do
  mkdir -p "$root/$m"
  mount --rbind "/$m" "$root/$m"
  mount --make-rslave "$root/$m"
  mounted+=("$root/$m")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own way to the registries (its CA bundle, a proxy), as a login on it would have.
mapfile -t machine_env < <(env | grep -E '^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|GIT_SSL_CAINFO|CURL_CA_BUNDLE|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)=' || true)
echo "fresh-machine: npm install && npm test in a fresh root ($(git -C "$repo" rev-parse --short HEAD))"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  "${machine_env[@]}" CI=true TERM=dumb bash -c 'cd /work/tstrace && npm install && npm test'
echo "fresh-machine: passed"
