#!/usr/bin/env python3
"""`s3warden explain` on the command line (issue 16): usage errors exit 2
with the reason; --source-ip, --tls, --time, --header and --context reach
the condition keys (a guardrail whose statements each test one of them
flips with the option); LIST and COPY map to the operations serve maps
them to; --json carries the per-statement trace and the request context.
The README's worked examples (config/test_docs_fields) cover the seeds.

Needs S3W_BIN and S3W_SOURCE_ROOT (set by meson)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import BIN, SEED2, check, run_main  # noqa: E402

ADMIN = "arn:aws:iam::111111111111:user/admin"


def run(*args):
    r = subprocess.run([BIN, "explain", *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def guarded_config(tmp):
    """seed 002 with a guardrail on otherbucket whose Deny statements each
    test one option of explain."""
    with open(SEED2) as f:
        cfg = json.load(f)
    deny = lambda sid, cond: {"Sid": sid, "Effect": "Deny", "Action": "s3:*",  # noqa: E731
                              "Resource": "arn:aws:s3:::otherbucket/*", "Condition": cond}
    cfg["guardrails"] = [{"name": "g", "document": {"Version": "2012-10-17", "Statement": [
        {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
        deny("OfficeOnly", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        deny("TlsOnly", {"Bool": {"aws:SecureTransport": "false"}}),
        deny("Until2030", {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        deny("NoPublic", {"StringEquals": {"s3:x-amz-acl": "public-read"}}),
        deny("Tagged", {"ForAnyValue:StringEquals": {"aws:TagKeys": "secret-project"}}),
    ]}}]
    path = os.path.join(tmp, "guarded.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def main(tmp):
    # usage: exit 2, nothing on stdout, the reason on stderr
    for args, reason in [
        ([], "usage: s3warden explain --config FILE --as"),
        (["--config", SEED2, "GET", "s3://b/k"], "usage: s3warden explain"),
        (["--config", SEED2, "--as", ADMIN, "FETCH", "s3://b/k"], "METHOD must be GET, PUT, DELETE, HEAD, POST, LIST or COPY: FETCH"),
        (["--config", SEED2, "--as", ADMIN, "COPY", "s3://b/k"], "COPY takes a source and a destination"),
        (["--config", SEED2, "--as", ADMIN, "GET", "b/k"], "the object must be given as s3://BUCKET/KEY"),
        (["--config", SEED2, "--as", ADMIN, "--bogus", "GET", "s3://b/k"], "unknown option or missing value: --bogus"),
        (["--config", SEED2, "--as", ADMIN, "--time", "yesterday", "GET", "s3://b/k"], "--time must be ISO 8601"),
        (["--config", SEED2, "--as", ADMIN, "--header", "x-amz-acl", "GET", "s3://b/k"], "--header must be 'Name: value'"),
        (["--config", SEED2, "--as", ADMIN, "--context", "novalue", "GET", "s3://myexamplebucket/k"], "bad --context"),
        (["--config", SEED2, "--as", "AKIANOTINTHECONFIG01", "GET", "s3://b/k"], "--as AKIANOTINTHECONFIG01: not an active access key id of this config"),
        (["--config", SEED2, "--as", "arn:aws:iam::111111111111:user/nobody", "GET", "s3://b/k"], "no user, account root or role session of the config has this ARN"),
        (["--config", "/nonexistent.json", "--as", ADMIN, "GET", "s3://b/k"], "/nonexistent.json"),
    ]:
        rc, out, err = run(*args)
        check(rc == 2 and out == "" and reason in err, f"usage {args}: rc={rc} out={out!r} err={err!r}")

    g = guarded_config(tmp)
    base = ["--config", g, "--as", ADMIN, "--source-ip", "10.1.2.3", "--tls",
            "--time", "2026-06-01T00:00:00Z"]
    rc, out, _ = run(*base, "PUT", "s3://otherbucket/k")
    check(rc == 0 and "decision   Allowed" in out, f"all conditions met: {rc} {out}")
    for extra, sid, because in [
        (["--source-ip", "192.0.2.1"], "OfficeOnly", 'NotIpAddress "aws:SourceIp"'),
        (["--time", "2031-01-01T00:00:00Z"], "Until2030", None),
        (["--time", "1924992000"], "Until2030", None),  # 2031-01-01 as epoch seconds
        (["--header", "x-amz-acl: public-read"], "NoPublic", None),
        (["--context", "aws:TagKeys=a", "--context", "aws:TagKeys=secret-project"], "Tagged", None),
    ]:
        rc, out, _ = run(*(base + extra), "PUT", "s3://otherbucket/k")
        check(rc == 3 and f"deciding: g:{sid}" in out and "decision   ExplicitlyDenied" in out,
              f"{extra} -> {sid}: rc={rc}\n{out}")
    # --tls off: SecureTransport false
    rc, out, _ = run("--config", g, "--as", ADMIN, "--source-ip", "10.1.2.3", "--time",
                     "2026-06-01T00:00:00Z", "PUT", "s3://otherbucket/k")
    check(rc == 3 and "deciding: g:TlsOnly" in out, f"no --tls: {out}")
    # why the others did not match, with the values compared
    rc, out, _ = run(*base, "--context", "aws:TagKeys=a", "PUT", "s3://otherbucket/k")
    for line in [
        'no match    OfficeOnly (Deny): Condition NotIpAddress "aws:SourceIp": request ["10.1.2.3"], policy ["10.0.0.0/8"]: a value matches (negated operator)',
        'no match    TlsOnly (Deny): Condition Bool "aws:SecureTransport": request ["true"], policy ["false"]: no match',
        'no match    NoPublic (Deny): Condition StringEquals "s3:x-amz-acl": the key is absent from the request (missing key; the operator is not ...IfExists)',
        'no match    Tagged (Deny): Condition ForAnyValue:StringEquals "aws:TagKeys": request ["a"], policy ["secret-project"]: ForAnyValue: no request value matches a policy value',
    ]:
        check(line in out, f"trace line missing: {line}\n{out}")

    # --context overrides an identity key: seed 002's Deny tests aws:userid
    rc, _, _ = run("--config", SEED2, "--as", ADMIN, "GET", "s3://myexamplebucket/k")
    check(rc == 3, "admin denied on myexamplebucket")
    rc, out, _ = run("--config", SEED2, "--as", ADMIN, "--context", "aws:userid=AIDAEXAMPLEID",
                     "GET", "s3://myexamplebucket/k")
    check(rc == 0, f"--context aws:userid: {out}")

    # LIST and COPY are the operations serve maps; --json has the trace and the context
    rc, out, _ = run("--config", SEED2, "--as", "AKIAROLESESSION00001", "--json", "LIST",
                     "s3://myexamplebucket/logs/2026")
    j = json.loads(out)
    check(rc == 0 and j["operation"] == "ListObjectsV2" and j["decision"] == "Allowed", out)
    check(j["requestContext"].get("s3:prefix") == "logs/2026", j["requestContext"])
    check(j["requestContext"].get("aws:SourceIp") == "127.0.0.1", "default source ip")
    a = j["authorizations"][0]
    check((a["action"], a["resource"]) == ("s3:ListBucket", "arn:aws:s3:::myexamplebucket"), a)
    bp = [p for p in a["policies"] if p["type"] == "bucket"][0]["statements"][0]
    check(bp["matched"] is False and bp["notMatched"] == "condition" and bp["operator"] == "StringNotLike"
          and bp["key"] == "aws:userId", bp)
    rc, out, _ = run("--config", SEED2, "--as", "AKIAROLESESSION00001", "--json", "COPY",
                     "s3://otherbucket/a b.txt", "s3://myexamplebucket/copy.txt")
    j = json.loads(out)
    pairs = [(a["action"], a["resource"]) for a in j["authorizations"]]
    check(j["operation"] == "CopyObject" and ("s3:PutObject", "arn:aws:s3:::myexamplebucket/copy.txt") in pairs
          and ("s3:GetObject", "arn:aws:s3:::otherbucket/a b.txt") in pairs, pairs)
    check(j["requestContext"].get("s3:x-amz-copy-source") == "otherbucket/a b.txt", j["requestContext"])
    # anonymous: the principal side is not evaluated; an unlisted bucket is refused first
    rc, out, _ = run("--config", SEED2, "--as", "anonymous", "GET", "s3://myexamplebucket/k")
    check(rc == 3 and "identity policies: not evaluated (anonymous caller)" in out, out)
    # anonymous aws:userid / aws:PrincipalType: present, values undocumented
    # (IAM-SEMANTICS 6), so compared the way that denies, as serve does
    with open(SEED2) as f:
        cfg = json.load(f)
    other = next(b for b in cfg["buckets"] if b["name"] == "otherbucket")
    other["policy"] = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::otherbucket/*"},
        {"Sid": "OnlyAnonymous", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::otherbucket/*",
         "Condition": {"StringNotEquals": {"aws:PrincipalType": "Anonymous"}}}]}
    anon_path = os.path.join(tmp, "anon.json")
    with open(anon_path, "w") as f:
        json.dump(cfg, f)
    rc, out, _ = run("--config", anon_path, "--as", "anonymous", "GET", "s3://otherbucket/k")
    check(rc == 3 and "deciding: bucket-policy:OnlyAnonymous" in out, out)
    # a Deny that applies only through an unconfirmed reading says which:
    # the Kelvin sign folds to "k" (case beyond ASCII, IAM-SEMANTICS 4.2)
    other["policy"] = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Kelvin", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::otherbucket/\u212a"}]}
    with open(anon_path, "w") as f:
        json.dump(cfg, f)
    rc, out, _ = run("--config", anon_path, "--as", ADMIN, "GET", "s3://otherbucket/k")
    line = ('matched     Kelvin (Deny): Resource: "arn:aws:s3:::otherbucket/k" is listed only when '
            "case is ignored beyond ASCII: whether Resource ignores case is unconfirmed, read the "
            "way that denies")
    check(rc == 3 and line in out, out)
    rc, out, _ = run("--config", anon_path, "--as", ADMIN, "--json", "GET", "s3://otherbucket/k")
    st = json.loads(out)["authorizations"][0]["policies"][0]["statements"][0] if rc == 3 else {}
    check(st.get("matched") is True and "beyond ASCII" in st.get("reading", ""), out)
    rc, out, _ = run("--config", SEED2, "--as", ADMIN, "GET", "s3://unlisted/k")
    check(rc == 3 and "because the bucket is not configured in s3warden" in out, out)
    # an operation S3 does not have is refused before any policy
    rc, out, _ = run("--config", SEED2, "--as", ADMIN, "GET", "s3://myexamplebucket/k?bogus-subresource")
    check(rc == 3 and "501 NotImplemented" in out, out)


if __name__ == "__main__":
    run_main(main, "s3w-explain-")
