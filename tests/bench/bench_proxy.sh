#!/usr/bin/env bash
# bench_proxy.sh - s3warden against a plain nginx reverse proxy, both in
# front of the same nginx origin, in one run on one machine (issue 12).
#
#   nginx    - wrk -> nginx proxy_pass (HTTP/1.1 keep-alive pool) -> origin
#   s3warden - wrk -> s3warden (SigV4 verify, policy, audit to a file, the
#              request log line, re-sign) -> origin
#
# The origin (its own nginx instance) serves /bkt/<key> files and answers
# every PUT 200 without storing it; it does no auth and ignores the proxy's
# signature. s3warden gets valid SigV4 header signatures (signed once,
# replayed within the 15 min skew window, as S3 does no replay protection);
# its PUTs carry the body's SHA-256 as signed payload, verified by s3warden
# before the last byte goes on.
#
# Printed, s3warden and nginx side by side:
#   - 1 KiB GET and 1 KiB PUT at c32 and c256: req/s and the ratio;
#   - per 1 KiB GET and PUT at c32 (BENCH_PERF=1, needs perf; BENCH_PERF_CONNS=256
#     counts the c256 runs instead): CPU time (and its user-mode part),
#     system calls and context switches per request, counted with perf stat
#     over the run (s3warden's process; the proxy nginx's master and workers);
#   - 1 MiB and 64 MiB GET and PUT: MB/s and the ratio;
#   - idle keep-alive connections: RSS per connection over BENCH_IDLE (10000)
#     connections that each made one request.
#
# Usage: tests/bench/bench_proxy.sh [S3WARDEN_BIN] [SECONDS]
# Env: BENCH_THREADS (2), S3WARDEN_WORKERS (cores), BENCH_PERF=1,
# BENCH_RECORD=FILE (perf record -g of s3warden over the 1 KiB GET run;
# BENCH_RECORD_OPTS replaces -g, e.g. "--call-graph dwarf"),
# BENCH_STRACE=FILE (its system calls by name over that run; slows it),
# BENCH_IDLE=N (0 skips the idle test), BENCH_ONLY="1k" (only the small runs),
# BENCH_CONFIG_FILTER=SCRIPT (run as `$PY SCRIPT CONFIG WORKDIR ORIGIN_PORT`
# before s3warden starts; it may rewrite s3warden's config in place and
# start what that config needs, e.g. another upstream or an audit sink).
# BENCH_HOLD=FILE: set everything up, write the ports, pids and signed
# GET and PUT header lines to FILE (shell assignments) and wait until
# killed, for probing by hand (perf trace, perf sched, wrk with other flags).
# BENCH_INSTR=N: instead of the wrk runs, the user-mode instructions per
# request (program and libraries: what does not drift with the machine's
# load), s3warden and the proxy nginx side by side, each under valgrind's
# callgrind (nginx as one process), over N sequential 1 KiB GETs and N
# PUTs on one keep-alive connection after a warm-up. Valgrind's CPU lacks
# SHA-NI and AVX-512, so SHA-256 and memcpy count more than natively.
# BENCH_INSTR_OUT=DIR keeps the callgrind profiles there
# (callgrind.NAME.METHOD, for callgrind_annotate).
# BENCH_TLS=1: clients reach both proxies over TLS (a self-signed P-256
# certificate made for the run; each side's default TLS 1.3 suite; wrk,
# nginx and s3warden all use the machine's OpenSSL); the origin stays plain
# HTTP behind both. Every figure above is then for TLS connections.
# BENCH_TLS_UPSTREAM=1: the origin listens over TLS, and both proxies reach
# it so, verifying its certificate (the same one), with keep-alive pools:
# the data path toward S3, which is always HTTPS. Either or both.
# Needs nginx, wrk, bc and python3 with botocore.
set -euo pipefail
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
SECS=${2:-10}
THREADS=${BENCH_THREADS:-2}
IDLE=${BENCH_IDLE:-10000}
PY=${S3W_PYTHON:-python3}
TLS=${BENCH_TLS:-}
UP_TLS=${BENCH_TLS_UPSTREAM:-}
SCHEME=http; [ -n "$TLS" ] && SCHEME=https
UP_SCHEME=http; [ -n "$UP_TLS" ] && UP_SCHEME=https
for t in nginx wrk bc "$PY" ${TLS:+openssl} ${UP_TLS:+openssl}; do command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 2; }; done
[ -x "$BIN" ] || { echo "bench: s3warden binary $BIN not found" >&2; exit 2; }
ulimit -n 20000 2>/dev/null || true

