#!/usr/bin/env bash
# moto_server as a local S3 (plus IAM and STS) upstream for s3warden, on
# 127.0.0.1 only. Usage: moto.sh start|stop|status|restart
#
# Two modes (MOTO_AUTH):
#   1 (default) auth on. moto checks SigV4 and IAM policies for every call
#     after the first INITIAL_NO_AUTH_ACTION_COUNT ones; this script spends
#     exactly those first calls creating the proxy's IAM user, its policy and
#     its access key (moto cannot import a chosen key, so the key it made is
#     printed), then, signed with that key, the buckets and an assumable role
#     (for the proxy's assume-role credential provider).
#   0 auth off: any key is accepted. moto's own signature check re-encodes an
#     already-encoded URL, so with auth on it refuses correctly signed
#     requests for keys holding + = % or non-ASCII and for prefix=dir/
#     (see README.md, "Known limits of moto"); the odd-keys matrix runs
#     against this mode instead.
#
# Env: MOTO_PORT (7490), MOTO_BASE (/tmp/s3warden-moto/$MOTO_PORT, wiped on
# start), MOTO_AUTH (1), MOTO_BUCKETS (space separated, created on start),
# MOTO_REGION (us-east-1), S3W_PYTHON (a Python with boto3; default python3).
# `start` prints KEY=VALUE lines (also saved in $MOTO_BASE/env):
#   MOTO_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
#   MOTO_ROLE_ARN, MOTO_BASE_ACCESS_KEY_ID, MOTO_BASE_SECRET_ACCESS_KEY (auth
#   on only: a user allowed nothing but sts:AssumeRole on that role)
#   MOTO_PID STARTUP_SECONDS
set -u
PORT=${MOTO_PORT:-7490}
BASE=${MOTO_BASE:-/tmp/s3warden-moto/$PORT}
AUTH=${MOTO_AUTH:-1}
BUCKETS=${MOTO_BUCKETS:-}
REGION=${MOTO_REGION:-us-east-1}
PY=${S3W_PYTHON:-python3}
ENDPOINT=http://127.0.0.1:$PORT

log() { echo "[moto.sh $(date +%T)] $*" >&2; }

find_moto() {
  # Prefer the moto_server next to the Python that has boto3 (install-deps.sh
  # may have made a venv), then PATH.
  local d; d=$(dirname "$(command -v "$PY" 2>/dev/null || echo "$PY")")
  if [ -x "$d/moto_server" ]; then echo "$d/moto_server"; return; fi
  command -v moto_server || true
}

do_stop() {
  local f=$BASE/moto.pid pid
  [ -f "$f" ] || { log "nothing to stop on port $PORT"; return 0; }
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "moto ($pid) did not exit, SIGKILL"; kill -KILL "$pid"; fi
    log "stopped moto_server pid $pid (port $PORT)"
  fi
  rm -f "$f"
}

do_start() {
  local t0 moto pid
  t0=$(date +%s.%N)
  do_stop
  moto=$(find_moto)
  [ -n "$moto" ] || { log "moto_server not found (pip install 'moto[server]', or run deploy/install-deps.sh)"; return 1; }
  if curl -s -o /dev/null "$ENDPOINT/moto-api/" 2>/dev/null; then
    log "port $PORT is already in use"; return 1
  fi
  rm -rf "$BASE"; mkdir -p "$BASE"
  # The no-auth budget: CreateUser, PutUserPolicy, CreateAccessKey. Health
  # checks below use /moto-api/, which is not counted.
  local budget=3
  if [ "$AUTH" = 1 ]; then
    env MOTO_PORT="$PORT" INITIAL_NO_AUTH_ACTION_COUNT=$budget \
      setsid "$moto" -H 127.0.0.1 -p "$PORT" >>"$BASE/moto.log" 2>&1 </dev/null &
  else
    env -u INITIAL_NO_AUTH_ACTION_COUNT setsid "$moto" -H 127.0.0.1 -p "$PORT" \
      >>"$BASE/moto.log" 2>&1 </dev/null &
  fi
  pid=$!
  echo "$pid" >"$BASE/moto.pid"
  local end=$(( $(date +%s) + 30 ))
  until curl -sf -o /dev/null "$ENDPOINT/moto-api/"; do
    if ! kill -0 "$pid" 2>/dev/null; then log "moto_server exited; see $BASE/moto.log"; tail -5 "$BASE/moto.log" >&2; return 1; fi
    if [ "$(date +%s)" -ge "$end" ]; then log "TIMEOUT waiting for moto on $PORT"; do_stop; return 1; fi
    sleep 0.1
  done
  log "started moto_server pid $pid on $ENDPOINT (auth=$AUTH)"

  MOTO_ENDPOINT=$ENDPOINT MOTO_AUTH=$AUTH MOTO_BUCKETS=$BUCKETS MOTO_REGION=$REGION \
    "$PY" - >"$BASE/env.tmp" <<'PY' || { log "provisioning failed"; do_stop; return 1; }
import json, os
import boto3
from botocore.config import Config

ep = os.environ["MOTO_ENDPOINT"]
region = os.environ["MOTO_REGION"]
auth = os.environ["MOTO_AUTH"] == "1"
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})

