#!/usr/bin/env python3
"""One audit record per request, under load (issue 12, "Tests"): the audit
records are batched per worker and handed to the writer in whole buffers,
so a lost or doubled buffer would show here and nowhere else.

The origin is nginx serving a 1 KiB file (the point is the count, not S3
semantics; nginx keeps up where moto would not), adding its $request_id as
x-amz-request-id, which s3warden passes on to the client and records as the
record's upstreamRequestID. Clients: processes with keep-alive connections
replaying pre-signed requests (header SigV4, valid for the skew window; a
tenth of them a DeleteObject the bucket policy denies, answered by s3warden
itself with its own request id). Every response head a client sees is
tallied with its x-amz-request-id, and matched with the audit file:
  - 100,000 requests: exactly one record per response, none missing, none
    doubled;
  - SIGTERM under load: every response a client saw has its record, and
    there are at least as many records as responses;
  - issue 13, "100,000 requests under load with each sink": the same load
    with "format": "cloudtrail" and both delivered sinks besides the file:
    syslog to Debian's rsyslogd on plain TCP (s3w_rsyslog.py's
    Rsyslog: each message's MSG part, the record, one line in a file), and
    S3 with its bucket on the same nginx (its dav module stores each PUT
    .json.gz under its root, CloudTrail's key layout, {"Records": [...]}).
    Once both spools are drained (s3warden_audit_sink_pending_bytes 0,
    within 30 s of the load), every response has exactly one record in the
    file, at rsyslogd and in the bucket, matched by the id it carried (the
    record's additionalEventData.upstreamRequestID when nginx answered,
    else its requestID): none missing, none doubled (counted by requestID
    and printed per sink; nothing was stopped, so at least once must not
    have sent anything twice). S3W_AUDIT_COUNT_TOTAL (a multiple of 20;
    CI does not set it) runs fewer requests there, to try it out on a
    slow machine.
"""
import collections
import gzip
import json
import multiprocessing
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403
from s3w_rsyslog import Rsyslog  # noqa: E402

