#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test:
#   1. unit suite (cmocka) + fuzz corpus replay, in a normal build;
#   2. the same unit suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. libFuzzer smoke runs (clang), and every other target built with clang;
#   4. the integration suite: real clients through s3warden in front of
#      moto_server and Ceph RGW.
# Ends with one line `N passed, N failed` and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

eval "$(bash deploy/install-deps.sh | tail -n 1)"
export S3W_PYTHON
# Integration tests run with this Python; put its bin dir (aws, moto_server) first.
export PATH="$(dirname "$S3W_PYTHON"):$PATH"

# Every part the tests need was installed above: a test that finds one
# missing fails rather than skips (tests/unit/testutil.h TU_SKIP,
# tests/integration/s3w_it.py). Not as root (install-deps.sh then used
# sudo), the tests that need root (a tmpfs mount) cannot run: skips are
# allowed then, and the summary line counts them.
if [ "$(id -u)" = 0 ]; then
  export S3W_NO_SKIP=1
else
  echo "not root: tests that need root are skipped (S3W_NO_SKIP is not set)"
fi

jobs=$(nproc)
status=0
results=()

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run_suite() { # run_suite <label> <builddir> <meson test args...>
  local label=$1 dir=$2; shift 2
  echo "=== $label"
  rm -f "$dir/meson-logs/testlog.json"
  if meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"; then :; else status=1; fi
  if [ -f "$dir/meson-logs/testlog.json" ]; then
    cp "$dir/meson-logs/testlog.json" "$logs/${#results[@]}.json"
    results+=("$logs/${#results[@]}.json")
  fi
}

configure() { # configure <builddir> <meson setup args...>
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}
setup() { # setup <builddir> <meson setup args...>: configure and build everything
  configure "$@" && ninja -C "$1" >/dev/null
}

echo "=== build (normal)"
if setup build; then
  run_suite "unit" build --suite unit
else
  echo "build failed"; status=1
fi

echo "=== build (ASan+UBSan)"
if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
  run_suite "unit under ASan+UBSan" build-asan --suite unit
else
  echo "ASan build failed"; status=1
fi

echo "=== build (libFuzzer, clang)"
# The fuzz targets (and the libraries they link) first, for the smoke runs;
# then every other target in the same clang build dir, so that a warning
# only clang gives (warnings are errors) fails here rather than on a
# developer's machine. The unit suite is not run under clang: it was built
# and run above.
fuzz_configured=false
if CC=clang configure build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
     -Dfuzz_seconds="${S3W_FUZZ_SECONDS:-10}"; then
  fuzz_configured=true
fi
if $fuzz_configured &&
   fuzz_targets=$(ninja -C build-fuzz -t targets all | grep -E '^tests/fuzz/fuzz_[a-z0-9_]+: ' | cut -d: -f1) &&
   ninja -C build-fuzz $fuzz_targets >/dev/null; then
  run_suite "fuzz smoke" build-fuzz --suite fuzz-smoke --no-rebuild
else
  echo "fuzz build failed"; status=1
fi

echo "=== build (clang, every target)"
if $fuzz_configured && ninja -C build-fuzz -k 0 >"$logs/clang-build.log" 2>&1; then :; else
  # every target that failed (-k 0: ninja goes on past the first) and each
  # distinct diagnostic (a header's is repeated for each file including it)
  if [ -f "$logs/clang-build.log" ]; then
    grep -E '^FAILED:' "$logs/clang-build.log" | head -n 30
    grep -E ': (fatal error|error|warning):' "$logs/clang-build.log" | sort -u | head -n 40
  fi
  echo "clang build failed"; status=1
fi

if [ -d build ]; then
  run_suite "integration" build --suite integration
fi

# One summary line over every suite that ran.
"$S3W_PYTHON" - "${results[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