def client(svc, ak, sk):
    return boto3.client(svc, endpoint_url=ep, region_name=region, config=cfg,
                        aws_access_key_id=ak, aws_secret_access_key=sk)

allow_all = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
if auth:
    # The three unauthenticated calls moto allows (INITIAL_NO_AUTH_ACTION_COUNT).
    iam = client("iam", "bootstrap", "bootstrap")
    iam.create_user(UserName="s3warden-proxy")
    iam.put_user_policy(UserName="s3warden-proxy", PolicyName="all",
                        PolicyDocument=allow_all)
    key = iam.create_access_key(UserName="s3warden-proxy")["AccessKey"]
    ak, sk = key["AccessKeyId"], key["SecretAccessKey"]
    # From here on every call is signed and checked.
    iam = client("iam", ak, sk)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": ["arn:aws:iam::123456789012:user/s3warden-proxy",
                               "arn:aws:iam::123456789012:user/s3warden-base"]}}]})
    role = iam.create_role(RoleName="s3warden-upstream",
                           AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="s3warden-upstream", PolicyName="all",
                        PolicyDocument=allow_all)
    print("MOTO_ROLE_ARN=" + role["Arn"])
    # A base identity that may only assume that role: a proxy configured
    # with it works only if it really re-signs with the assumed role.
    iam.create_user(UserName="s3warden-base")
    iam.put_user_policy(UserName="s3warden-base", PolicyName="assume-only",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Resource": role["Arn"]}]}))
    base = iam.create_access_key(UserName="s3warden-base")["AccessKey"]
    print("MOTO_BASE_ACCESS_KEY_ID=" + base["AccessKeyId"])
    print("MOTO_BASE_SECRET_ACCESS_KEY=" + base["SecretAccessKey"])
else:
    ak, sk = "AKIAMOTOAUTHOFF00001", "moto-auth-off-any-secret-works-000000000"
s3 = client("s3", ak, sk)
for b in os.environ["MOTO_BUCKETS"].split():
    s3.create_bucket(Bucket=b)
print("AWS_ACCESS_KEY_ID=" + ak)
print("AWS_SECRET_ACCESS_KEY=" + sk)
PY
  mv "$BASE/env.tmp" "$BASE/env.part"
  local t1; t1=$(date +%s.%N)
  {
    echo "MOTO_ENDPOINT=$ENDPOINT"
    cat "$BASE/env.part"
    echo "AWS_DEFAULT_REGION=$REGION"
    echo "MOTO_PID=$pid"
    echo "STARTUP_SECONDS=$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")"
  } >"$BASE/env"
  rm -f "$BASE/env.part"
  chmod 600 "$BASE/env"
  cat "$BASE/env"
}

do_status() {
  local f=$BASE/moto.pid pid
  if [ -f "$f" ] && pid=$(cat "$f") && kill -0 "$pid" 2>/dev/null; then
    echo "moto pid=$pid port=$PORT rss_kib=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")"
  else
    echo "moto not running (port $PORT)"; return 1
  fi
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
