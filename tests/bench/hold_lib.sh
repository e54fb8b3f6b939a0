# shellcheck shell=bash
# hold_lib.sh - sourced by the benchmarks that work beside bench_proxy.sh's
# held set-up (BENCH_HOLD: the origin, the nginx proxy and one s3warden,
# started once and kept). Needs HERE (this directory).
#
# hold_start BIN DIR: starts bench_proxy.sh BIN holding, with its env file
# and log in DIR, waits until it holds and sources what it wrote (NGX S3W
# ORIGIN S3W_PID NGX_PIDS W GET_HDR PUT_HDR PUT_BODY); HOLD_PID is its pid.
# hold_stop: ends it (its trap stops what it started).
hold_start() {
  BENCH_HOLD="$2/hold.env" BENCH_IDLE=0 "$HERE/bench_proxy.sh" "$1" > "$2/hold.log" 2>&1 &
  HOLD_PID=$!
  for _ in $(seq 1 600); do grep -q '^PUT_BODY=' "$2/hold.env" 2>/dev/null && break
    kill -0 "$HOLD_PID" 2>/dev/null || { cat "$2/hold.log" >&2; exit 1; }; sleep 0.1; done
  # shellcheck disable=SC1090,SC1091
  . "$2/hold.env"
}

hold_stop() {
  if [ -n "${HOLD_PID:-}" ]; then
    kill "$HOLD_PID" 2>/dev/null || true
    wait "$HOLD_PID" 2>/dev/null || true
  fi
}
