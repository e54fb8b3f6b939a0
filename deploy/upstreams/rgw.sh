#!/usr/bin/env bash
# Ceph RGW (Debian's radosgw) as a strict local S3 upstream for s3warden: a
# throwaway single-node cluster on 127.0.0.1 - one monitor, one OSD with the
# in-memory memstore objectstore, no mgr - and radosgw (beast) serving
# path-style S3. Cold start to a working endpoint is about 15 s and it uses
# about 200 MB. Usage: rgw.sh start|stop|status|restart
#
# Why RGW: it checks SigV4 with odd keys (+ = spaces non-ASCII, prefix=dir/),
# signed payload hashes (400 XAmzContentSHA256Mismatch, nothing stored) and
# aws-chunked chunk signatures, and enforces bucket policies.
# Quirks the tests must live with (see also ../../README.md, Testing):
#  - its error bodies carry an empty <Message>; aws cli v1 crashes on them, so
#    tests assert RGW-originated error codes with botocore, not the cli;
#  - CompleteMultipartUpload answers an empty ETag (HEAD shows the right one);
#  - Pacific (16) predates checksum trailers: it refuses a
#    STREAMING-UNSIGNED-PAYLOAD-TRAILER upload (the SDKs' default over TLS)
#    with 400 XAmzContentSHA256Mismatch and stores nothing, so s3warden runs
#    with upstream.decode_aws_chunked in front of it (checked by
#    tests/integration/test_interop.py, RgwTrailerUploads);
#  - with STS on (RGW_STS=1) a bad signature is reported as AccessDenied.
#
# "start" wipes $RGW_BASE and builds a fresh cluster; "stop" stops the daemons
# by the PIDs it recorded (never by name).
# Env: RGW_BASE (/tmp/s3warden-rgw/cluster) RGW_PORT (7480) RGW_ACCESS_KEY
#      RGW_SECRET_KEY RGW_MON_V2_PORT (3300) RGW_MON_V1_PORT (6789)
#      RGW_STS (0|1) RGW_STS_KEY (exactly 16 chars)
# Prints KEY=VALUE lines: RGW_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
#      AWS_DEFAULT_REGION CEPH_CONF STARTUP_SECONDS
set -u
BASE=${RGW_BASE:-/tmp/s3warden-rgw/cluster}
CONF=$BASE/ceph.conf
PIDS=$BASE/pids
PORT=${RGW_PORT:-7480}
ACCESS_KEY=${RGW_ACCESS_KEY:-AKIARGWTESTUSER00001}
SECRET_KEY=${RGW_SECRET_KEY:-rgwsecretrgwsecretrgwsecretrgwsecret0001}
MON_V2=${RGW_MON_V2_PORT:-3300}
MON_V1=${RGW_MON_V1_PORT:-6789}
STS_KEY=${RGW_STS_KEY:-abcdefghijklmnop}
STS=${RGW_STS:-0}

log() { echo "[rgw.sh $(date +%T)] $*" >&2; }
C() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

new_uuid() {
  if command -v uuidgen >/dev/null 2>&1; then uuidgen; else cat /proc/sys/kernel/random/uuid; fi
}

check_installed() {
  local missing=() b
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "not installed: ${missing[*]}. Run: sudo bash deploy/install-deps.sh" \
        "(or apt-get install radosgw ceph-mon ceph-osd ceph-common uuid-runtime)"
    return 1
  fi
}

wait_for() { # wait_for <secs> <desc> <cmd...>
  local secs=$1 desc=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then log "TIMEOUT waiting for $desc (logs in $BASE/log)"; return 1; fi
    sleep 0.5
  done
}

spawn() { # spawn <name> <cmd...>: foreground daemon (-f) in its own session, PID recorded
  local name=$1; shift
  setsid "$@" >>"$BASE/log/$name.stdout" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
  log "started $name pid $!"
}

