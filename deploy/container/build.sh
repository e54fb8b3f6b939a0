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
# test suite runs against; the installed binary is stripped below. An image
# runs on other machines than the one that built it: llhttp is built for
# any x86_64 CPU unless S3W_LLHTTP_SSE42=auto (or enabled) says the
# machines that run it have SSE4.2 (meson_options.txt, llhttp_sse42).
opts=(-Dtests=false "-Dllhttp_sse42=${S3W_LLHTTP_SSE42:-disabled}")
meson setup build-release "${opts[@]}" --wipe >/dev/null 2>&1 \
  || meson setup build-release "${opts[@]}"
ninja -C build-release -j "${JOBS:-$(nproc)}"
DESTDIR=$dest meson install -C build-release --no-rebuild --skip-subprojects >/dev/null
strip --strip-unneeded "$dest/usr/local/bin/s3warden"
echo "installed $dest/usr/local/bin/s3warden"
