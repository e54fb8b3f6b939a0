#!/usr/bin/env bash
# bench_audit.sh - the cost of the CloudTrail record format and of the S3
# audit sink (issue 13, "Benchmark"): bench_proxy.sh's small runs (1 KiB
# GET and PUT at c32 and c256, BENCH_ONLY=1k) twice in one go:
#
#   file        - audit to a file, s3warden's record format (bench_proxy's
#                 own config);
#   cloudtrail  - the same file output with "format": "cloudtrail", plus an
#                 S3 sink ("type": "s3", batch_seconds 1) whose bucket is on
#                 the bench's origin nginx (its dav module stores the PUT
#                 .json.gz objects under root/, answering 201): each batch
#                 is gzip'd, SigV4-signed and PUT through the upstream as
#                 in production. Every record is written twice: to the
#                 file and to the sink's spool;
#   s3only      - the CloudTrail format and the S3 sink alone ("output":
#                 "none"): the sink in place of the file, each record
#                 written once, as in the file run.
#
# The three alternate BENCH_ROUNDS times (default 2: file, cloudtrail,
# s3only, file, ...); on a machine shared with other work a run's figures
# move by tens of percent with the neighbours, so each variant's best is
# compared (highest req/s, lowest CPU per request).
# Printed: every run's own output; then the best req/s of each variant and
# the ratio cloudtrail/file, and with BENCH_PERF=1 (default when perf
# exists) s3warden's CPU time per request (perf stat over the c32 runs),
# also over the proxy nginx's of the same run; then what the S3 sink
# delivered.
#
# Usage: tests/bench/bench_audit.sh [S3WARDEN_BIN] [SECONDS (5)]
# Env: as bench_proxy.sh (BENCH_THREADS, S3WARDEN_WORKERS, BENCH_PERF,
# BENCH_RECORD=FILE records the 1 KiB GET of the cloudtrail and s3only runs
# in FILE.cloudtrail and FILE.s3only), BENCH_ROUNDS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
SECS=${2:-5}
ROUNDS=${BENCH_ROUNDS:-2}
PY=${S3W_PYTHON:-python3}
if [ -z "${BENCH_PERF+x}" ] && command -v perf >/dev/null 2>&1; then export BENCH_PERF=1; fi
export BENCH_ONLY=1k BENCH_IDLE=0 S3W_PYTHON=$PY

D=$(mktemp -d /tmp/s3w-bench-audit.XXXXXX)
trap 'rm -rf "$D"' EXIT

# the config filter of the cloudtrail run: bench_proxy.sh calls it with
# CONFIG WORKDIR ORIGIN_PORT before s3warden starts; the spool goes to $D,
# which outlives bench_proxy's work directory, to be looked at afterwards
cat > "$D/filter.py" <<'EOF'
import json, os, sys
path, work, origin = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path) as f:
    c = json.load(f)
if os.environ.get("BENCH_AUDIT_S3ONLY"):
    c["audit"]["output"] = "none"
c["audit"].update({"format": "cloudtrail", "account_id": "111111111111", "sinks": [
    {"type": "s3", "bucket": "trail", "prefix": "bench", "batch_seconds": 1,
     "spool_dir": os.path.join(os.environ["BENCH_AUDIT_SPOOL"], "s3")}]})
with open(path, "w") as f:
    json.dump(c, f)
EOF

run() { # name round [filter [s3only]]
  local name=$1 out=$D/$1.$2.out
  if [ -n "${3:-}" ]; then
    mkdir -p "$D/$name"
    BENCH_RECORD=${BENCH_RECORD:+$BENCH_RECORD.$name} BENCH_CONFIG_FILTER=$3 \
      BENCH_AUDIT_SPOOL=$D/$name BENCH_AUDIT_S3ONLY=${4:-} bash "$HERE/bench_proxy.sh" "$BIN" "$SECS" > "$out"
  else
    env -u BENCH_RECORD bash "$HERE/bench_proxy.sh" "$BIN" "$SECS" > "$out"
  fi
  sed "s/^/  [$name $2] /" "$out"
}

