#!/usr/bin/env bash
# bench_proxy.sh - s3warden vs a plain nginx reverse proxy vs the upstream
# itself, in one run on one machine (issue 5, "Benchmark").
#
# Upstream: nginx serving /bkt/<key> files from a temp dir (fast, does no
# auth: it ignores the proxy's signature). Compared, all with wrk over
# keep-alive connections:
#   direct  - wrk -> origin nginx
#   nginx   - wrk -> nginx proxy_pass (HTTP/1.1 keepalive pool) -> origin
#   s3warden- wrk -> s3warden (SigV4 verify, policy, audit, re-sign) -> origin
# s3warden gets a valid header-signed GET (signed once, replayed within the
# 15 min skew window; s3warden does no replay protection, as S3 does none).
#
# Usage: tests/bench/bench_proxy.sh [S3WARDEN_BIN] [SECONDS]
# Env: BENCH_CONNS (32), BENCH_THREADS (2), S3WARDEN_WORKERS (cores),
# BENCH_PERF=1: also count s3warden's CPU time, syscalls and context
# switches per 1 KiB GET with perf stat (needs perf and the rights for it);
# BENCH_RECORD=FILE: also `perf record -g` s3warden over that run into FILE;
# BENCH_STRACE=FILE: its system calls by name (strace -c; slows it down).
# Prints req/s for 1 KiB GETs and MB/s for 1 MiB and 64 MiB GETs, and each
# as a ratio to nginx. Needs nginx, wrk and python3 with botocore.
set -euo pipefail
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
SECS=${2:-10}
CONNS=${BENCH_CONNS:-32}
THREADS=${BENCH_THREADS:-2}
PY=${S3W_PYTHON:-python3}
for t in nginx wrk "$PY"; do command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 2; }; done
[ -x "$BIN" ] || { echo "bench: s3warden binary $BIN not found" >&2; exit 2; }

W=$(mktemp -d /tmp/s3w-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ORIGIN=$(free_port); NGX=$(free_port); S3W=$(free_port)

chmod 755 "$W"
mkdir -p "$W/root/bkt" "$W/logs"
head -c 1024 /dev/urandom > "$W/root/bkt/1k"
head -c $((1 << 20)) /dev/urandom > "$W/root/bkt/1m"
head -c $((64 << 20)) /dev/urandom > "$W/root/bkt/64m"

cat > "$W/nginx.conf" <<EOF
worker_processes auto;
pid $W/nginx.pid;
error_log $W/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  client_body_temp_path $W/logs; proxy_temp_path $W/logs;
  fastcgi_temp_path $W/logs; uwsgi_temp_path $W/logs; scgi_temp_path $W/logs;
  server { listen 127.0.0.1:$ORIGIN; root $W/root; }
  upstream origin { server 127.0.0.1:$ORIGIN; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
EOF
nginx -c "$W/nginx.conf" -p "$W" 2>/dev/null

cat > "$W/s3w.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": $S3W}],
  "upstream": {"endpoint": "http://127.0.0.1:$ORIGIN", "region": "us-east-1"},
  "credentials": {"chain": [{"type": "static", "access_key_id": "AKIABENCHUPSTREAM001",
                             "secret": "benchupstreamsecretbenchupstreamsecret01"}]},
  "accounts": [{"id": "111111111111"}],
  "users": [{"account": "111111111111", "name": "bench", "unique_id": "AIDABENCH0000000001",
             "access_keys": [{"id": "AKIABENCHCLIENT00001", "secret": "benchclientsecretbenchclientsecretbench1"}],
             "policies": [{"name": "read", "document": {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]}}]}],
  "buckets": [{"name": "bkt", "account": "111111111111",
               "policy": {"Version": "2012-10-17", "Statement": [{"Sid": "NoDeletes", "Effect": "Deny",
                 "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/*"}]}}],
  "audit": {"output": "$W/logs/audit.log"}
}
EOF
"$BIN" serve --config "$W/s3w.json" 2> "$W/logs/s3w.log" &
PIDS+=($!)
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$S3W) 2>/dev/null && break
  sleep 0.1
done

# wrk -H arguments carrying a valid SigV4 header signature for GET /bkt/KEY
sign() {
  "$PY" - "$S3W" "$1" <<'EOF'
import sys, botocore.auth, botocore.awsrequest, botocore.credentials
port, key = sys.argv[1], sys.argv[2]
c = botocore.credentials.Credentials('AKIABENCHCLIENT00001', 'benchclientsecretbenchclientsecretbench1')
r = botocore.awsrequest.AWSRequest(method='GET', url='http://127.0.0.1:%s/bkt/%s' % (port, key))
r.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
class A(botocore.auth.S3SigV4Auth):
    def payload(self, request): return 'UNSIGNED-PAYLOAD'
A(c, 's3', 'us-east-1').add_auth(r)
for k in ('Authorization', 'X-Amz-Date', 'x-amz-content-sha256'):
    print('%s: %s' % (k, r.headers[k]))
EOF
}

