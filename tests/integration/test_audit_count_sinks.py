#!/usr/bin/env python3
"""One audit record per request under load, at every delivered sink at
once (issue 13, "100,000 requests under load with each sink: record count
equals request count").

test_audit_count.py's load (nginx origin serving a 1 KiB object, client
processes replaying pre-signed GETs and denied DELETEs over keep-alive,
every response head tallied by its x-amz-request-id), with
"format": "cloudtrail" and, besides the file output, both delivered sinks:
  - syslog to Debian's rsyslogd on plain TCP (test_audit_delivery.py's
    Rsyslog: each message's MSG part, the record, one line in a file);
  - S3, whose bucket is on the same nginx (its dav module stores each
    PUT .json.gz under its root): the objects under CloudTrail's layout,
    decompressed, {"Records": [...]}.
Once the load is done and both sinks' spools are drained
(s3warden_audit_sink_pending_bytes 0 for each), every response a client
saw has exactly one record in the file, at rsyslogd and in the bucket,
matched by the id the response carried (the record's
additionalEventData.upstreamRequestID when nginx answered, else its
requestID): none missing, none doubled (counted by requestID, printed
per sink). Nothing was stopped, so delivery at least once must not have
sent anything twice.

S3W_AUDIT_COUNT_TOTAL (a multiple of 20; CI does not set it) runs fewer
requests, to try the test out on a slow machine.
"""
import collections
import gzip
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

# the load, the origin and the world of test_audit_count.py (names only:
# its test classes must not run here too)
import test_audit_count as count  # noqa: E402
from test_audit_delivery import Rsyslog  # noqa: E402

A = count.A
TRAIL = "trail"  # a directory on the origin nginx, not a bucket s3warden serves
PREFIX = "count"
TOTAL = int(os.environ.get("S3W_AUDIT_COUNT_TOTAL", "100000"))
assert TOTAL > 0 and TOTAL % 20 == 0, "S3W_AUDIT_COUNT_TOTAL must be a multiple of 20"
KEY_RE = re.compile(r"^%s/AWSLogs/%s/CloudTrail/%s/\d{4}/\d\d/\d\d/%s_CloudTrail_%s_"
                    r"\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$" % (PREFIX, A, REGION, A, REGION))


def setUpModule():
    count.ORIGIN = count.Nginx().start()


def tearDownModule():
    cleanup_all()


class Tally:
    """One sink's records: own counts each record's requestID, seen the id
    its response carried (what a client tallied), kinds the CloudTrail
    (eventName, errorCode) of each."""

    def __init__(self):
        self.own, self.seen = collections.Counter(), collections.Counter()
        self.kinds = collections.Counter()

    def add(self, rec):
        self.own[rec["requestID"]] += 1
        self.kinds[(rec["eventName"], rec.get("errorCode"))] += 1
        self.seen[rec["additionalEventData"].get("upstreamRequestID") or rec["requestID"]] += 1

    def dups(self):
        return sum(n - 1 for n in self.own.values())


def json_lines(path):
    """Tally of a file of one JSON record a line (the audit file, or what
    rsyslogd wrote)."""
    t = Tally()
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                t.add(json.loads(line))
    return t


def lines(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def trail_objects():
    """Paths relative to the bucket of every object the S3 sink stored."""
    top = os.path.join(count.ORIGIN.root, TRAIL)
    out = []
    for d, _, files in os.walk(top):
        out += [os.path.relpath(os.path.join(d, f), top) for f in files]
    return sorted(out)


def trail():
    """Tally over every object under the bucket, and bytes stored."""
    t, size = Tally(), 0
    for key in trail_objects():
        with open(os.path.join(count.ORIGIN.root, TRAIL, key), "rb") as f:
            body = f.read()
        size += len(body)
        for rec in json.loads(gzip.decompress(body))["Records"]:
            t.add(rec)
    return t, size


def pending(px):
    """sink name -> s3warden_audit_sink_pending_bytes."""
    text = px.admin("/metrics").text
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'^s3warden_audit_sink_pending_bytes\{sink="([^"]*)"\} (\d+)$', text, re.M)}


