#!/usr/bin/env python3
"""Audit delivery to real receivers under outages (issue 13, "How it must be
shown"): the S3 sink writing CloudTrail's layout to a bucket on Ceph RGW,
the syslog sink over TLS (RFC 5425) to Debian's rsyslogd, and no record
lost across SIGHUP, SIGUSR1 and SIGTERM.

- RGW (the strict SigV4 one, deploy/upstreams/rgw.sh) is both s3warden's
  upstream and the trail bucket's store. After aws cli and boto3 traffic
  through s3warden, the objects under
  trail/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, decompressed, hold
  exactly one CloudTrail record per request: each request is tagged by its
  User-Agent (boto3's user_agent_extra, the cli's AWS_EXECUTION_ENV) and
  the records with the tag are counted against the requests sent.
- radosgw stopped under traffic (requests keep being answered: s3warden's
  own AccessDenied, and its 5xx for the unreachable upstream; each has a
  record) and started again: every record arrives. Duplicates (at least
  once) are counted by eventID and printed.
- rsyslogd with its gtls driver (package rsyslog-gnutls) listening for
  RFC 5425 on 127.0.0.1, with a server certificate from a CA the test
  makes with the openssl CLI: one message per request; rsyslogd stopped
  30 s under traffic, then started again: nothing lost (duplicates
  counted by requestID and printed).
- SIGUSR1 (reopen, after a logrotate-style rename), SIGHUP (a reload that
  adds a sink: audit settings take a restart, so the running sink keeps
  every record and the new one gets none) and SIGTERM while boto3 traffic
  runs with a syslog sink: every answer a client saw has its record, once,
  in the audit files and at rsyslogd, and the spool was drained at stop.
- A reload that changes audit settings says they take a restart
  (audit_reload_check); expected to fail until proxy/main.c's SIGHUP
  handler calls it.
"""
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import botocore.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403
from s3w_rsyslog import RSYSLOGD, Rsyslog  # noqa: E402

from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: E402

A = "111111111111"
BUCKET = "it-deliv"
TRAIL = "it-deliv-trail"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICEDELIVERY001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
W.bucket(BUCKET, A)
W.bucket(TRAIL, A)  # known to s3warden (so its requests are its own denials), not allowed

GTLS = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"
UP = None
RX = None  # rsyslogd listening on plain TCP, shared by the signal tests


# ---------------------------------------------------------------------------
# receivers
# ---------------------------------------------------------------------------
def make_ca(d):
    """A test CA and a server certificate for 127.0.0.1 (name "syslog.test"
    and IP 127.0.0.1), with the openssl CLI. Returns (ca, cert, key)."""
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    run = lambda *a: subprocess.run(["openssl"] + list(a), check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=s3warden audit test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=syslog.test")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:syslog.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    os.chmod(key, 0o600)
    return ca, cert, key


# ---------------------------------------------------------------------------
# s3warden and traffic
# ---------------------------------------------------------------------------
def file_ids(px, field):
    return [json.loads(line)[field] for line in complete_lines(px.audit_path)]


def proxy_with(name, sinks, **audit):
    def cfg(port, path):
        c = render_config(W, UP, port, path, admin=free_port(), decode_aws_chunked=True)
        c["audit"].update(audit)
        c["audit"]["sinks"] = sinks
        return c
    return Proxy(cfg, name).start()


def tagged(px, tag):
    """A boto3 client through px whose User-Agent carries tag, sending each
    request once (total_max_attempts, as s3w_it's default; said here
    because the counts below depend on it)."""
    return px.client(ALICE, user_agent_extra=tag, retries={"total_max_attempts": 1})


def call(fn, *a, **k):
    """One request: True if answered with success, False if with an S3
    error (it was answered: it has a record)."""
    try:
        r = fn(*a, **k)
        if "Body" in r:
            r["Body"].read()
        return True
    except ClientError:
        return False


def boto_round(s3, i, tag):
    """Five requests: PUT, GET, HEAD, a GET of a missing key (NoSuchKey from
    upstream), a denied PUT (AccessDenied from s3warden)."""
    call(s3.put_object, Bucket=BUCKET, Key=f"{tag}/k{i}", Body=b"x" * 100)
    call(s3.get_object, Bucket=BUCKET, Key=f"{tag}/k{i}")
    call(s3.head_object, Bucket=BUCKET, Key=f"{tag}/k{i}")
    call(s3.get_object, Bucket=BUCKET, Key=f"{tag}/missing{i}")
    call(s3.put_object, Bucket=TRAIL, Key="forged.json.gz", Body=b"x")
    return 5


def aws_tagged(px, tag, *args):
    """The aws cli with only ALICE's key; its User-Agent carries
    exec-env/TAG (botocore adds AWS_EXECUTION_ENV)."""
    cmd = [os.path.join(PYBIN, "aws") if os.path.exists(os.path.join(PYBIN, "aws")) else "aws",
           "--endpoint-url", px.endpoint] + [str(a) for a in args]
    env = cli_env(ALICE)
    env["AWS_EXECUTION_ENV"] = tag
    return CliResult(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120))


