#!/usr/bin/env bash
# bench_side.sh - two proxies measured side by side, at the same moments
# (issue 12): CPU time, system calls and context switches per 1 KiB
# request of each while both serve load.
#
# bench_proxy.sh runs nginx and s3warden one after the other. On a shared
# virtual machine the host's load moves between those runs: the same
# binary's CPU time per request has moved by 30-40% within minutes, more
# than most changes to be measured. Here both targets get the same wrk
# load (one wrk thread, CONNS connections each) at the same time, so a
# change in the host's load moves both. Each pair runs twice per round,
# with the order in which the two wrk start swapped; the median over the
# rounds is printed.
#
# The req/s of the two are not the figure to read: the kernel shares the
# CPUs between the two (each runs in a session and scheduling group of its
# own), so both serve about as many requests. The cost per request is.
# It is the cost under the other's competition for the CPUs and caches:
# s3warden's CPU time per request against nginx's reads 1.30-1.39 here and
# 1.2-1.3 in bench_proxy.sh's runs one after the other (2026-12-05). So
# this is for comparing two builds of s3warden (the same binary as A and B:
# 1.00-1.01); the issue's targets are bench_proxy.sh's.
#
# Usage: tests/bench/bench_side.sh BIN_A [BIN_B] [SECONDS (5)] [ROUNDS (3)]
#   with BIN_B: the pairs are nginx-A and A-B (B beside A, another port,
#   the same config and an audit file of its own);
#   without: nginx-A only.
# Env: BENCH_SIDE_CONNS (16), BENCH_SIDE_METHOD (GET; or PUT: the 1 KiB
# body's SHA-256 signed and verified), BENCH_SIDE_B_FILTER=SCRIPT (run as
# `$PY SCRIPT CONFIG` on B's config before B starts: an A/B of two configs,
# e.g. BIN_B = BIN_A with the audit off), S3W_PYTHON; the rest as in
# bench_proxy.sh (which sets up the origin, nginx and A: BENCH_HOLD; BENCH_TLS=1
# puts all three behind TLS).
# Needs what bench_proxy.sh needs, and perf.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN_A=${1:?usage: bench_side.sh BIN_A [BIN_B] [SECONDS] [ROUNDS]}
BIN_B=${2:-}
SECS=${3:-5}
ROUNDS=${4:-3}
CONNS=${BENCH_SIDE_CONNS:-16}
SCHEME=http; [ -n "${BENCH_TLS:-}" ] && SCHEME=https # BENCH_TLS=1: every target over TLS
METHOD=${BENCH_SIDE_METHOD:-GET}
PY=${S3W_PYTHON:-python3}
command -v perf >/dev/null || { echo "bench_side: perf not found" >&2; exit 2; }
[ -z "$BIN_B" ] || [ -x "$BIN_B" ] || { echo "bench_side: $BIN_B not found" >&2; exit 2; }

# shellcheck source=hold_lib.sh
. "$HERE/hold_lib.sh"
T=$(mktemp -d /tmp/s3w-side.XXXXXX)
B_PID=""
cleanup() {
  if [ -n "$B_PID" ]; then kill "$B_PID" 2>/dev/null || true; fi
  hold_stop # the origin, nginx and A
  rm -rf "$T"
}
trap cleanup EXIT

hold_start "$BIN_A" "$T" # NGX S3W ORIGIN S3W_PID NGX_PIDS W GET_HDR PUT_HDR PUT_BODY

if [ -n "$BIN_B" ]; then
  S3W_B=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$PY" - "$W" "$S3W_B" <<'EOF'
import json, sys
w, port = sys.argv[1], int(sys.argv[2])
c = json.load(open(w + '/s3w.json'))
c['listeners'][0]['port'] = port
if c.get('audit', {}).get('output', 'none') not in ('none', 'stderr', 'stdout'):
    c['audit']['output'] = w + '/logs/audit-b.log'
json.dump(c, open(w + '/s3w-b.json', 'w'))
EOF
  if [ -n "${BENCH_SIDE_B_FILTER:-}" ]; then "$PY" "$BENCH_SIDE_B_FILTER" "$W/s3w-b.json"; fi
  setsid "$BIN_B" serve --config "$W/s3w-b.json" 2> "$W/logs/s3w-b.log" &
  B_PID=$!
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$S3W_B") 2>/dev/null && break; sleep 0.1; done
fi

