#!/usr/bin/env bash
# Builds a fresh Debian bookworm root file system in DIR: debootstrap's minimal base from Debian's
# mirror, the build tools a new machine of ours has (python3, make, g++, git), and this machine's
# Node.js (the nodejs package's files, copied). Nothing of tstrace's is in it. The machine's own
# settings that reach the registries (CA certificates, apt sources, npm's user config) are copied
# too, as any machine of this kind has them. Used by tools/fresh-machine.sh, and as the base of
# locally built container images (no image registry is reachable here).
#
#   tools/rootfs.sh DIR        (root; DIR must not exist)
set -euo pipefail
dir=${1:?usage: tools/rootfs.sh DIR}
[ "$(id -u)" = 0 ] || { echo "rootfs: needs root (debootstrap, chroot)" >&2; exit 1; }
[ ! -e "$dir" ] || { echo "rootfs: $dir exists" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  echo "rootfs: installing debootstrap (builds the Debian root file system)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

tmp="$dir.partial"
rm -rf "$tmp"
debootstrap --variant=minbase --include=ca-certificates,python3,make,g++,git bookworm "$tmp" "$mirror" >/dev/null
# Node.js as this machine has it: the nodejs package's files (Node 20 and the headers node-gyp
# uses) and the npm installed now (the machine upgrades npm at boot, past the package's own).
dpkg -L nodejs | grep -v '^/usr/lib/node_modules/' | while read -r f; do
  if [ -f "$f" ] || [ -L "$f" ]; then
    mkdir -p "$tmp$(dirname "$f")"
    cp -a "$f" "$tmp$f"
  fi
done
mkdir -p "$tmp/usr/lib/node_modules"
cp -a /usr/lib/node_modules/npm "$tmp/usr/lib/node_modules/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tmp/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tmp/usr/bin/npx"
# The machine's way out to the registries.
cp -a /etc/apt/sources.list.d/debian.sources "$tmp/etc/apt/sources.list.d/" 2>/dev/null || true
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$tmp/usr/local/share/ca-certificates/"
  chroot "$tmp" update-ca-certificates >/dev/null 2>&1
fi
[ -f /root/.npmrc ] && cp /root/.npmrc "$tmp/root/.npmrc"
chroot "$tmp" npm --version >/dev/null
mv "$tmp" "$dir"
echo "rootfs: $dir (Debian bookworm, node $(chroot "$dir" node --version))"