def setUpModule():
    global UP
    UP = Rgw(buckets=[BUCKET, TRAIL]).start()


def tearDownModule():
    cleanup_all()


# ---------------------------------------------------------------------------
# the S3 sink on RGW
# ---------------------------------------------------------------------------
CT_FIELDS = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
             "sourceIPAddress", "userAgent", "requestParameters", "additionalEventData",
             "requestID", "eventID", "readOnly", "resources", "eventType", "managementEvent",
             "recipientAccountId", "eventCategory")


def trail(prefix):
    """eventID -> record, eventID -> count, and key -> its first record,
    over every object under PREFIX/ in the trail bucket (read straight
    from RGW)."""
    s3 = UP.s3()
    recs, counts, keys = {}, {}, {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=TRAIL, Prefix=prefix + "/"):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=TRAIL, Key=o["Key"])["Body"].read()
            batch = json.loads(gzip.decompress(body))["Records"]
            keys[o["Key"]] = batch[0]
            for r in batch:
                recs[r["eventID"]] = r
                counts[r["eventID"]] = counts.get(r["eventID"], 0) + 1
    return recs, counts, keys


def s3_sink(prefix, spool):
    return {"type": "s3", "bucket": TRAIL, "prefix": prefix, "batch_seconds": 1,
            "spool_dir": spool}


