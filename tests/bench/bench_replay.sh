#!/usr/bin/env bash
# bench_replay.sh - `s3warden replay` throughput on one core (issue 16:
# "at least 500,000 records a second on one core"), and its memory.
#
# Writes N synthetic audit records shaped like serve's (userIdentity,
# actions, resources, decision, a ~25-key requestContext; a mix of the demo
# config's callers, operations and keys, allowed and denied), then times
#   taskset -c 0 s3warden replay --config deploy/examples/demo.json LOG
# against the same config (no flips) and against one with a guardrail (1
# in 45 records flips: the admin's PUTs outside incoming/), from a plain
# file and from gzip.
#
# Usage: tests/bench/bench_replay.sh [S3WARDEN_BIN] [RECORDS]
# (default build/proxy/s3warden, 1000000). Prints records/s and max RSS.
set -euo pipefail
BIN=${1:-${S3W_BIN:-build/proxy/s3warden}}
N=${2:-1000000}
PY=${S3W_PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$BIN" ] || { echo "bench: s3warden binary $BIN not found" >&2; exit 2; }
W=$(mktemp -d /tmp/s3w-bench-replay.XXXXXX)
trap 'rm -rf "$W"' EXIT

"$PY" - "$W" "$N" "$ROOT/deploy/examples/demo.json" <<'PYEOF'
import json, random, sys
w, n, demo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(16)
cfg = json.load(open(demo))
json.dump(cfg, open(f"{w}/same.json", "w"))
cfg["guardrails"] = [{"name": "puts-only-incoming", "document": {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "PutsOnlyIncoming", "Effect": "Deny", "Action": "s3:PutObject",
     "NotResource": "arn:aws:s3:::acme-shared/incoming/*"}]}}]
json.dump(cfg, open(f"{w}/guard.json", "w"))
callers = [  # (type, arn, principalId, account, decision per op)
    ("IAMUser", "arn:aws:iam::111111111111:user/acme-admin", "AIDAACMEADMIN0000001", "111111111111", "Allowed"),
    ("AssumedRole", "arn:aws:sts::222222222222:assumed-role/partner-reader/i-0123456789abcdef0",
     "AROAPARTNERREADER001:i-0123456789abcdef0", "222222222222", None),
    ("IAMUser", "arn:aws:iam::222222222222:user/partner-intern", "AIDAPARTNERINTERN001", "222222222222", "ExplicitlyDenied"),
]
ops = [("GetObject", "s3:GetObject"), ("PutObject", "s3:PutObject"), ("HeadObject", "s3:GetObject")]
out = open(f"{w}/audit.log", "w")
for i in range(n):
    typ, arn, pid, acct, dec = callers[i % 3]
    op, action = ops[(i // 3) % 3]
    key = ("incoming/" if i % 5 else "reports/") + f"obj-{i % 1000}.csv"
    if dec is None:  # the partner role: reads anything, writes incoming/ only
        dec = "Allowed" if action == "s3:GetObject" or key.startswith("incoming/") else "ImplicitlyDenied"
    ctx = {
        "aws:SourceIp": "127.0.0.1", "aws:CurrentTime": "2026-12-04T20:00:%02dZ" % (i % 60),
        "aws:EpochTime": str(1796414400 + i % 60), "aws:SecureTransport": "false",
        "aws:UserAgent": "aws-cli/2.15.0 Python/3.11.8 Linux/6.1 exe/x86_64.debian.12 command/s3.cp",
        "aws:RequestedRegion": "us-east-1", "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false", "s3:authType": "REST-HEADER",
        "s3:signatureversion": "AWS4-HMAC-SHA256", "s3:TlsVersion": None,
        "s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD", "s3:ResourceAccount": "111111111111",
        "aws:ResourceAccount": "111111111111",
        "aws:PrincipalArn": arn, "aws:PrincipalAccount": acct, "aws:userid": pid,
        "aws:PrincipalType": "User" if typ == "IAMUser" else "AssumedRole",
    }
    ctx = {k: v for k, v in ctx.items() if v is not None}
    if action == "s3:PutObject":
        ctx["s3:x-amz-storage-class"] = "STANDARD"
    rec = {"eventVersion": "1.0", "eventTime": "2026-12-04T20:00:00.000Z", "eventSource": "s3warden",
           "requestID": "%016X" % i, "upstreamRequestID": None, "sourceIPAddress": "127.0.0.1",
           "userAgent": ctx["aws:UserAgent"],
           "userIdentity": {"type": typ, "principalId": pid, "arn": arn, "accountId": acct,
                            "accessKeyId": "AKIAEXAMPLE00000000"},
           "eventName": op, "requestParameters": {"bucketName": "acme-shared", "key": key},
           "actions": [action], "resources": [f"arn:aws:s3:::acme-shared/{key}"],
           "decision": dec, "decidingStatements": None, "crossAccount": acct != "111111111111",
           "errorCode": None if dec == "Allowed" else "AccessDenied",
           "httpStatus": 200 if dec == "Allowed" else 403, "bytesIn": 0, "bytesOut": 1024,
           "latencyMs": 1, "upstreamLatencyMs": 1, "tls": None, "requestContext": ctx}
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
out.close()
PYEOF
gzip -k -1 "$W/audit.log"
SIZE=$(stat -c %s "$W/audit.log")
echo "records: $N ($((SIZE / N)) bytes each, $((SIZE / 1048576)) MiB)"

run() { # name config file
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M %U %S" -o "$W/rss" taskset -c 0 "$BIN" replay --config "$2" "$3" >"$W/out" || rc=$?
  t1=$(date +%s.%N)
  [ "$rc" -le 1 ] || { echo "bench: replay failed ($rc)" >&2; cat "$W/out" >&2; exit 1; }
  "$PY" - "$1" "$t0" "$t1" "$N" "$(tail -1 "$W/rss")" "$W/out" <<'PYEOF'
import sys
name, t0, t1, n, res, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
rss, usr, sys_ = res.split()
cpu = float(usr) + float(sys_)
lines = {l.split("  ")[0].strip(): l.split()[-1] for l in open(out) if l[:1].isalpha() and "  " in l}
# wall-clock rate, and the rate per second of CPU the process used (the
# same on an idle machine; on a busy one the CPU figure is the fairer)
print(f"{name:22s} {n / (t1 - t0):>10,.0f} records/s wall, {n / cpu:>10,.0f} per CPU-second;"
      f" {t1 - t0:5.2f} s, max RSS {int(rss) / 1024:.1f} MiB"
      f"  (unchanged {lines.get('unchanged')}, newly denied {lines.get('newly denied')},"
      f" not replayable {lines.get('not replayable')})")
PYEOF
}
run "same config, plain" "$W/same.json" "$W/audit.log"
run "guardrail, plain" "$W/guard.json" "$W/audit.log"
run "guardrail, gzip" "$W/guard.json" "$W/audit.log.gz"
