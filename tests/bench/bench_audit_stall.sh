#!/usr/bin/env bash
# bench_audit_stall.sh - what a stall of the audit output costs under load
# (issue 12, audit.backlog_records): s3warden writes its audit records to a
# FIFO whose reader is stopped (SIGSTOP) for STALL seconds in the middle of
# a 1 KiB GET load (wrk -t2 -c32, 4 s); the writer blocks as it would on a
# disk that stalls, records wait in memory, and once the backlog is full
# new requests are refused with 503 SlowDown. Prints, per backlog and
# stall, the requests answered 200 and 503 (counted in s3warden's request
# log) and s3warden's peak RSS (VmHWM: the records waiting in memory).
#
# Then the same output stalled from the start under a slow load
# (BENCH_STALL_PACED requests, 2000, one at a time 12 ms apart: about 80
# a second, so each audit flush carries one record): the memory the
# waiting records hold, as RSS and address space (VmSize) grown per
# record.
#
# Usage: tests/bench/bench_audit_stall.sh BIN [STALL_SECONDS... (0.5 1.0)]
# Env: BENCH_STALL_BACKLOGS ("4096 32768"), BENCH_STALL_PACED (2000; 0
# skips), S3W_PYTHON; the rest as in bench_proxy.sh (which sets up the
# origin: BENCH_HOLD).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:?usage: bench_audit_stall.sh BIN [STALL_SECONDS...]}
shift
STALLS=("$@")
[ ${#STALLS[@]} -gt 0 ] || STALLS=(0.5 1.0)
BACKLOGS=${BENCH_STALL_BACKLOGS:-4096 32768}
PY=${S3W_PYTHON:-python3}

# shellcheck source=hold_lib.sh
. "$HERE/hold_lib.sh"
T=$(mktemp -d /tmp/s3w-stall.XXXXXX)
PX_PID=""
RD_PID=""
cleanup() {
  for p in "$PX_PID" "$RD_PID"; do
    if [ -n "$p" ]; then kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; fi
  done
  hold_stop # the origin, nginx and its s3warden
  rm -rf "$T"
}
trap cleanup EXIT

hold_start "$BIN" "$T" # NGX S3W ORIGIN S3W_PID NGX_PIDS W GET_HDR PUT_HDR PUT_BODY
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
args=(-H "Host: 127.0.0.1:$S3W") # the headers are signed for the held s3warden's port
while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done <<< "$GET_HDR"

# a fresh s3warden with this backlog (PX_PID), its audit output a FIFO
# read by RD_PID; log: its stderr
start_px() { # backlog log
  local fifo="$T/audit.fifo"
  rm -f "$fifo"
  mkfifo "$fifo"
  cat "$fifo" > /dev/null &
  RD_PID=$!
  "$PY" - "$W/s3w.json" "$T/s3w.json" "$PORT" "$fifo" "$1" <<'EOF'
import json, sys
src, dst, port, fifo, n = sys.argv[1:]
c = json.load(open(src))
c['listeners'][0]['port'] = int(port)
c['audit'] = {'output': fifo, 'backlog_records': int(n)}
json.dump(c, open(dst, 'w'))
EOF
  setsid "$BIN" serve --config "$T/s3w.json" 2> "$2" < /dev/null > /dev/null &
  PX_PID=$!
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
}

stop_px() {
  kill -CONT "$RD_PID" 2>/dev/null || true
  kill "$PX_PID"
  wait "$PX_PID" 2>/dev/null || true
  PX_PID=""
  kill "$RD_PID" 2>/dev/null || true
  wait "$RD_PID" 2>/dev/null || true
  RD_PID=""
}

# one run: the reader stopped for stall_seconds in the middle of the load
run() { # backlog stall_seconds
  local log="$T/s3w-$1-$2.log"
  start_px "$1" "$log"
  (sleep 1.5; kill -STOP "$RD_PID"; sleep "$2"; kill -CONT "$RD_PID") &
  local stopper=$!
  local out
  out=$(wrk -t2 -c32 -d4s "${args[@]}" "http://127.0.0.1:$PORT/bkt/1k")
  wait "$stopper"
  local hwm
  hwm=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$PX_PID/status")
  stop_px
  printf '%-8s %-9s %10s %9s %9s %12s\n' "$1" "$2" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(grep -c ' status=200' "$log" || true)" "$(grep -c ' status=503' "$log" || true)" "$hwm"
}

echo "audit output stalled mid-load (1 KiB GET, wrk -t2 -c32 -d4s; the stall starts at 1.5 s)"
printf '%-8s %-9s %10s %9s %9s %12s\n' backlog stall_s req/s 200 503 peak_rss_MiB
for st in "${STALLS[@]}"; do
  for n in $BACKLOGS; do run "$n" "$st"; done
done

# the slow load: the reader stopped from the start, N requests 12 ms apart
PACED=${BENCH_STALL_PACED:-2000}
[ "$PACED" -gt 0 ] || exit 0
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PX_PID/status"; }
echo
echo "audit output stalled from the start, $PACED GETs one at a time 12 ms apart"
printf '%-8s %9s %16s %20s\n' backlog 200 rss_per_record address_per_record
for n in $BACKLOGS; do
  start_px "$n" "$T/s3w-paced-$n.log"
  kill -STOP "$RD_PID"
  sleep 0.5
  rss0=$(status_kib VmRSS); vm0=$(status_kib VmSize)
  "$PY" - "$PORT" "127.0.0.1:$S3W" "$PACED" "$GET_HDR" <<'EOF'
import http.client, sys, time
port, host, n, hdr = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
h = {'Host': host}
for line in hdr.splitlines():
    if ':' in line:
        k, v = line.split(':', 1)
        h[k.strip()] = v.strip()
c = http.client.HTTPConnection('127.0.0.1', port)
for _ in range(n):
    c.request('GET', '/bkt/1k', headers=h)
    c.getresponse().read()
    time.sleep(0.012)
EOF
  sleep 0.1 # the last flush (10 ms)
  rss1=$(status_kib VmRSS); vm1=$(status_kib VmSize)
  printf '%-8s %9s %14.2f KiB %18.1f KiB\n' "$n" "$(grep -c ' status=200' "$T/s3w-paced-$n.log" || true)" \
    "$(echo "($rss1 - $rss0) / $PACED" | bc -l)" "$(echo "($vm1 - $vm0) / $PACED" | bc -l)"
  stop_px
done
