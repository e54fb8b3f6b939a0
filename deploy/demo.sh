#!/usr/bin/env bash
# The README's first command: installs what is needed, builds s3warden, and
# starts it in front of a local S3 (moto_server) with deploy/examples/demo.json
# - the seeds' partner scenario: account 111111111111 (acme) shares the
# bucket acme-shared with the role sessions of account 222222222222's role
# partner-reader, allowed by the bucket policy's aws:userid pattern
# "AROAPARTNERREADER001:*"; every other principal of the partner account is
# denied by an explicit Deny, even with s3:* in its own policy.
#
# Then prints aws cli commands to try (some allowed, some denied, with the
# reason) and leaves both servers running in the background.
#
#   bash deploy/demo.sh          # install, build, start, print the commands
#   bash deploy/demo.sh stop     # stop s3warden and moto_server
#   bash deploy/demo.sh status
#
# Env: S3W_DEMO_DIR (/tmp/s3warden-demo: logs, audit log, aws cli profiles),
#      S3W_DEMO_PORT (7470), S3W_DEMO_MOTO_PORT (7490),
#      S3W_DEMO_ADMIN_PORT (7471: /healthz, /readyz, /metrics),
#      S3W_DEMO_SKIP_BUILD=1 with S3W_BIN=... to use an existing binary
#      (the integration test does this).
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

STATE=${S3W_DEMO_DIR:-/tmp/s3warden-demo}
PORT=${S3W_DEMO_PORT:-7470}
MOTO_PORT=${S3W_DEMO_MOTO_PORT:-7490}
ADMIN_PORT=${S3W_DEMO_ADMIN_PORT:-7471}
# moto's own signature check (auth on) refuses correctly signed listings with
# a '/' in the prefix (`aws s3 ls s3://bucket/dir/`) - moto's bug, see
# README.md, "Known limits of moto" - so the demo runs it with auth off by
# default; s3warden checks every client signature itself either way.
# S3W_DEMO_MOTO_AUTH=1 turns it on.
MOTO_AUTH=${S3W_DEMO_MOTO_AUTH:-0}
ENDPOINT=http://127.0.0.1:$PORT
BUCKET=acme-shared

say() { printf '%s\n' "$*"; }
log() { printf '[demo] %s\n' "$*" >&2; }

stop_proxy() {
  local f=$STATE/s3warden.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "s3warden ($pid) did not stop, SIGKILL"; kill -KILL "$pid"; fi
    log "stopped s3warden pid $pid"
  fi
  rm -f "$f"
}

moto() { # moto <start|stop|status>
  MOTO_PORT=$MOTO_PORT MOTO_BASE=$STATE/moto MOTO_AUTH=$MOTO_AUTH MOTO_BUCKETS=$BUCKET \
    bash "$root/deploy/upstreams/moto.sh" "$1"
}

do_stop() {
  stop_proxy
  if [ -d "$STATE/moto" ]; then moto stop; fi
  log "demo stopped"
}

do_status() {
  local rc=0
  if [ -f "$STATE/s3warden.pid" ] && kill -0 "$(cat "$STATE/s3warden.pid")" 2>/dev/null; then
    say "s3warden pid=$(cat "$STATE/s3warden.pid") on $ENDPOINT"
  else
    say "s3warden not running"; rc=1
  fi
  moto status || rc=1
  return $rc
}