A = "111111111111"
BUCKET = "bkt"
W = World()
W.account(A)
LOADER = W.user(A, "loader", "AIDALOADER000000001", policies=[
    policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*"))])
W.bucket(BUCKET, A, policy=policy({"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*",
                                   "Action": "s3:DeleteObject",
                                   "Resource": f"arn:aws:s3:::{BUCKET}/*"}))
PROCS = 2        # client processes (the machine has 2 cores, shared)
CONNS = 16       # keep-alive connections per process
TOTAL = 100_000
PENDING = {}
ORIGIN = None


class Nginx(Upstream):
    """nginx in one foreground process serving BUCKET/1k and storing what
    is PUT under self.root; it ignores the proxy's signature (endpoint,
    access_key and secret_key are what render_config needs of an
    upstream)."""

    def start(self):
        if shutil.which("nginx") is None:
            raise AssertionError("nginx is not installed. Run: sudo bash deploy/install-deps.sh")
        self.port = free_port()
        d = tmpdir(f"nginx-{self.port}")
        self.root = os.path.join(d, "root")
        os.makedirs(os.path.join(d, "root", BUCKET), exist_ok=True)
        with open(os.path.join(d, "root", BUCKET, "1k"), "wb") as f:
            f.write(os.urandom(1024))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {d}; proxy_temp_path {d};
  fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{self.port};
    root {d}/root;
    add_header x-amz-request-id $request_id always;
    # PUT stores the object under root/ (AuditCountSinks' S3
    # audit sink delivers its batches here)
    client_max_body_size 0;
    location / {{ dav_methods PUT; create_full_put_path on; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", d], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        on_cleanup(self.stop)

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        if not wait_until(up, 10, 0.05):
            raise AssertionError("nginx did not listen")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key, self.secret_key = "AKIAUPSTREAMNGINX001", "upstream-secret-never-checked-by-nginx00"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def requests_for(px):
    """The raw requests the clients replay: nine GETs, one denied DELETE."""
    def one(method):
        url = f"{px.endpoint}/{BUCKET}/1k"
        h = sign(method, url, LOADER, payload_hash="UNSIGNED-PAYLOAD")
        lines = [f"{method} /{BUCKET}/1k HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()
    return [one("GET")] * 9 + [one("DELETE")]


HEAD_RE = re.compile(rb"^HTTP/1\.1 (\d{3}) ")
CL_RE = re.compile(rb"\r\ncontent-length: *(\d+)", re.I)
RID_RE = re.compile(rb"\r\nx-amz-request-id: *([^\r]*)", re.I)
CLOSE_RE = re.compile(rb"\r\nconnection: *close", re.I)


def client(port, reqs, quota, conns, out):
    """Sends `quota` requests over `conns` keep-alive connections, one at a
    time each; writes to `out` one "STATUS REQUEST-ID" line per response
    head seen, and "E ERROR" for a connection that broke or was refused.
    A broken connection is opened again; a refused one ends (s3warden
    stopped listening)."""
    sel = selectors.DefaultSelector()
    seen = []
    errors = []
    state = {"sent": 0}

    def send_next(s, st):
        if state["sent"] >= quota:
            sel.unregister(s)
            s.close()
            return
        st["buf"], st["need"] = b"", None
        try:
            s.sendall(reqs[state["sent"] % len(reqs)])
        except OSError as e:
            broken(s, st, e)
            return
        state["sent"] += 1

    def connect():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            errors.append(f"connect: {e}")
            return
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        st = {}
        sel.register(s, selectors.EVENT_READ, st)
        send_next(s, st)

    def broken(s, st, why):
        errors.append(f"{why}")
        sel.unregister(s)
        s.close()
        connect()

    for _ in range(conns):
        connect()
    while sel.get_map():
        for k, _ in sel.select(timeout=30):
            s, st = k.fileobj, k.data
            try:
                data = s.recv(65536)
            except OSError as e:
                broken(s, st, e)
                continue
            if not data:
                broken(s, st, "closed" + (" mid-response" if st["buf"] or st["need"] else ""))
                continue
            st["buf"] += data
            if st["need"] is None:
                end = st["buf"].find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = st["buf"][:end + 2]
                m = HEAD_RE.match(head)
                cl = CL_RE.search(head)
                rid = RID_RE.search(head)
                seen.append(f"{m.group(1).decode() if m else '???'} "
                            f"{rid.group(1).decode() if rid else '-'}")
                st["close"] = bool(CLOSE_RE.search(head))
                st["need"] = end + 4 + (int(cl.group(1)) if cl else 0)
            if len(st["buf"]) >= st["need"]:
                if st["close"]:
                    sel.unregister(s)
                    s.close()
                    connect()
                else:
                    send_next(s, st)
    with open(out, "w") as f:
        f.write("".join(x + "\n" for x in seen))
        f.write("".join(f"E {e}\n" for e in errors))


def run_load(px, total, conns=CONNS):
    """Starts the client processes; returns them and their output files."""
    reqs = requests_for(px)
    ctx = multiprocessing.get_context("fork")
    d = tmpdir(f"load-{px.port}")
    outs = [os.path.join(d, f"client{i}") for i in range(PROCS)]
    procs = [ctx.Process(target=client, args=(px.port, reqs, total // PROCS, conns, o))
             for o in outs]
    for p in procs:
        p.start()
        os.setpriority(os.PRIO_PROCESS, p.pid, 10)  # the machine is shared
    return procs, outs


def collect(procs, outs, timeout):
    """(Counter of response request ids, Counter of statuses, errors)."""
    end = time.time() + timeout
    for p in procs:
        p.join(max(1, end - time.time()))
        if p.is_alive():
            p.kill()
            raise AssertionError("a client process did not finish")
    rids, statuses, errors = collections.Counter(), collections.Counter(), []
    for o in outs:
        with open(o) as f:
            for line in f:
                status, rest = line.rstrip("\n").split(" ", 1)
                if status == "E":
                    errors.append(rest)
                else:
                    statuses[status] += 1
                    rids[rest] += 1
    return rids, statuses, errors


def record_ids(px):
    """Counter of the id each audit record's response carried: the
    upstream's request id when the answer came from it, else s3warden's;
    and Counter of s3warden's own request ids (one per record)."""
    ids, own = collections.Counter(), collections.Counter()
    with open(px.audit_path) as f:
        for line in f:
            rec = json.loads(line)
            own[rec["requestID"]] += 1
            ids[rec["upstreamRequestID"] or rec["requestID"]] += 1
    return ids, own


def audit_lines(px):
    with open(px.audit_path, "rb") as f:
        return f.read().count(b"\n")


def setUpModule():
    global ORIGIN
    ORIGIN = Nginx().start()


def tearDownModule():
    cleanup_all()


def proxy(name):
    return Proxy(lambda port, audit: render_config(W, ORIGIN, port, audit, sts=False), name).start()


class AuditCount(Case):
    def test_one_record_per_request_100k(self):
        px = proxy("count")
        t0 = time.time()
        procs, outs = run_load(px, TOTAL)
        rids, statuses, errors = collect(procs, outs, 150)
        took = time.time() - t0
        print(f"\n  {sum(rids.values())} responses in {took:.1f}s ({sum(rids.values()) / took:.0f}/s): "
              f"{dict(statuses)}", file=sys.stderr)
        self.assertEqual(errors, [])
        self.assertEqual(statuses, {"200": TOTAL * 9 // 10, "403": TOTAL // 10})
        self.assertNotIn("-", rids, "a response without x-amz-request-id")
        self.assertEqual(len(rids), TOTAL, "request ids repeated in responses")
        self.assertTrue(wait_until(lambda: audit_lines(px) >= TOTAL, 10),
                        f"{audit_lines(px)} audit records for {TOTAL} requests")
        time.sleep(0.2)  # nothing more may come
        ids, own = record_ids(px)
        self.assertEqual(sum(own.values()), TOTAL)
        self.assertEqual([r for r, n in own.items() if n > 1], [], "doubled audit records")
        self.assertEqual(sorted(set(rids) - set(ids))[:5], [], "responses without an audit record")
        self.assertEqual(ids, rids)
        self.assertTrue(px.alive())

    def test_sigterm_under_load(self):
        px = proxy("sigterm")
        procs, outs = run_load(px, 10_000_000)
        time.sleep(3)
        px.proc.send_signal(signal.SIGTERM)
        self.assertEqual(px.proc.wait(30), 0, px.log_tail())
        rids, statuses, errors = collect(procs, outs, 30)
        n = sum(rids.values())
        print(f"\n  {n} responses before and during the stop: {dict(statuses)}; "
              f"client errors: {collections.Counter(e.split(':')[0] for e in errors)}",
              file=sys.stderr)
        self.assertGreater(n, 2000, "too little load to mean anything")
        self.assertNotIn("-", rids, "a response without x-amz-request-id")
        ids, own = record_ids(px)
        self.assertEqual([r for r, c in own.items() if c > 1], [], "doubled audit records")
        missing = [r for r in rids if ids[r] < rids[r]]
        self.assertEqual(missing[:5], [], f"{len(missing)} responses without an audit record")
        print(f"  {sum(own.values())} audit records", file=sys.stderr)
        self.assertGreaterEqual(sum(own.values()), n)
        # the stop was under load: connections were cut or refused
        self.assertTrue(errors)


# AuditCountSinks: the S3 sink's bucket, the syslog receiver, the count
TRAIL = "trail"  # a directory on the origin nginx, not a bucket s3warden serves
PREFIX = "count"
SINKS_TOTAL = int(os.environ.get("S3W_AUDIT_COUNT_TOTAL", "100000"))
assert SINKS_TOTAL > 0 and SINKS_TOTAL % 20 == 0, "S3W_AUDIT_COUNT_TOTAL must be a multiple of 20"
KEY_RE = re.compile(r"^%s/AWSLogs/%s/CloudTrail/%s/\d{4}/\d\d/\d\d/%s_CloudTrail_%s_"
                    r"\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$" % (PREFIX, A, REGION, A, REGION))


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
    top = os.path.join(ORIGIN.root, TRAIL)
    out = []
    for d, _, files in os.walk(top):
        out += [os.path.relpath(os.path.join(d, f), top) for f in files]
    return sorted(out)


def trail():
    """Tally over every object under the bucket, and bytes stored."""
    t, size = Tally(), 0
    for key in trail_objects():
        with open(os.path.join(ORIGIN.root, TRAIL, key), "rb") as f:
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
            c = render_config(W, ORIGIN, port, path, sts=False, admin=free_port())
            c["audit"].update({"format": "cloudtrail", "account_id": A, "sinks": sinks})
            return c
        px = Proxy(cfg, "count-sinks").start()
        self.assertEqual(len(pending(px)), 2, px.admin("/metrics").text)

        t0 = time.time()
        procs, outs = run_load(px, SINKS_TOTAL)
        rids, statuses, errors = collect(procs, outs, 170)
        took = time.time() - t0
        print(f"\n  {sum(rids.values())} responses in {took:.1f}s ({sum(rids.values()) / took:.0f}/s)"
              f" with the file, syslog and S3 sinks: {dict(statuses)}", file=sys.stderr)
        self.assertEqual(errors, [])
        self.assertEqual(statuses, {"200": SINKS_TOTAL * 9 // 10, "403": SINKS_TOTAL // 10})
        self.assertNotIn("-", rids, "a response without x-amz-request-id")
        self.assertEqual(len(rids), SINKS_TOTAL, "request ids repeated in responses")

        # delivered: every record in the file, nothing pending for either
        # sink (the receivers took it all). Within 30 s: a sink that needs
        # several times the load's own duration to catch up could not
        # sustain its rate (the syslog sink's 256 KiB batches needed 83 s)
        t1 = time.time()
        spooled = lambda: lines(px.audit_path) >= SINKS_TOTAL and set(pending(px).values()) == {0}
        self.assertTrue(wait_until(spooled, 30, 0.5),
                        f"not delivered 30 s after the load: {lines(px.audit_path)} records in "
                        f"the file, pending bytes {pending(px)}; {px.admin('/readyz').text}")
        drain = time.time() - t1
        # rsyslogd writes out what it took a moment later (if it falls
        # short, the tally below says which are missing)
        wait_until(lambda: lines(rs.out) >= SINKS_TOTAL, 15, 0.2)
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
                self.assertEqual(sum(t.own.values()), SINKS_TOTAL, name)
                self.assertEqual(t.seen, rids, name)
                self.assertEqual(t.kinds, {("GetObject", None): SINKS_TOTAL * 9 // 10,
                                           ("DeleteObject", "AccessDenied"): SINKS_TOTAL // 10})
        # the same records everywhere
        self.assertEqual(set(got["syslog"].own), set(got["file"].own))
        self.assertEqual(set(got["s3"].own), set(got["file"].own))
        self.assertTrue(px.alive())


if __name__ == "__main__":
    main(PENDING)