# wrk's arguments for a target: the signed header lines (signed for A's
# port; B is given A's Host) and, for PUT, a script with the body
wrk_args() { # target -> one argument per line
  local hdr
  [ "$METHOD" = PUT ] && hdr=$PUT_HDR || hdr=$GET_HDR
  if [ "$1" = B ]; then echo "-H"; echo "Host: 127.0.0.1:$S3W"; fi
  if [ "$METHOD" = PUT ]; then
    local s="$T/put-$1.lua"
    { echo 'wrk.method = "PUT"'
      echo "local f = io.open(\"$PUT_BODY\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
      if [ "$1" != nginx ]; then while IFS= read -r h; do
        [ -n "$h" ] && echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""; done <<< "$hdr"; fi
    } > "$s"
    echo "-s"; echo "$s"
  elif [ "$1" != nginx ]; then
    while IFS= read -r h; do [ -n "$h" ] && { echo "-H"; echo "$h"; }; done <<< "$hdr"
  fi
}
port_of() { case $1 in nginx) echo "$NGX" ;; A) echo "$S3W" ;; B) echo "$S3W_B" ;; esac; }
pids_of() { case $1 in nginx) echo "$NGX_PIDS" ;; A) echo "$S3W_PID" ;; B) echo "$B_PID" ;; esac; }
utime() { # pids -> user-mode CPU ticks so far, all threads
  local t=0 p
  for p in ${1//,/ }; do t=$((t + $(awk '{print $14}' "/proc/$p/stat"))); done
  echo "$t"
}

# one target's wrk beside the other's; the counts are perf stat's over the
# same seconds: "req/s cpu_us user_us syscalls cs" per request
run_pair() { # first second -> lines "target req/s cpu_us user_us syscalls cs"
  local t ps=() args
  for t in "$1" "$2"; do
    utime "$(pids_of "$t")" > "$T/ut0.$t"
    perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$(pids_of "$t")" \
      -o "$T/ps.$t" >/dev/null 2>&1 &
    ps+=($!)
  done
  sleep 0.3
  local ws=()
  for t in "$1" "$2"; do
    mapfile -t args < <(wrk_args "$t")
    wrk -t1 -c"$CONNS" -d"${SECS}s" "${args[@]}" "$SCHEME://127.0.0.1:$(port_of "$t")/bkt/1k" > "$T/wrk.$t" &
    ws+=($!)
  done
  wait "${ws[@]}"
  kill -INT "${ps[@]}"
  wait "${ps[@]}" 2>/dev/null || true
  for t in "$1" "$2"; do
    if grep -q 'Non-2xx\|Socket errors' "$T/wrk.$t"; then
      echo "bench_side: $t: $(grep 'Non-2xx\|Socket errors' "$T/wrk.$t")" >&2; fi
    local rps ut
    rps=$(awk '/Requests\/sec/ {print $2}' "$T/wrk.$t")
    ut=$(( $(utime "$(pids_of "$t")") - $(cat "$T/ut0.$t") ))
    awk -F, -v t="$t" -v r="$rps" -v n="$(echo "$rps * $SECS" | bc -l)" -v ut="$ut" -v hz="$(getconf CLK_TCK)" \
      '/raw_syscalls/ {sc=$1} /context-switches/ {cs=$1} /task-clock/ {tc=$1}
       END {printf "%s %s %.1f %.1f %.2f %.2f\n", t, r, tc*1000/n, ut*1e6/hz/n, sc/n, cs/n}' "$T/ps.$t"
  done
}

pairs=("nginx A")
[ -n "$BIN_B" ] && pairs+=("A B")
echo "side by side: 1 KiB $METHOD, wrk -t1 -c$CONNS each, ${SECS}s, $ROUNDS rounds (each pair in both orders)"
echo "A = $BIN_A${BIN_B:+, B = $BIN_B}"
printf '%-6s %-7s %10s %8s %8s %8s %7s\n' round target req/s cpu_us user_us syscalls cs
: > "$T/all"
for r in $(seq 1 "$ROUNDS"); do
  for p in "${pairs[@]}"; do
    # shellcheck disable=SC2086
    set -- $p
    for order in "$1 $2" "$2 $1"; do
      # shellcheck disable=SC2086
      run_pair $order | while read -r t rest; do
        printf '%-6s %-7s %10s %8s %8s %8s %7s\n' "$r" "$t" $rest
        echo "$p $t $rest" >> "$T/all"
      done
    done
  done
done
echo
echo "medians per pair (cost per request; ratio = second / first)"
for p in "${pairs[@]}"; do
  # shellcheck disable=SC2086
  set -- $p
  "$PY" - "$T/all" "$1" "$2" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
a, b = sys.argv[2], sys.argv[3]
def med(t, i):
    return statistics.median(float(r[i + 3]) for r in rows if r[0] == a and r[1] == b and r[2] == t)
names = ['req/s', 'cpu_us', 'user_us', 'syscalls', 'cs']
for i, n in enumerate(names):
    x, y = med(a, i), med(b, i)
    print('%-8s %-9s %10.2f  %-9s %10.2f  ratio %.3f' % (n, a, x, b, y, y / x if x else float('nan')))
print()
EOF
done