W=$(mktemp -d /tmp/s3w-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # (a killed nginx may remove its pid file between the test and the read)
  for n in origin proxy; do if [ -f "$W/$n.pid" ]; then kill "$(cat "$W/$n.pid" 2>/dev/null)" 2>/dev/null || true; fi; done
  sleep 0.3
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ORIGIN=$(free_port); NGX=$(free_port); S3W=$(free_port)

chmod 755 "$W"
mkdir -p "$W/root/bkt" "$W/logs" "$W/body"
for k in 1k:1024 1m:$((1 << 20)) 64m:$((64 << 20)); do
  head -c "${k#*:}" /dev/urandom > "$W/root/bkt/${k%%:*}"
  cp "$W/root/bkt/${k%%:*}" "$W/body/${k%%:*}"
done
chmod -R a+rwX "$W/root" "$W/logs" # nginx's workers (not root) store the PUTs
NGX_TLS="" S3W_TLS="" ORIGIN_TLS="" NGX_UP_TLS="" S3W_UP_TLS=""
if [ -n "$TLS$UP_TLS" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
  chmod 644 "$W/key.pem"
  SSL_SERVER=" ssl; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem; ssl_protocols TLSv1.2 TLSv1.3"
  if [ -n "$TLS" ]; then
    NGX_TLS=$SSL_SERVER
    S3W_TLS=", \"tls\": {\"cert_file\": \"$W/cert.pem\", \"key_file\": \"$W/key.pem\"}"
  fi
  if [ -n "$UP_TLS" ]; then
    ORIGIN_TLS=$SSL_SERVER
    NGX_UP_TLS="proxy_ssl_verify on; proxy_ssl_trusted_certificate $W/cert.pem; proxy_ssl_name 127.0.0.1; proxy_ssl_session_reuse on;"
    S3W_UP_TLS=", \"ca_file\": \"$W/cert.pem\""
  fi
fi

nginx_conf() { # name port body
  cat > "$W/$1.conf" <<EOF
worker_processes auto;
pid $W/$1.pid;
error_log $W/logs/$1-error.log warn;
events { worker_connections 16384; }
worker_rlimit_nofile 20000;
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  client_body_temp_path $W/logs/$1-body; proxy_temp_path $W/logs/$1-proxy;
  fastcgi_temp_path $W/logs; uwsgi_temp_path $W/logs; scgi_temp_path $W/logs;
  $3
}
EOF
  if [ -n "${BENCH_INSTR:-}" ] && [ "$1" = proxy ]; then
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.nginx" \
      nginx -c "$W/$1.conf" -p "$W" -g 'daemon off; master_process off;' 2> "$W/logs/vg-nginx.log" &
    PIDS+=($!)
    NGX_VG_PID=$!
  else
    nginx -c "$W/$1.conf" -p "$W" 2>/dev/null
  fi
}
# the origin stores PUT bodies (WebDAV PUT: the whole body is read first)
nginx_conf origin "$ORIGIN" "server { listen 127.0.0.1:$ORIGIN$ORIGIN_TLS; root $W/root;
    location / { dav_methods PUT; create_full_put_path on; } }"