run_wrk() { # url [header lines] -> "req/s bytes/s"
  local url=$1; shift
  local args=()
  while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done <<< "${1:-}"
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "${args[@]}" "$url")
  local rps bps non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  bps=$(echo "$out" | awk '/Transfer\/sec/ {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[A-Za-z]/,"",v);
        m=1; if(u=="KB")m=1024; if(u=="MB")m=1048576; if(u=="GB")m=1073741824; printf "%.0f", v*m}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  [ -n "$non2xx" ] && echo "bench: $url had $non2xx non-2xx answers" >&2
  echo "$rps $bps"
}

printf '%-8s %-8s %14s %14s\n' size target req/s MB/s
declare -A R B
for key in 1k 1m 64m; do
  H=$(sign "$key")
  # the signed check must pass, or the numbers mean nothing
  code=$(curl -s -o /dev/null -w '%{http_code}' \
         -H "$(sed -n 1p <<< "$H")" -H "$(sed -n 2p <<< "$H")" -H "$(sed -n 3p <<< "$H")" \
         "http://127.0.0.1:$S3W/bkt/$key")
  [ "$code" = 200 ] || { echo "bench: s3warden answered $code for /bkt/$key" >&2; cat "$W/logs/s3w.log" >&2; exit 1; }
  for target in direct nginx s3warden; do
    case $target in
      direct) read -r rps bps < <(run_wrk "http://127.0.0.1:$ORIGIN/bkt/$key") ;;
      nginx) read -r rps bps < <(run_wrk "http://127.0.0.1:$NGX/bkt/$key") ;;
      s3warden)
        if [ -n "${BENCH_PERF:-}" ] && [ "$key" = 1k ]; then
          # cost per request, counted rather than timed: CPU, syscalls and
          # context switches of the s3warden process over the wrk run
          perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock \
            -p "${PIDS[0]}" -o "$W/perf.csv" &
          perf_pid=$!
          if [ -n "${BENCH_STRACE:-}" ]; then
            strace -f -c -p "${PIDS[0]}" -o "$BENCH_STRACE" 2>/dev/null &
            st_pid=$!
            sleep 0.3
          fi
          if [ -n "${BENCH_RECORD:-}" ]; then
            perf record -q -g -p "${PIDS[0]}" -o "$BENCH_RECORD" 2>/dev/null &
            rec_pid=$!
          fi
          sleep 0.2
          read -r rps bps < <(run_wrk "http://127.0.0.1:$S3W/bkt/$key" "$H")
          kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
          if [ -n "${BENCH_RECORD:-}" ]; then kill -INT "$rec_pid"; wait "$rec_pid" 2>/dev/null || true; fi
          reqs=$(echo "$rps * $SECS" | bc -l)
          if [ -n "${BENCH_STRACE:-}" ]; then kill -INT "$st_pid"; wait "$st_pid" 2>/dev/null || true
            echo "strace: $reqs requests" >> "$BENCH_STRACE"; fi
          awk -F, -v n="$reqs" '
            /raw_syscalls/ {sc=$1} /context-switches/ {cs=$1} /task-clock/ {tc=$1}
            END {printf "perf (s3warden, 1 KiB GET): %.1f CPU us, %.1f syscalls, %.2f context switches per request\n", tc*1000/n, sc/n, cs/n}' \
            "$W/perf.csv" >&2
        else
          read -r rps bps < <(run_wrk "http://127.0.0.1:$S3W/bkt/$key" "$H")
        fi ;;
    esac
    R[$key.$target]=$rps; B[$key.$target]=$bps
    printf '%-8s %-8s %14s %14.1f\n' "$key" "$target" "$rps" "$(echo "$bps / 1048576" | bc -l)"
  done
done
echo
ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo "s3warden / nginx proxy_pass:"
echo "  1 KiB GET  req/s ratio: $(ratio "${R[1k.s3warden]}" "${R[1k.nginx]}")"
echo "  1 MiB GET  MB/s  ratio: $(ratio "${B[1m.s3warden]}" "${B[1m.nginx]}")"
echo "  64 MiB GET MB/s  ratio: $(ratio "${B[64m.s3warden]}" "${B[64m.nginx]}")"
echo "audit records written: $(wc -l < "$W/logs/audit.log")"