# best over a variant's runs: "1 KiB GET  c32  NGINX  S3W  RATIO" -> S3W
rps() { cat "$D/$1".*.out | awk -v m="$2" -v c="$3" '$1 == "1" && $2 == "KiB" && $3 == m &&
  $4 == c && $5 ~ /^[0-9]/ && $6 > best {best = $6} END {print best}'; }
# "1 KiB GET c32  TARGET  CPU SYSCALLS CS" -> the lowest CPU, and the
# nginx/s3warden pair of the run it came from
cpu() { # variant method target
  for f in "$D/$1".*.out; do
    awk -v m="$2" '$3 == m && $4 == "c32" && $5 == "s3warden" {s = $6}
      $3 == m && $4 == "c32" && $5 == "nginx" {n = $6} END {print s, n}' "$f"
  done | sort -n | head -1 | awk -v t="$3" '{print t == "nginx" ? $2 : $1}'
}

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r: file sink (s3warden format)"
  run file "$r"
  echo "== round $r: cloudtrail format + S3 sink"
  run cloudtrail "$r" "$D/filter.py"
  echo "== round $r: cloudtrail format + S3 sink, no file output"
  run s3only "$r" "$D/filter.py" 1
done

echo
# each sink variant against the file run: req/s (best), and with perf
# s3warden's CPU per request (lowest), also over the proxy nginx's of the
# same run: on a shared machine the clock speed and the neighbours change
# between runs, and nginx (whose work is the same in all) shows how much
ratio() { echo "scale=3; $1 / $2" | bc -l; }
printf '%-16s %10s %12s %7s %10s %7s\n' "1 KiB, best" "file" "cloudtrail" ratio "s3only" ratio
for m in GET PUT; do for c in c32 c256; do
  a=$(rps file "$m" "$c"); b=$(rps cloudtrail "$m" "$c"); o=$(rps s3only "$m" "$c")
  printf '%-16s %10s %12s %7s %10s %7s\n' "$m $c req/s" "$a" "$b" "$(ratio "$b" "$a")" "$o" "$(ratio "$o" "$a")"
done; done
if [ -n "${BENCH_PERF:-}" ]; then
  for m in GET PUT; do
    a=$(cpu file "$m" s3warden); b=$(cpu cloudtrail "$m" s3warden); o=$(cpu s3only "$m" s3warden)
    na=$(cpu file "$m" nginx); nb=$(cpu cloudtrail "$m" nginx); no=$(cpu s3only "$m" nginx)
    printf '%-16s %10s %12s %7s %10s %7s\n' "$m c32 CPU us" "$a" "$b" "$(ratio "$b" "$a")" "$o" "$(ratio "$o" "$a")"
    printf '%-16s %10s %12s %7s %10s %7s\n' "  / nginx's" "$(ratio "$a" "$na")" "$(ratio "$b" "$nb")" \
      "$(ratio "$(ratio "$b" "$nb")" "$(ratio "$a" "$na")")" "$(ratio "$o" "$no")" \
      "$(ratio "$(ratio "$o" "$no")" "$(ratio "$a" "$na")")"
  done
fi
echo
for v in cloudtrail s3only; do
  spool=$D/$v/s3/audit.spool
  if [ ! -f "$spool" ]; then
    echo "bench: the $v runs' S3 sink spool was not created" >&2
    exit 1
  fi
  echo "S3 sink ($v, last round): $(stat -c %s "$spool") bytes of records spooled;" \
       "delivered up to byte $(cat "$D/$v/s3/audit.offset" 2>/dev/null || echo 0) when s3warden stopped;" \
       "$(du -k "$spool" | cut -f1) KiB on disk (delivered parts freed)"
done
