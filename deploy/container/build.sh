#!/usr/bin/env bash
# Build and install into DESTDIR (default ./dist): the steps the
# Containerfile runs, usable on any Debian 12 host with the build packages
# (deploy/install-deps.sh) and no container engine.
#   bash deploy/container/build.sh [DESTDIR]
#   -> DESTDIR/usr/local/bin/s3warden
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=$(realpath -m "${1:-dist}")
# The project's default buildtype (debugoptimized: -O2 -g), the one every
# test suite runs against; the installed binary is stripped below.
meson setup build-release -Dtests=false --wipe >/dev/null 2>&1 \
  || meson setup build-release -Dtests=false
ninja -C build-release -j "${JOBS:-$(nproc)}"
DESTDIR=$dest meson install -C build-release --no-rebuild --skip-subprojects >/dev/null
strip --strip-unneeded "$dest/usr/local/bin/s3warden"
echo "installed $dest/usr/local/bin/s3warden"