do_stop() {
  [ -d "$PIDS" ] || { log "nothing to stop"; return 0; }
  local f name pid
  # reverse start order: radosgw, then the OSD, then the monitor
  for f in "$PIDS"/rgw.pid "$PIDS"/osd.*.pid "$PIDS"/mon.*.pid "$PIDS"/*.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid); pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) did not exit, SIGKILL"; kill -KILL "$pid"; fi
      log "stopped $name ($pid)"
    fi
    rm -f "$f"
  done
}

fail() { log "$*"; do_stop; return 1; }

do_start() {
  check_installed || return 1
  local t0; t0=$(date +%s.%N)
  do_stop
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
    log "port $PORT is already in use"; return 1
  fi
  rm -rf "$BASE"
  mkdir -p "$BASE"/{log,run,pids,mon.a,osd.0,rgw.a}
  local FSID; FSID=$(new_uuid)
  cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
run dir = $BASE/run
admin socket = $BASE/run/\$name.asok
log file = $BASE/log/\$name.log
keyring = $BASE/keyring
# cephx off: RGW's S3 auth (SigV4) does not depend on it.
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to ms_mon_client_mode=secure, impossible without cephx:
# it would never connect (get_initial_auth_request returned -13).
ms mon client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $BASE/\$name
mon cluster log file = $BASE/log/cluster.log

[osd]
osd data = $BASE/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
osd memory target = 939524096
osd crush update on start = true

[client.rgw.a]
rgw data = $BASE/rgw.a
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw thread pool size = 64
CONF
  if [ "$STS" = 1 ]; then
    printf 'rgw s3 auth use sts = true\nrgw sts key = %s\n' "$STS_KEY" >>"$CONF"
  fi
  # mkfs wants a keyring even with auth off
  ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$BASE/keyring" --gen-key -n client.admin --cap mon 'allow *' \
      --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]" \
      "$BASE/monmap" >/dev/null || { fail "monmaptool failed"; return 1; }
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/keyring" \
      >>"$BASE/log/mkfs.log" 2>&1 || { fail "mon mkfs failed (see $BASE/log/mkfs.log)"; return 1; }
  spawn mon.a ceph-mon -c "$CONF" -i a -f
  wait_for 60 "mon quorum" C mon stat || { fail "monitor did not start"; return 1; }

  local OSD_UUID OSD_ID; OSD_UUID=$(new_uuid)
  OSD_ID=$(C osd new "$OSD_UUID") || { fail "osd new failed"; return 1; }
  ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$BASE/log/mkfs.log" 2>&1 \
      || { fail "osd mkfs failed"; return 1; }
  spawn "osd.$OSD_ID" ceph-osd -c "$CONF" -i "$OSD_ID" -f
  wait_for 90 "osd up" bash -c "ceph -c '$CONF' --connect-timeout 10 osd dump | grep -q '^osd.$OSD_ID up'" \
      || { fail "osd did not come up"; return 1; }

  spawn rgw radosgw -c "$CONF" -n client.rgw.a -f
  wait_for 120 "rgw http" curl -sf "http://127.0.0.1:$PORT/" || { fail "radosgw did not answer"; return 1; }

  radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$BASE/user.json" \
      2>>"$BASE/log/radosgw-admin.log" || { fail "user create failed"; return 1; }
  chmod 600 "$BASE/user.json"
  if [ "$STS" = 1 ]; then
    radosgw-admin -c "$CONF" caps add --uid=test --caps="roles=*" >/dev/null 2>>"$BASE/log/radosgw-admin.log"
    radosgw-admin -c "$CONF" role create --role-name=S3Access --path=/application_abc/ \
      --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/test"]},"Action":["sts:AssumeRole"]}]}' \
      >/dev/null 2>>"$BASE/log/radosgw-admin.log"
    radosgw-admin -c "$CONF" role-policy put --role-name=S3Access --policy-name=AllowS3 \
      --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}' \
      >/dev/null 2>>"$BASE/log/radosgw-admin.log"
    echo "STS_ROLE_ARN=arn:aws:iam:::role/application_abc/S3Access"
  fi
  local t1; t1=$(date +%s.%N)
  cat <<OUT
RGW_ENDPOINT=http://127.0.0.1:$PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_DEFAULT_REGION=us-east-1
CEPH_CONF=$CONF
STARTUP_SECONDS=$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")
OUT
}

do_status() {
  local f pid n
  for f in "$PIDS"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); n=$(basename "$f" .pid)
    if kill -0 "$pid" 2>/dev/null; then
      echo "$n pid=$pid rss_kib=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")"
    else
      echo "$n pid=$pid DEAD"
    fi
  done
  curl -s -o /dev/null -w "rgw http=%{http_code}\n" "http://127.0.0.1:$PORT/" || true
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
