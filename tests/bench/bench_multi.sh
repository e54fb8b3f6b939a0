#!/usr/bin/env bash
# bench_multi.sh - the cost of routing buckets to named upstreams (issue 14):
# bench_proxy.sh's 1 KiB GET and PUT runs (BENCH_ONLY=1k, no idle test) once
# with the plain one-upstream config and once rewritten by
# bench_multi_filter.py (two upstreams, the bench bucket on the one that is
# not the default), then s3warden's req/s of both side by side.
#
#   two/one     - s3warden req/s with two upstreams over req/s with one;
#   vs nginx    - each run's s3warden/nginx ratio (nginx is measured in the
#                 same run, so it shows how much the machine moved between
#                 the two runs: compare these when the nginx figures differ).
#
# Usage: tests/bench/bench_multi.sh [S3WARDEN_BIN] [SECONDS]
# Env: as bench_proxy.sh (BENCH_THREADS, S3WARDEN_WORKERS, S3W_PYTHON).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
SECS=${2:-10}
export BENCH_ONLY=1k BENCH_IDLE=0
unset BENCH_PERF BENCH_RECORD BENCH_STRACE

echo "== one upstream" >&2
one=$(env -u BENCH_CONFIG_FILTER bash "$HERE/bench_proxy.sh" "$BIN" "$SECS") ||
  { echo "bench_multi: the one-upstream run failed ($?)" >&2; exit 1; }
echo "$one" >&2
echo "== two upstreams (bench_multi_filter.py)" >&2
# a failure here (curl's exit status from bench_proxy.sh's first request)
# is s3warden refusing the config or misrouting the bucket
two=$(BENCH_CONFIG_FILTER="$HERE/bench_multi_filter.py" bash "$HERE/bench_proxy.sh" "$BIN" "$SECS") ||
  { echo "bench_multi: the two-upstream run failed ($?)" >&2; exit 1; }
echo "$two" >&2

# bench_proxy.sh's rows: "1 KiB GET  c32  NGINX  S3W  RATIO"
rows() { echo "$1" | awk '$1 == "1" && $2 == "KiB" {print $3, $4, $5, $6, $7}'; }
echo
printf '%-12s %6s %12s %12s %9s %14s %14s\n' request conns "s3w 1 up" "s3w 2 ups" "two/one" \
  "1 up vs nginx" "2 ups vs nginx"
paste -d' ' <(rows "$one") <(rows "$two") | while read -r m c n1 s1 r1 m2 c2 n2 s2 r2; do
  [ "$m" = "$m2" ] && [ "$c" = "$c2" ] || { echo "bench_multi: rows differ ($m $c / $m2 $c2)" >&2; exit 1; }
  printf '%-12s %6s %12s %12s %9s %14s %14s\n' "1 KiB $m" "$c" "$s1" "$s2" \
    "$(echo "scale=3; $s2 / $s1" | bc -l)" "$r1" "$r2"
done