class RgwTrail(Case):
    def wait_trail(self, px, prefix, timeout=30):
        """The trail once it holds every record of the audit file."""
        def done():
            want = set(file_ids(px, "eventID"))
            t = trail(prefix)
            return t if want and want <= set(t[0]) else None
        got = wait_until(done, timeout, 0.5)
        self.assertIsNotNone(got, "records missing from the trail: %d of %d; %s" % (
            len(set(file_ids(px, "eventID")) & set(trail(prefix)[0])),
            len(file_ids(px, "eventID")), px.log_tail()))
        return got

    def count_tag(self, recs, tag):
        return sum(1 for r in recs.values() if tag in r.get("userAgent", ""))

    def test_1_cli_and_boto3_one_record_per_request(self):
        px = proxy_with("deliv-rgw-1", [s3_sink("trail1", os.path.join(tmpdir("spool-r1"), "s3"))],
                        format="cloudtrail", account_id=A)
        s3 = tagged(px, "s3w-it/boto1")
        n_boto = sum(boto_round(s3, i, "boto1") for i in range(8))
        call(s3.list_objects_v2, Bucket=BUCKET, Prefix="boto1/")
        call(s3.delete_object, Bucket=BUCKET, Key="boto1/k0")
        n_boto += 2
        d = tmpdir("cli-r1")
        src = os.path.join(d, "small")
        with open(src, "wb") as f:
            f.write(os.urandom(3000))
        n_cli = 0
        for args in (("s3api", "put-object", "--bucket", BUCKET, "--key", "cli/a b+c", "--body", src),
                     ("s3api", "get-object", "--bucket", BUCKET, "--key", "cli/a b+c",
                      os.path.join(d, "back")),
                     ("s3api", "head-object", "--bucket", BUCKET, "--key", "cli/a b+c"),
                     ("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "cli/"),
                     ("s3api", "delete-object", "--bucket", BUCKET, "--key", "cli/a b+c")):
            self.assertCliOk(aws_tagged(px, "s3w-it-cli1", *args))
            n_cli += 1
        r = aws_tagged(px, "s3w-it-cli1", "s3api", "put-object", "--bucket", TRAIL, "--key", "x",
                       "--body", src)
        self.assertEqual(r.code, "AccessDenied", r)
        n_cli += 1
        with open(os.path.join(d, "back"), "rb") as f1, open(src, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())

        recs, counts, keys = self.wait_trail(px, "trail1")
        want = file_ids(px, "eventID")
        self.assertEqual(len(want), len(set(want)))
        self.assertEqual(sorted(counts), sorted(want))
        self.assertEqual(set(counts.values()), {1}, "a record delivered twice with RGW up")
        self.assertEqual(self.count_tag(recs, "s3w-it/boto1"), n_boto)
        self.assertEqual(self.count_tag(recs, "exec-env/s3w-it-cli1"), n_cli)
        for k, first in keys.items():
            self.assertRegex(k, r"^trail1/AWSLogs/%s/CloudTrail/%s/\d{4}/\d\d/\d\d/%s_CloudTrail_%s_"
                                r"\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$" % (A, REGION, A, REGION))
            # the date and minute are the batch's first record's, so that
            # a batch sent again later lands on the same key
            t = first["eventTime"]
            self.assertIn("/%s/%s/%s/" % (t[0:4], t[5:7], t[8:10]), k)
            self.assertIn("_%s%s%sT%s%sZ_" % (t[0:4], t[5:7], t[8:10], t[11:13], t[14:16]), k)
        names = {}
        for r in recs.values():
            for f in CT_FIELDS:
                self.assertIn(f, r)
            self.assertEqual((r["eventSource"], r["eventType"], r["eventCategory"],
                              r["managementEvent"], r["awsRegion"], r["recipientAccountId"]),
                             ("s3.amazonaws.com", "AwsApiCall", "Data", False, REGION, A))
            self.assertEqual(r["userIdentity"]["arn"], f"arn:aws:iam::{A}:user/alice")
            names[r["eventName"]] = names.get(r["eventName"], 0) + 1
        self.assertEqual(names.get("PutObject"), 8 + 8 + 1 + 1)  # 2 per boto round, 2 cli
        self.assertEqual(names.get("HeadObject"), 8 + 1)
        denied = [r for r in recs.values() if r["requestParameters"].get("bucketName") == TRAIL]
        self.assertEqual(len(denied), 9)
        self.assertEqual({r.get("errorCode") for r in denied}, {"AccessDenied"})
        cli_put = [r for r in recs.values() if "s3w-it-cli1" in r["userAgent"]
                   and r["eventName"] == "PutObject" and r["requestParameters"]["bucketName"] == BUCKET]
        self.assertEqual([r["requestParameters"]["key"] for r in cli_put], ["cli/a b+c"])
        print(f"\n  RGW trail: {n_boto} boto3 + {n_cli} aws cli requests, {len(recs)} records "
              f"in {len(keys)} objects, 0 duplicates", file=sys.stderr)

    def test_2_rgw_down_nothing_lost(self):
        px = proxy_with("deliv-rgw-2", [s3_sink("trail2", os.path.join(tmpdir("spool-r2"), "s3"))],
                        format="cloudtrail", account_id=A)
        s3 = tagged(px, "s3w-it/out2")
        n = sum(boto_round(s3, i, "out2") for i in range(3))
        self.wait_trail(px, "trail2")
        UP.stop_gateway()
        # whatever fails below, the next tests get their upstream back
        self.addCleanup(lambda: UP.s3() and (UP.gateway_alive() or UP.start_gateway()))
        t_end, i, down_seen = time.time() + 12, 0, False
        while time.time() < t_end:
            n += boto_round(s3, 100 + i, "out2")
            i += 1
            if not down_seen:
                rz = px.admin("/readyz").text
                down_seen = bool(re.search(r"s3 %s/trail2/: down \([^)]*\); \d+ bytes spooled"
                                           % TRAIL, rz))
            time.sleep(0.1)
        self.assertTrue(down_seen, "readyz never said the S3 sink was down")
        UP.start_gateway()
        for j in range(3):
            n += boto_round(s3, 1000 + j, "out2")
        recs, counts, keys = self.wait_trail(px, "trail2", 40)
        want = file_ids(px, "eventID")
        self.assertEqual(set(counts), set(want))
        other = [(r["eventName"], r.get("errorCode"), r["userAgent"][-40:]) for r in recs.values()
                 if "s3w-it/out2" not in r["userAgent"]]
        self.assertEqual(other, [])
        import collections
        self.assertEqual(len(want), n, (collections.Counter(
            (r["eventName"], r.get("errorCode")) for r in recs.values()),
            len(set(r["requestID"] for r in recs.values()))))
        self.assertEqual(self.count_tag(recs, "s3w-it/out2"), n)
        dups = sum(c - 1 for c in counts.values())
        failed = sum(1 for r in recs.values() if r.get("errorCode") not in (None, "AccessDenied",
                                                                              "NoSuchKey"))
        print(f"\n  RGW stopped 12 s under traffic: {n} requests ({failed} answered 5xx while "
              f"it was down), {len(counts)} records delivered in {len(keys)} objects, "
              f"{dups} duplicates (by eventID)", file=sys.stderr)
        self.assertTrue(wait_until(lambda: "audit: delivering to s3" in px.log_text(), 5))


# ---------------------------------------------------------------------------
# syslog over TLS (RFC 5425)
# ---------------------------------------------------------------------------
class SyslogTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(RSYSLOGD, os.X_OK) or not os.path.exists(GTLS):
            raise AssertionError("rsyslogd with its gtls driver is not installed (Debian "
                                 "packages rsyslog, rsyslog-gnutls). Run: sudo bash "
                                 "deploy/install-deps.sh")
        cls.ca, cls.cert, cls.key = make_ca(tmpdir("tls-ca"))

    def tls_sink(self, rs, spool):
        return {"type": "syslog", "address": "127.0.0.1", "port": rs.port, "spool_dir": spool,
                "tls": {"ca_file": self.ca, "server_name": "syslog.test"}}

    def wait_delivered(self, px, rs, timeout=30):
        def done():
            want = set(file_ids(px, "requestID"))
            return want and want <= set(rs.ids())
        return wait_until(done, timeout, 0.2)

    def test_3_tls_one_message_per_request(self):
        rs = Rsyslog("rsyslog-tls-3", (self.ca, self.cert, self.key)).start()
        px = proxy_with("deliv-tls-3", [self.tls_sink(rs, os.path.join(tmpdir("spool-t3"), "sl"))])
        s3 = tagged(px, "s3w-it/tls")
        n = sum(boto_round(s3, i, "tls3") for i in range(6))
        wait_until(lambda: len(file_ids(px, "requestID")) >= n, 5)
        self.assertTrue(self.wait_delivered(px, rs), "records not delivered: " + px.log_tail())
        ids = file_ids(px, "requestID")
        self.assertEqual(len(ids), n)
        got = rs.ids()
        self.assertEqual(sorted(got), sorted(ids))
        self.assertEqual(set(got.values()), {1}, "a record arrived twice with rsyslog up")
        self.assertIn(f"; syslog+tls 127.0.0.1:{rs.port}: ok", px.admin("/readyz").text)

    def test_4_tls_wrong_name_refused(self):
        # the receiver's certificate does not carry the name asked for: no
        # record leaves, the sink says why
        rs = Rsyslog("rsyslog-tls-4", (self.ca, self.cert, self.key)).start()
        sink = self.tls_sink(rs, os.path.join(tmpdir("spool-t4"), "sl"))
        sink["tls"]["server_name"] = "other.test"
        px = proxy_with("deliv-tls-4", [sink])
        s3 = px.client(ALICE)
        call(s3.put_object, Bucket=BUCKET, Key="tls4", Body=b"x")
        self.assertTrue(wait_until(lambda: "audit: cannot deliver to syslog" in px.log_text(), 10),
                        px.log_tail())
        rz = px.admin("/readyz").text
        self.assertRegex(rz, r"syslog\+tls 127\.0\.0\.1:%d: down \(Protocol error\); \d+ bytes spooled" % rs.port)
        time.sleep(1)
        self.assertEqual(rs.ids(), {})

    def test_5_tls_receiver_down_30s(self):
        rs = Rsyslog("rsyslog-tls-5", (self.ca, self.cert, self.key)).start()
        px = proxy_with("deliv-tls-5", [self.tls_sink(rs, os.path.join(tmpdir("spool-t5"), "sl"))])
        s3 = tagged(px, "s3w-it/tls")
        n = sum(boto_round(s3, i, "tls5") for i in range(2))
        self.assertTrue(self.wait_delivered(px, rs))
        rs.stop()
        t_end, i = time.time() + 30, 0
        while time.time() < t_end:
            n += boto_round(s3, 100 + i, "tls5")
            i += 1
            time.sleep(0.2)
        self.assertRegex(px.admin("/readyz").text,
                         r"syslog\+tls 127\.0\.0\.1:\d+: down \(Connection refused\); [1-9]\d* bytes spooled")
        rs.start()
        n += boto_round(s3, 1000, "tls5")
        self.assertTrue(self.wait_delivered(px, rs, 30), "records lost: %d of %d arrived" % (
            len(set(rs.ids()) & set(file_ids(px, "requestID"))), n))
        ids = file_ids(px, "requestID")
        self.assertEqual(len(ids), n)
        got = rs.ids()
        self.assertEqual(set(got), set(ids))
        dups = sum(c - 1 for c in got.values())
        print(f"\n  syslog over TLS, rsyslogd down 30 s: {n} requests, {len(got)} records "
              f"received, {dups} duplicates (by requestID)", file=sys.stderr)


# ---------------------------------------------------------------------------
# signals under traffic
# ---------------------------------------------------------------------------
class Traffic(threading.Thread):
    """boto3 requests through px in a loop until stopped: a PUT, a GET, a
    denied PUT. `seen` holds the x-amz-request-id of every answer (s3warden
    passes the upstream's on; its own answers carry its own); requests that
    got no answer (the listener closed by SIGTERM) are only counted."""

    def __init__(self, px, tag):
        super().__init__(daemon=True)
        self.s3 = tagged(px, tag)
        self.tag = tag
        self.seen, self.unanswered = [], 0
        self.halt = threading.Event()

    def one(self, fn, **k):
        try:
            r = fn(**k)
            if "Body" in r:
                r["Body"].read()
        except ClientError as e:
            r = e.response
        except (EndpointConnectionError, botocore.exceptions.ConnectionError,
                botocore.exceptions.HTTPClientError):
            self.unanswered += 1
            time.sleep(0.05)
            return
        self.seen.append(r["ResponseMetadata"]["RequestId"])

    def run(self):
        i = 0
        while not self.halt.is_set():
            self.one(self.s3.put_object, Bucket=BUCKET, Key=f"{self.tag}/{i}", Body=b"s" * 64)
            self.one(self.s3.get_object, Bucket=BUCKET, Key=f"{self.tag}/{i}")
            self.one(self.s3.put_object, Bucket=TRAIL, Key="forged", Body=b"x")
            i += 1


def records(*paths):
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out += [json.loads(l) for l in f.read().split(b"\n") if l.strip()]
    return out


class Signals(Case):
    @classmethod
    def setUpClass(cls):
        if not os.access(RSYSLOGD, os.X_OK):
            raise AssertionError("rsyslogd is not installed (Debian package rsyslog). Run: "
                                 "sudo bash deploy/install-deps.sh")

    # s3warden's SIGHUP handler (proxy/main.c) keeps the running audit and
    # says, with audit_reload_check, that changed audit settings take a
    # restart
    def test_7_reload_changing_sinks_says_restart(self):
        rs = Rsyslog("rsyslog-sig-7").start()
        sink = {"type": "syslog", "address": "127.0.0.1", "port": rs.port,
                "spool_dir": os.path.join(tmpdir("spool-s7"), "sl")}
        px = proxy_with("deliv-sig-7", [sink])
        px.config["audit"]["format"] = "s3warden"  # the same setting, spelt out: no change
        # the upstream's address and region are no syslog sink's settings
        # (nor the s3warden format's): changing them is no audit change
        up = px.config["upstream"]
        up["endpoint"] = up["endpoint"].replace("127.0.0.1", "localhost")
        up["region"] = "eu-west-3"
        px.write_config()
        px.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: px.log_text().count("reload done") == 1, 5))
        self.assertNotIn("reload: audit", px.log_text())
        px.config["audit"]["sinks"] = [dict(sink, port=rs.port + 1)]
        px.write_config()
        px.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: px.log_text().count("reload done") == 2, 5))
        self.assertIn("WARN reload: audit sinks changed; audit settings take a restart: records "
                      "keep going where they went (the running output, format and sinks)",
                      px.log_text())

    def test_8_long_record_is_one_message(self):
        # A record longer than rsyslog's default maxMessageSize (8 KiB): an
        # unsigned GET whose User-Agent places a forged syslog message where
        # rsyslog would cut. It was cut there, and the rest stored as a
        # message of its own (the ninth probe's "sshd ... Accepted password
        # for root"); now the sink cuts the record to fit, as JSON.
        rs = Rsyslog("rsyslog-long-8").start()
        px = proxy_with("deliv-long-8", [{"type": "syslog", "address": "127.0.0.1", "port": rs.port,
                                          "spool_dir": os.path.join(tmpdir("spool-s8"), "sl")}])
        forged = "<34>1 2026-01-01T00:00:00Z bastion sshd 4242 - - Accepted password for root"
        ua = "u" * 1000 + forged + "v" * 900
        # a key of control characters: each one six bytes in the record (\u0001)
        r = raw(px.endpoint, "GET", f"/{BUCKET}/" + "%01" * 900,
                {"Host": f"127.0.0.1:{px.port}", "User-Agent": ua})
        self.assertEqual(r.status, 403, r)
        rid = next(v for k, v in r.headers.items() if k.lower() == "x-amz-request-id")
        self.assertTrue(wait_until(lambda: rid in rs.ids(), 15), px.log_tail())
        time.sleep(0.5)  # anything the receiver made of the rest lands by now
        lines = list(complete_lines(rs.out))
        recs = [json.loads(line) for line in lines]  # every message is a whole JSON record
        mine = [x for x in recs if x["requestID"] == rid]
        self.assertEqual(len(mine), 1)
        self.assertTrue(mine[0]["syslogTruncated"])
        self.assertFalse(any(b"Accepted password" in line and b"syslogTruncated" not in line for line in lines))
        # the file keeps it whole
        whole = [x for x in px.audit() if x["requestID"] == rid]
        self.assertEqual(whole[0]["userAgent"], ua)
        self.assertNotIn("syslogTruncated", whole[0])
        self.assertGreater(len(json.dumps(whole[0])), 8000)

    def test_6_usr1_hup_term_under_traffic(self):
        rs = Rsyslog("rsyslog-sig-6").start()
        rs2 = Rsyslog("rsyslog-sig-6b").start()
        spool = os.path.join(tmpdir("spool-s6"), "sl")
        px = proxy_with("deliv-sig-6", [{"type": "syslog", "address": "127.0.0.1",
                                         "port": rs.port, "spool_dir": spool}])
        loads = [Traffic(px, f"sig6-{k}") for k in range(2)]
        for t in loads:
            t.start()
        self.assertTrue(wait_until(lambda: len(px.audit()) >= 30, 10), px.log_tail())
        # logrotate: the file renamed, then SIGUSR1 to reopen
        rotated = px.audit_path + ".1"
        os.rename(px.audit_path, rotated)
        px.proc.send_signal(signal.SIGUSR1)
        time.sleep(1.5)
        # a reload that adds a sink: audit settings take a restart, the
        # running sink keeps every record, the new one gets none
        px.config["audit"]["sinks"].append({"type": "syslog", "address": "127.0.0.1",
                                            "port": rs2.port,
                                            "spool_dir": os.path.join(tmpdir("spool-s6b"), "sl")})
        px.write_config()
        px.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in px.log_text(), 5), px.log_tail())
        time.sleep(1.5)
        answered_before_term = sum(len(t.seen) for t in loads)
        px.proc.send_signal(signal.SIGTERM)
        rc = px.proc.wait(30)
        for t in loads:
            t.halt.set()
            t.join(30)
        px.proc = None
        self.assertEqual(rc, 0)
        log = px.log_text()
        self.assertIn("SIGUSR1: reopening the audit log", log)
        tail = "\n".join(l for l in log.splitlines() if "request_id=" not in l)
        self.assertFalse("records unwritten" in log, tail)
        self.assertFalse("stay in" in log, tail)  # the spool was drained at stop
        seen = [rid for t in loads for rid in t.seen]
        recs = records(rotated, px.audit_path)
        before = records(rotated)
        self.assertTrue(before and len(recs) > len(before), "SIGUSR1 did not reopen the file: %d, %d records; %d answers; %s" % (
            len(before), len(recs), answered_before_term, log[:3000]))
        ids = [r["requestID"] for r in recs]
        self.assertEqual(len(ids), len(set(ids)), "a record written twice")
        known = set(ids) | {r.get("upstreamRequestID") for r in recs}
        missing = [rid for rid in seen if rid not in known]
        self.assertEqual(missing, [], "answers without a record")
        self.assertGreaterEqual(len(recs), len(seen))
        self.assertGreater(answered_before_term, 100)
        # every record reached the syslog sink before s3warden exited
        got = rs.ids()
        self.assertEqual(set(got), set(ids))
        self.assertEqual(rs2.ids(), {})
        print(f"\n  SIGUSR1, SIGHUP (sinks changed), SIGTERM under traffic: {len(seen)} answers "
              f"({sum(t.unanswered for t in loads)} requests unanswered after SIGTERM), "
              f"{len(recs)} records in the file, {len(got)} at rsyslogd, "
              f"{sum(c - 1 for c in got.values())} duplicates", file=sys.stderr)


if __name__ == "__main__":
    main()
