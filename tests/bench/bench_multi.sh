#!/usr/bin/env bash
# bench_multi.sh - the cost of routing buckets to named upstreams (issue 14):
# bench_proxy.sh's 1 KiB GET and PUT runs (BENCH_ONLY=1k, no idle test) with
# the plain one-upstream config and with it rewritten by
# bench_multi_filter.py (two upstreams, the bench bucket on the one that is
# not the default), then s3warden's req/s of both side by side.
#
#   two/one     - s3warden req/s with two upstreams over req/s with one;
#   vs nginx    - each config's s3warden/nginx ratio (nginx is measured in
#                 the same run, so it shows how much the machine moved
#                 between runs: compare these when the nginx figures differ).
# BENCH_ROUNDS=N (1) alternates the two configs N times (one, two, one,
# two, ...) and prints the median of each figure: on a machine with other
# load, one run each is mostly noise.
#
# Usage: tests/bench/bench_multi.sh [S3WARDEN_BIN] [SECONDS]
# Env: BENCH_ROUNDS, and as bench_proxy.sh (BENCH_THREADS, S3WARDEN_WORKERS,
# S3W_PYTHON).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
SECS=${2:-10}
ROUNDS=${BENCH_ROUNDS:-1}
export BENCH_ONLY=1k BENCH_IDLE=0
unset BENCH_PERF BENCH_RECORD BENCH_STRACE

# bench_proxy.sh's rows: "1 KiB GET  c32  NGINX  S3W  RATIO" -> "GET c32 NGINX S3W"
rows() { awk '$1 == "1" && $2 == "KiB" {print $3, $4, $5, $6}'; }
ALL=$(mktemp)
trap 'rm -f "$ALL"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS: one upstream" >&2
  out=$(env -u BENCH_CONFIG_FILTER bash "$HERE/bench_proxy.sh" "$BIN" "$SECS") ||
    { echo "bench_multi: the one-upstream run failed ($?)" >&2; exit 1; }
  echo "$out" >&2
  echo "$out" | rows | sed 's/^/one /' >> "$ALL"
  echo "== round $r/$ROUNDS: two upstreams (bench_multi_filter.py)" >&2
  # a failure here (curl's exit status from bench_proxy.sh's first
  # request) is s3warden refusing the config or misrouting the bucket
  out=$(BENCH_CONFIG_FILTER="$HERE/bench_multi_filter.py" bash "$HERE/bench_proxy.sh" "$BIN" "$SECS") ||
    { echo "bench_multi: the two-upstream run failed ($?)" >&2; exit 1; }
  echo "$out" >&2
  echo "$out" | rows | sed 's/^/two /' >> "$ALL"
done

# the median of column $2 over the lines of config $1, method $3, conns $4
median() {
  awk -v cf="$1" -v col="$2" -v m="$3" -v c="$4" '$1 == cf && $2 == m && $3 == c {print $col}' "$ALL" |
    sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
echo "s3warden 1 KiB req/s, median of $ROUNDS round(s) of ${SECS}s each"
printf '%-12s %6s %12s %12s %9s %14s %14s\n' request conns "s3w 1 up" "s3w 2 ups" "two/one" \
  "1 up vs nginx" "2 ups vs nginx"
for m in GET PUT; do for c in c32 c256; do
  n1=$(median one 4 "$m" "$c"); s1=$(median one 5 "$m" "$c")
  n2=$(median two 4 "$m" "$c"); s2=$(median two 5 "$m" "$c")
  printf '%-12s %6s %12s %12s %9.3f %14.2f %14.2f\n' "1 KiB $m" "$c" "$s1" "$s2" \
    "$(echo "$s2 / $s1" | bc -l)" "$(echo "$s1 / $n1" | bc -l)" "$(echo "$s2 / $n2" | bc -l)"
done; done