class AuditCountSinks(Case):
    def test_one_record_per_request_100k_file_syslog_s3(self):
        rs = Rsyslog("rsyslog-count").start()
        spool = tmpdir("spool-count")
        sinks = [{"type": "syslog", "address": "127.0.0.1", "port": rs.port,
                  "spool_dir": os.path.join(spool, "syslog")},
                 {"type": "s3", "bucket": TRAIL, "prefix": PREFIX, "batch_seconds": 1,
                  "spool_dir": os.path.join(spool, "s3")}]

        def cfg(port, path):
            c = render_config(count.W, count.ORIGIN, port, path, sts=False, admin=free_port())
            c["audit"].update({"format": "cloudtrail", "account_id": A, "sinks": sinks})
            return c
        px = Proxy(cfg, "count-sinks").start()
        self.assertEqual(len(pending(px)), 2, px.admin("/metrics").text)

        t0 = time.time()
        procs, outs = count.run_load(px, TOTAL)
        rids, statuses, errors = count.collect(procs, outs, 170)
        took = time.time() - t0
        print(f"\n  {sum(rids.values())} responses in {took:.1f}s ({sum(rids.values()) / took:.0f}/s)"
              f" with the file, syslog and S3 sinks: {dict(statuses)}", file=sys.stderr)
        self.assertEqual(errors, [])
        self.assertEqual(statuses, {"200": TOTAL * 9 // 10, "403": TOTAL // 10})
        self.assertNotIn("-", rids, "a response without x-amz-request-id")
        self.assertEqual(len(rids), TOTAL, "request ids repeated in responses")

        # delivered: every record in the file, nothing pending for either
        # sink (the receivers took it all). Within 30 s: a sink that needs
        # several times the load's own duration to catch up could not
        # sustain its rate (the syslog sink's 256 KiB batches needed 83 s)
        t1 = time.time()
        spooled = lambda: lines(px.audit_path) >= TOTAL and set(pending(px).values()) == {0}
        self.assertTrue(wait_until(spooled, 30, 0.5),
                        f"not delivered 30 s after the load: {lines(px.audit_path)} records in "
                        f"the file, pending bytes {pending(px)}; {px.admin('/readyz').text}")
        drain = time.time() - t1
        # rsyslogd writes out what it took a moment later (if it falls
        # short, the tally below says which are missing)
        wait_until(lambda: lines(rs.out) >= TOTAL, 15, 0.2)
        time.sleep(1.5)  # past batch_seconds: nothing more may come
        self.assertEqual(set(pending(px).values()), {0})

        t2 = time.time()
        got = {"file": json_lines(px.audit_path), "syslog": json_lines(rs.out)}
        got["s3"], size = trail()
        keys = trail_objects()
        print(f"  delivered {drain:.1f}s after the load ended; read back in "
              f"{time.time() - t2:.1f}s. Records (duplicates by requestID): " +
              ", ".join(f"{k} {sum(t.own.values())} ({t.dups()})" for k, t in got.items()) +
              f"; S3: {len(keys)} objects, {size} bytes gzip'd", file=sys.stderr)
        for k in keys:
            self.assertRegex(k, KEY_RE)
        for name, t in got.items():
            with self.subTest(sink=name):
                missing = set(rids) - set(t.seen)
                self.assertEqual((len(missing), sorted(missing)[:5]), (0, []),
                                 f"responses without a record at {name}")
                self.assertEqual(t.dups(), 0, f"records doubled at {name}")
                self.assertEqual(sum(t.own.values()), TOTAL, name)
                self.assertEqual(t.seen, rids, name)
                self.assertEqual(t.kinds, {("GetObject", None): TOTAL * 9 // 10,
                                           ("DeleteObject", "AccessDenied"): TOTAL // 10})
        # the same records everywhere
        self.assertEqual(set(got["syslog"].own), set(got["file"].own))
        self.assertEqual(set(got["s3"].own), set(got["file"].own))
        self.assertTrue(px.alive())


if __name__ == "__main__":
    main()