nginx_conf proxy "$NGX" "upstream origin { server 127.0.0.1:$ORIGIN; keepalive 128; }
  server { listen 127.0.0.1:$NGX$NGX_TLS;
    location / { proxy_pass $UP_SCHEME://origin; proxy_http_version 1.1; $NGX_UP_TLS
                 proxy_set_header Connection \"\"; proxy_buffering on; proxy_request_buffering off; } }"

cat > "$W/s3w.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": $S3W$S3W_TLS}],
  "upstream": {"endpoint": "$UP_SCHEME://127.0.0.1:$ORIGIN", "region": "us-east-1"$S3W_UP_TLS,
               "max_connections": 4096, "max_connections_per_host": 1024,
               "max_connections_per_identity": 4096},
  "credentials": {"chain": [{"type": "static", "access_key_id": "AKIABENCHUPSTREAM001",
                             "secret": "benchupstreamsecretbenchupstreamsecret01"}]},
  "accounts": [{"id": "111111111111"}],
  "users": [{"account": "111111111111", "name": "bench", "unique_id": "AIDABENCH0000000001",
             "access_keys": [{"id": "AKIABENCHCLIENT00001", "secret": "benchclientsecretbenchclientsecretbench1"}],
             "policies": [{"name": "rw", "document": {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                              "Resource": "arn:aws:s3:::bkt/*"}]}}]}],
  "buckets": [{"name": "bkt", "account": "111111111111",
               "policy": {"Version": "2012-10-17", "Statement": [{"Sid": "NoDeletes", "Effect": "Deny",
                 "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::bkt/*"}]}}],
  "limits": {"max_connections": 15000},
  "audit": {"output": "$W/logs/audit.log"}
}
EOF
if [ -n "${BENCH_CONFIG_FILTER:-}" ]; then
  "$PY" "$BENCH_CONFIG_FILTER" "$W/s3w.json" "$W" "$ORIGIN"
fi
if [ -n "${BENCH_INSTR:-}" ]; then
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.s3warden" \
    "$BIN" serve --config "$W/s3w.json" 2> "$W/logs/s3w.log" &
else
  # In a session of its own, as the nginx proxy and origin are (they detach
  # themselves) and as a service is: with the kernel's autogroup scheduling
  # (sched_autogroup_enabled), a process started from this script would
  # share one scheduling group with wrk, and the group's one share of the
  # CPUs, while each nginx has a group of its own. Measured that way,
  # s3warden's workers slept in epoll_wait 0.94 times per 1 KiB GET, not
  # 0.29, and served 20-30% fewer requests. setsid execs in place (this
  # job is not a process-group leader), so $! is s3warden's pid.
  setsid "$BIN" serve --config "$W/s3w.json" 2> "$W/logs/s3w.log" &
fi
PIDS+=($!)
S3W_PID=$!
for port in $S3W ${BENCH_INSTR:+$NGX}; do # valgrind takes seconds to start
  for _ in $(seq 1 300); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done

# header lines with a valid SigV4 signature for METHOD /bkt/KEY (PUT: the
# body file's SHA-256 signed)
sign() { # method key [bodyfile]
  "$PY" - "$S3W" "$@" <<'EOF'
import hashlib, sys, botocore.auth, botocore.awsrequest, botocore.credentials
port, method, key = sys.argv[1], sys.argv[2], sys.argv[3]
c = botocore.credentials.Credentials('AKIABENCHCLIENT00001', 'benchclientsecretbenchclientsecretbench1')
r = botocore.awsrequest.AWSRequest(method=method, url='http://127.0.0.1:%s/bkt/%s' % (port, key))
h = 'UNSIGNED-PAYLOAD'
if len(sys.argv) > 4:
    h = hashlib.sha256(open(sys.argv[4], 'rb').read()).hexdigest()
r.headers['x-amz-content-sha256'] = h
class A(botocore.auth.S3SigV4Auth):
    def payload(self, request): return h
A(c, 's3', 'us-east-1').add_auth(r)
for k in ('Authorization', 'X-Amz-Date', 'x-amz-content-sha256'):
    print('%s: %s' % (k, r.headers[k]))
EOF
}

# a wrk script sending PUT with the body file and the header lines
put_script() { # bodyfile headers -> script path
  local s="$W/put-$(basename "$1").lua"
  { echo "wrk.method = \"PUT\""
    echo "local f = io.open(\"$1\", \"rb\"); wrk.body = f:read(\"*a\"); f:close()"
    while IFS= read -r h; do
      [ -n "$h" ] && echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""
    done <<< "$2"
  } > "$s"
  echo "$s"
}