do_start() {
  if [ "${S3W_DEMO_SKIP_BUILD:-0}" != 1 ]; then
    log "installing dependencies (deploy/install-deps.sh)"
    eval "$(bash deploy/install-deps.sh | tail -n 1)"
    export S3W_PYTHON
    log "building (meson + ninja in build/)"
    if [ -d build ] && [ -f build/build.ninja ]; then
      ninja -C build >/dev/null
    else
      meson setup build >/dev/null && ninja -C build >/dev/null
    fi
    BIN=$root/build/proxy/s3warden
  else
    BIN=${S3W_BIN:?S3W_BIN must name the s3warden binary with S3W_DEMO_SKIP_BUILD=1}
  fi
  PY=${S3W_PYTHON:-$(command -v python3)}
  export S3W_PYTHON=$PY
  export PATH="$(dirname "$PY"):$PATH"
  command -v aws >/dev/null || { log "the aws cli is missing (deploy/install-deps.sh installs it)"; exit 1; }

  do_stop 2>/dev/null || true
  mkdir -p "$STATE"
  chmod 700 "$STATE"

  if [ "$MOTO_AUTH" = 1 ]; then
    log "starting moto_server on 127.0.0.1:$MOTO_PORT (auth on; creates the proxy's IAM user and key)"
  else
    log "starting moto_server on 127.0.0.1:$MOTO_PORT (its own signature check off: see deploy/demo.sh)"
  fi
  moto start >"$STATE/moto.env"
  # The proxy's own upstream credentials: the key moto made, handed to
  # s3warden through the environment (demo.json: credentials.chain = env).
  local up_ak up_sk
  up_ak=$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$STATE/moto.env")
  up_sk=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$STATE/moto.env")

  # demo.json as shipped, with the ports of this run.
  "$PY" - "$root/deploy/examples/demo.json" "$STATE/demo.json" "$PORT" "$MOTO_PORT" "$ADMIN_PORT" <<'PY'
import json, sys
src, dst, port, moto_port, admin_port = sys.argv[1:]
cfg = json.load(open(src))
cfg["listeners"][0]["port"] = int(port)
cfg["upstream"]["endpoint"] = f"http://127.0.0.1:{moto_port}"
cfg["admin"] = {"address": "127.0.0.1", "port": int(admin_port)}
json.dump(cfg, open(dst, "w"), indent=2)
PY
  "$BIN" validate --config "$STATE/demo.json" >&2

  log "starting s3warden on $ENDPOINT (audit log: $STATE/audit.log)"
  AWS_ACCESS_KEY_ID=$up_ak AWS_SECRET_ACCESS_KEY=$up_sk \
    setsid "$BIN" serve --config "$STATE/demo.json" >>"$STATE/audit.log" 2>>"$STATE/s3warden.log" </dev/null &
  echo $! >"$STATE/s3warden.pid"
  local ok=0
  for _ in $(seq 1 100); do
    if ! kill -0 "$(cat "$STATE/s3warden.pid")" 2>/dev/null; then break; fi
    if curl -s -o /dev/null "$ENDPOINT/"; then ok=1; break; fi
    sleep 0.1
  done
  if [ "$ok" != 1 ]; then
    log "s3warden did not start; its log:"; tail -20 "$STATE/s3warden.log" >&2
    do_stop; exit 1
  fi

  # aws cli profiles for the demo's identities (demo keys from demo.json:
  # inline secrets are for demos only).
  cat >"$STATE/credentials" <<'EOF'
[acme-admin]
aws_access_key_id = AKIADEMOACMEADMIN001
aws_secret_access_key = demo-acme-admin-secret-not-for-production

[partner-app]
# the partner's EC2 instance: role partner-reader, session i-0123456789abcdef0
aws_access_key_id = AKIADEMOPARTNERAPP01
aws_secret_access_key = demo-partner-app-secret-not-for-production

[partner-intern]
aws_access_key_id = AKIADEMOPARTNERINT01
aws_secret_access_key = demo-partner-intern-secret-not-for-prod

[partner-ci]
aws_access_key_id = AKIADEMOPARTNERCI001
aws_secret_access_key = demo-partner-ci-secret-not-for-production
EOF
  cat >"$STATE/config" <<'EOF'
[default]
region = us-east-1
s3 =
    addressing_style = path
    signature_version = s3v4
EOF
  for p in acme-admin partner-app partner-intern partner-ci; do
    printf '[profile %s]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' "$p" >>"$STATE/config"
  done
  chmod 600 "$STATE/credentials" "$STATE/config"
  export AWS_SHARED_CREDENTIALS_FILE=$STATE/credentials AWS_CONFIG_FILE=$STATE/config
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
  export AWS_EC2_METADATA_DISABLED=true

  # Demo objects, written through s3warden by acme's admin.
  printf 'Welcome, partner. Reports are under reports/, drop files in incoming/.\n' >"$STATE/README.txt"
  printf 'quarter,revenue\n2026-Q3,1234567\n' >"$STATE/2026-q3.csv"
  printf 'from the partner\n' >"$STATE/hello.txt"
  aws --endpoint-url "$ENDPOINT" --profile acme-admin s3 cp "$STATE/README.txt" "s3://$BUCKET/README.txt" >/dev/null
  aws --endpoint-url "$ENDPOINT" --profile acme-admin s3 cp "$STATE/2026-q3.csv" "s3://$BUCKET/reports/2026-q3.csv" >/dev/null

  local E='aws --endpoint-url '$ENDPOINT
  cat <<EOF

s3warden is running on $ENDPOINT in front of moto_server (127.0.0.1:$MOTO_PORT).
Config: deploy/examples/demo.json (copy with this run's ports: $STATE/demo.json)
Health and metrics: curl http://127.0.0.1:$ADMIN_PORT/readyz
                    curl http://127.0.0.1:$ADMIN_PORT/metrics

The scenario (seeds 000 and 002): acme (111111111111) owns s3://$BUCKET and
shares it with the role sessions of partner-reader in the partner account
(222222222222). Its bucket policy:
  - PartnerRoleSessionsRead: Allow Principal "*" s3:GetObject, s3:ListBucket
    when aws:userid is like "AROAPARTNERREADER001:*" (any session of the role);
  - PartnerRoleSessionsWriteIncoming: the same for s3:PutObject on incoming/*;
  - DenyEveryoneElse: Deny s3:* unless aws:userid is the role's, acme-admin's
    (AIDAACMEADMIN0000001) or the account's (111111111111).

Try these (profiles are in $STATE/credentials):

  export AWS_SHARED_CREDENTIALS_FILE=$STATE/credentials AWS_CONFIG_FILE=$STATE/config

  # ALLOWED - the partner's instance (role session AROAPARTNERREADER001:i-0123456789abcdef0)
  $E --profile partner-app s3 ls s3://$BUCKET/ --recursive
  $E --profile partner-app s3 cp s3://$BUCKET/reports/2026-q3.csv -
  $E --profile partner-app s3 cp $STATE/hello.txt s3://$BUCKET/incoming/hello.txt

  # DENIED - the same session writing outside incoming/: no statement allows it
  #   (AccessDenied: ... because no resource-based policy allows the s3:PutObject action)
  $E --profile partner-app s3api put-object --bucket $BUCKET --key reports/forged.csv --body $STATE/hello.txt

  # DENIED - partner-intern has s3:* in its own policy, but DenyEveryoneElse matches
  #   (AccessDenied: ... with an explicit deny in a resource-based policy)
  $E --profile partner-intern s3api get-object --bucket $BUCKET --key README.txt /dev/stdout

  # STS - partner-ci assumes partner-reader; the session is allowed by the same pattern
  $E --profile partner-ci sts assume-role --role-arn arn:aws:iam::222222222222:role/partner-reader --role-session-name ci-run
  #   then export the AccessKeyId / SecretAccessKey / SessionToken it prints as
  #   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and run, without --profile:
  #   $E s3 cp s3://$BUCKET/README.txt -

  # What happened, one JSON line per request (who, which role session, decision, deciding statement):
  tail -n 5 $STATE/audit.log

  # Why a request is denied, without a server:  build/proxy/s3warden simulate FILE.json

Running two of them now:
EOF
  say "\$ $E --profile partner-app s3 cp s3://$BUCKET/reports/2026-q3.csv -"
  aws --endpoint-url "$ENDPOINT" --profile partner-app s3 cp "s3://$BUCKET/reports/2026-q3.csv" - || true
  say "\$ $E --profile partner-intern s3api get-object --bucket $BUCKET --key README.txt /dev/stdout"
  aws --endpoint-url "$ENDPOINT" --profile partner-intern s3api get-object --bucket "$BUCKET" \
    --key README.txt /dev/stdout 2>&1 || true
  cat <<EOF

Both servers keep running in the background. Stop them with:

  bash deploy/demo.sh stop
EOF
}

case "${1:-start}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
