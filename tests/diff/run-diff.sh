#!/usr/bin/env bash
# run-diff.sh - generated differential tests of s3warden's policy engine
# against @cloud-copilot/iam-simulate (npm), installed here on first use.
#
#   tests/diff/run-diff.sh --cases 2000 --seed 18     # what CI runs (unit suite)
#   tests/diff/run-diff.sh --cases 100000 --seed 1    # the long run, by hand
#
# Needs node and npm; the npm registry only when the simulator is missing.
# Finds the batch driver in $S3W_BUILD_ROOT (set by meson test) or build/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${S3W_BUILD_ROOT:-$here/../../build}"
lines="$build/tests/diff/diff_simulate_lines"

command -v node >/dev/null || { echo "run-diff: node is not installed (apt-get install nodejs npm)" >&2; exit 2; }
[ -x "$lines" ] || { echo "run-diff: $lines not built (ninja -C $build)" >&2; exit 2; }
if [ ! -d "$here/node_modules/@cloud-copilot/iam-simulate" ]; then
  command -v npm >/dev/null || { echo "run-diff: npm is not installed (apt-get install npm)" >&2; exit 2; }
  echo "run-diff: installing the simulator from the npm registry (package.json pins the version)"
  if ! (cd "$here" && timeout 240 npm install --no-audit --no-fund --no-save --loglevel=error); then
    echo "run-diff: FAILED to install @cloud-copilot/iam-simulate from the npm registry" \
         "(is https://registry.npmjs.org reachable?); the differential test cannot run" >&2
    exit 2
  fi
fi
exec node "$here/gen-diff.mjs" --lines "$lines" "$@"