run_wrk() { # conns url headers [script] -> "req/s bytes/s"
  local conns=$1 url=$2 hdrs=${3:-} script=${4:-}
  local args=()
  if [ -n "$script" ]; then args+=(-s "$script"); else
    while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done <<< "$hdrs"; fi
  local out
  out=$(wrk -t"$THREADS" -c"$conns" -d"${SECS}s" "${args[@]}" "$url")
  local non2xx errs
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  errs=$(echo "$out" | awk '/Socket errors/ {print}')
  if [ -n "$non2xx" ]; then echo "bench: $url had $non2xx non-2xx answers (ports: nginx $NGX, s3warden $S3W)" >&2; fi
  if [ -n "$errs" ]; then echo "bench: $url: $errs" >&2; fi
  echo "$out" | awk '/Requests\/sec/ {r=$2} /Transfer\/sec/ {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[A-Za-z]/,"",v);
        m=1; if(u=="KB")m=1024; if(u=="MB")m=1048576; if(u=="GB")m=1073741824; b=v*m}
        END {printf "%s %.0f\n", r, b}'
}

utime() { # pids (comma-separated) -> their user-mode CPU time so far, in clock ticks
  local t=0 p
  for p in ${1//,/ }; do
    t=$((t + $(awk '{print $14}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
nvcsw() { # pids (comma-separated) -> their threads' involuntary context switches so far
  local p
  for p in ${1//,/ }; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
    awk '/^nonvoluntary_ctxt_switches/ {s+=$2} END {print s+0}'
}
tcp_segs() { # TCP segments the whole machine has sent so far (loopback: each is also received)
  awk '/^Tcp:/ {if (!h) {for (i=1;i<=NF;i++) if ($i=="OutSegs") c=i; h=1} else print $c}' /proc/net/snmp
}
perf_start() { # pids -> perf pid
  echo "$1" > "$W/perf.pids"
  utime "$1" > "$W/perf.ut0"
  nvcsw "$1" > "$W/perf.nv0"
  tcp_segs > "$W/perf.seg0"
  perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$1" -o "$W/perf.csv" >/dev/null 2>&1 &
  echo $!
}
# "user us": the user-mode part of the CPU time (/proc/PID/stat utime, in
# ticks of 1/CLK_TCK s), i.e. the program's own code and libraries: the
# kernel's loopback TCP, which both proxies pay alike, and a virtual
# machine's cost of each context switch move the total but not this
# "invol": the part of the context switches that were preemptions (the
# thread could have run on); "TCP segs": segments sent on the whole machine
# per request (client, proxy and origin: 4 is one segment per message)
perf_report() { # perf pid, requests -> "cpu_us syscalls cs user_us invol segs"
  local segs=$(( $(tcp_segs) - $(cat "$W/perf.seg0") ))
  kill -INT "$1"
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done # not our child: no wait
  local ut=$(( $(utime "$(cat "$W/perf.pids")") - $(cat "$W/perf.ut0") ))
  local nv=$(( $(nvcsw "$(cat "$W/perf.pids")") - $(cat "$W/perf.nv0") ))
  awk -F, -v n="$2" -v ut="$ut" -v hz="$(getconf CLK_TCK)" -v nv="$nv" -v segs="$segs" \
    '/raw_syscalls/ {sc=$1} /context-switches/ {cs=$1} /task-clock/ {tc=$1}
    END {printf "%.1f %.1f %.2f %.1f %.2f %.2f\n", tc*1000/n, sc/n, cs/n, ut*1e6/hz/n, nv/n, segs/n}' "$W/perf.csv"
}
ngx_pids() { # the proxy nginx's master and its workers
  local m; m=$(cat "$W/proxy.pid"); echo "$m,$(pgrep -d, -P "$m")"; }

check_ok() { # method key headers [bodyfile]
  local code
  local args=(-s -o /dev/null -w '%{http_code}' -X "$1")
  while IFS= read -r h; do [ -n "$h" ] && args+=(-H "$h"); done <<< "$3"
  if [ -n "${4:-}" ]; then args+=(--data-binary "@$4" -H "Content-Type:"); fi
  code=$(curl -k "${args[@]}" "$SCHEME://127.0.0.1:$S3W/bkt/$2")
  case $code in 2??) ;; *) echo "bench: s3warden answered $code for $1 /bkt/$2" >&2; tail -20 "$W/logs/s3w.log" >&2; exit 1 ;; esac
}

declare -A R B P
ratio() { echo "scale=2; $1 / $2" | bc -l; }

small() { # method conns
  local m=$1 c=$2 key=1k hdr script="" target
  if [ "$m" = PUT ]; then hdr=$(sign PUT "$key" "$W/body/$key"); check_ok PUT "$key" "$hdr" "$W/body/$key"
  else hdr=$(sign GET "$key"); check_ok GET "$key" "$hdr"; fi
  for target in nginx s3warden; do
    local url port pp="" rps bps
    [ $target = nginx ] && port=$NGX || port=$S3W
    url="$SCHEME://127.0.0.1:$port/bkt/$key"
    if [ "$m" = PUT ]; then
      script=$(put_script "$W/body/$key" "$([ $target = s3warden ] && echo "$hdr")")
    fi
    if [ -n "${BENCH_PERF:-}" ] && [ "$c" = "${BENCH_PERF_CONNS:-32}" ]; then
      local pids
      [ $target = nginx ] && pids=$(ngx_pids) || pids=$S3W_PID
      pp=$(perf_start "$pids")
      if [ $target = s3warden ] && [ "$m" = GET ]; then
        if [ -n "${BENCH_STRACE:-}" ]; then strace -f -c -p "$S3W_PID" -o "$BENCH_STRACE" 2>/dev/null & st=$!; fi
        if [ -n "${BENCH_RECORD:-}" ]; then perf record -q ${BENCH_RECORD_OPTS:--g} -p "$S3W_PID" -o "$BENCH_RECORD" 2>/dev/null & rec=$!; fi
      fi
      sleep 0.2
    fi
    if [ "$m" = PUT ]; then read -r rps bps < <(run_wrk "$c" "$url" "" "$script")
    else read -r rps bps < <(run_wrk "$c" "$url" "$([ $target = s3warden ] && echo "$hdr")"); fi
    if [ -n "$pp" ]; then
      P[$m.$target]=$(perf_report "$pp" "$(echo "$rps * $SECS" | bc -l)")
      if [ $target = s3warden ] && [ "$m" = GET ]; then
        if [ -n "${BENCH_RECORD:-}" ]; then kill -INT "$rec"; wait "$rec" 2>/dev/null || true; fi
        if [ -n "${BENCH_STRACE:-}" ]; then kill -INT "$st"; wait "$st" 2>/dev/null || true
          echo "strace: $(echo "$rps * $SECS" | bc -l) requests" >> "$BENCH_STRACE"; fi
      fi
    fi
    R[$m.$c.$target]=$rps
  done
  printf '%-12s %6s %12s %12s %8s\n' "1 KiB $m" "c$c" "${R[$m.$c.nginx]}" "${R[$m.$c.s3warden]}" \
    "$(ratio "${R[$m.$c.s3warden]}" "${R[$m.$c.nginx]}")"
}

big() { # method key
  local m=$1 key=$2 hdr script="" target size
  size=$(stat -c %s "$W/body/$key")
  if [ "$m" = PUT ]; then hdr=$(sign PUT "$key" "$W/body/$key"); check_ok PUT "$key" "$hdr" "$W/body/$key"
  else hdr=$(sign GET "$key"); check_ok GET "$key" "$hdr"; fi
  for target in nginx s3warden; do
    local url port rps bps
    [ $target = nginx ] && port=$NGX || port=$S3W
    url="$SCHEME://127.0.0.1:$port/bkt/$key"
    if [ "$m" = PUT ]; then
      script=$(put_script "$W/body/$key" "$([ $target = s3warden ] && echo "$hdr")")
      read -r rps bps < <(run_wrk 8 "$url" "" "$script")
      bps=$(echo "$rps * $size" | bc -l) # request bodies: wrk counts only answers
    else
      read -r rps bps < <(run_wrk 8 "$url" "$([ $target = s3warden ] && echo "$hdr")")
    fi
    B[$m.$key.$target]=$bps
  done
  printf '%-12s %6s %12.1f %12.1f %8s\n' "$key $m" "c8" "$(echo "${B[$m.$key.nginx]} / 1048576" | bc -l)" \
    "$(echo "${B[$m.$key.s3warden]} / 1048576" | bc -l)" "$(ratio "${B[$m.$key.s3warden]}" "${B[$m.$key.nginx]}")"
}

# idle keep-alive connections: each makes one GET, then stays open
idle_rss() { # port pids headers -> KiB per connection
  local before after
  before=$(for p in ${2//,/ }; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s+=$1} END {print s}')
  "$PY" - "$1" "$IDLE" "$3" "$W/idle.ready" "$TLS" <<'EOF' &
import socket, ssl, sys, time
port, n, hdrs, ready, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl._create_unverified_context() if tls else None
extra = ''.join(h + '\r\n' for h in hdrs.split('\n') if h)
req = ('GET /bkt/1k HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n' % (port, extra)).encode()
socks = []
for i in range(n):
    s = socket.create_connection(('127.0.0.1', port))
    if ctx: s = ctx.wrap_socket(s)
    s.sendall(req)
    got = b''
    while b'\r\n\r\n' not in got or len(got) < got.index(b'\r\n\r\n') + 4 + 1024:
        d = s.recv(65536)
        if not d: raise SystemExit('connection %d closed' % i)
        got += d
    assert got.startswith(b'HTTP/1.1 200'), got[:100]
    socks.append(s)
open(ready, 'w').close()
time.sleep(600)
EOF
  local cl=$!
  for _ in $(seq 1 1200); do [ -f "$W/idle.ready" ] && break; sleep 0.1; done
  [ -f "$W/idle.ready" ] || { echo "bench: idle connections did not open" >&2; kill $cl; return 1; }
  sleep 1
  after=$(for p in ${2//,/ }; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s+=$1} END {print s}')
  kill $cl; wait $cl 2>/dev/null || true
  rm -f "$W/idle.ready"
  echo "scale=2; ($after - $before) / $IDLE" | bc -l
}
if [ -n "${BENCH_HOLD:-}" ]; then
  { echo "NGX=$NGX S3W=$S3W ORIGIN=$ORIGIN S3W_PID=$S3W_PID NGX_PIDS=$(ngx_pids) W=$W"
    printf 'GET_HDR=%q\n' "$(sign GET 1k)"
    printf 'PUT_HDR=%q\n' "$(sign PUT 1k "$W/body/1k")"
    echo "PUT_BODY=$W/body/1k"; } > "$BENCH_HOLD"
  echo "bench: holding; see $BENCH_HOLD (kill $$ to end)"
  while :; do sleep 60; done
fi
# BENCH_INSTR: instructions per request, then done
instr_count() { # port pid name method bodyfile headers -> instructions per request
  local port=$1 pid=$2 name=$3 m=$4 body=$5 hdr=$6 f
  "$PY" "$W/instr_client.py" "$port" 50 "$m" "$body" "$hdr" "$TLS" # warm-up: connections, caches, spares
  callgrind_control -i on "$pid" >/dev/null 2>&1
  "$PY" "$W/instr_client.py" "$port" "$BENCH_INSTR" "$m" "$body" "$hdr" "$TLS"
  callgrind_control -i off "$pid" >/dev/null 2>&1
  rm -f "$W/cg.$name".*
  callgrind_control -d "$pid" >/dev/null 2>&1
  for _ in $(seq 1 50); do
    f=$(ls "$W/cg.$name".* 2>/dev/null | tail -1)
    [ -n "$f" ] && [ -s "$f" ] && break
    sleep 0.1
  done
  if [ -n "${BENCH_INSTR_OUT:-}" ]; then cp "$f" "$BENCH_INSTR_OUT/callgrind.$name.$m"; fi
  awk -v n="$BENCH_INSTR" '/^(summary|totals):/ {t=$2} END {printf "%.0f\n", t / n}' "$f"
}
if [ -n "${BENCH_INSTR:-}" ]; then
  command -v valgrind >/dev/null || { echo "bench: valgrind not found" >&2; exit 2; }
  cat > "$W/instr_client.py" <<'EOF'
import http.client, ssl, sys
port, n, method, body, hdrs, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
h = dict(l.split(': ', 1) for l in hdrs.split('\n') if l)
data = open(body, 'rb').read() if method == 'PUT' else None
if tls: c = http.client.HTTPSConnection('127.0.0.1', port, context=ssl._create_unverified_context())
else: c = http.client.HTTPConnection('127.0.0.1', port)
for i in range(n):
    c.request(method, '/bkt/1k', body=data, headers=h)
    r = c.getresponse(); r.read()
    if r.status // 100 != 2: raise SystemExit('bench: %s answered %d' % (method, r.status))
EOF
  echo "user-mode instructions per request (callgrind), $BENCH_INSTR sequential requests on one connection${TLS:+, over TLS}"
  printf '%-12s %12s %12s %8s\n' request nginx s3warden ratio
  for m in GET PUT; do
    if [ $m = PUT ]; then hdr=$(sign PUT 1k "$W/body/1k"); else hdr=$(sign GET 1k); fi
    ni=$(instr_count "$NGX" "$NGX_VG_PID" nginx $m "$W/body/1k" "")
    si=$(instr_count "$S3W" "$S3W_PID" s3warden $m "$W/body/1k" "$hdr")
    printf '%-12s %12s %12s %8s\n' "1 KiB $m" "$ni" "$si" "$(ratio "$si" "$ni")"
  done
  exit 0
fi

# Measured before any load: memory the load runs freed stays resident and
# would be counted as the idle connections' own (a process that served 256
# concurrent requests first showed 0.15 KiB per connection for a 1.3 KiB
# struct). Printed at the end.
IDLE_LINE=""
if [ "$IDLE" -gt 0 ]; then
  hdr=$(sign GET 1k)
  ng=$(idle_rss "$NGX" "$(ngx_pids)" "")
  sw=$(idle_rss "$S3W" "$S3W_PID" "$hdr")
  IDLE_LINE=$(printf 'idle keep-alive connection (%s): nginx %s KiB, s3warden %s KiB of RSS each' "$IDLE" "$ng" "$sw")
fi

echo "wrk -t$THREADS -d${SECS}s${TLS:+, over TLS}${UP_TLS:+, origin over TLS}; s3warden: $("$BIN" --version 2>/dev/null | head -1)"
printf '%-12s %6s %12s %12s %8s\n' request conns "nginx req/s" "s3w req/s" ratio
for m in GET PUT; do for c in 32 256; do small "$m" "$c"; done; done
if [ -n "${BENCH_PERF:-}" ]; then
  echo
  printf '%-12s %-9s %12s %12s %12s %12s %8s %9s\n' "per request" target "CPU us" syscalls "ctx switches" "user us" invol "TCP segs"
  for m in GET PUT; do for t in nginx s3warden; do
    read -r a b c d e f <<< "${P[$m.$t]}"
    printf '%-12s %-9s %12s %12s %12s %12s %8s %9s\n' "1 KiB $m c${BENCH_PERF_CONNS:-32}" "$t" "$a" "$b" "$c" "$d" "$e" "$f"
  done; done
fi
if [ "${BENCH_ONLY:-}" != 1k ]; then
  echo
  printf '%-12s %6s %12s %12s %8s\n' request conns "nginx MB/s" "s3w MB/s" ratio
  for key in 1m 64m; do for m in GET PUT; do big "$m" "$key"; done; done
fi

if [ -n "$IDLE_LINE" ]; then echo; echo "$IDLE_LINE"; fi
if [ -f "$W/logs/audit.log" ]; then echo "audit records written: $(wc -l < "$W/logs/audit.log")"; fi
