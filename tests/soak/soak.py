#!/usr/bin/env python3
"""soak.py - s3warden under mixed traffic for a long time: memory, errors, audit.

    python3 tests/soak/soak.py --binary build/proxy/s3warden --minutes 30 [--workers 12]
    (--only put_denied_big,get_small: just those ops; --keep DIR: keep the logs; --help)

Starts moto_server (auth on) and s3warden in front of it (tests/integration/
s3w_it.py), on 127.0.0.1 only, then runs WORKERS client threads until the time
is up. Each worker holds one keep-alive connection (http.client, requests signed
with botocore's SigV4 signer) and reuses it for request after request, so a
server that closes a connection without saying `Connection: close` shows up as
the next request on it failing. Each worker picks, at random with fixed
weights, one of (see OPS):

  get_small / get_big      allowed GET, 1 KiB / 1 MiB, body checked (sha256)
  put_small / put_big      allowed PUT, 1 KiB / 1 MiB, ETag checked (md5)
  get_denied / put_denied_small / put_denied_big
                           403 AccessDenied, explicit (bucket policy Deny) or
                           implicit (no Allow); the PUTs send their whole body
                           although the server refuses after the head
  badsig_get / badsig_put_big
                           wrong secret: 403 SignatureDoesNotMatch
  slow_put                 64 KiB allowed PUT in 2 KiB pieces, 20 ms apart
  slow_get                 1 MiB allowed GET read 32 KiB at a time, 20 ms apart
  vanish_put               own connection: head of a 1 MiB allowed PUT and half
                           its body, then close (the server must audit 499 and
                           store nothing)
  vanish_get               own connection: 1 MiB GET, read 64 KiB, close

Every request carries a unique token in its User-Agent (unsigned, as S3
takes it), and the audit records are matched to requests by that token.

Outcome classes, per request:
  expected      the status (and S3 error code) the op expects; for GET the
                body's sha256, for PUT the ETag
  unexpected    any other answer
  no_answer     the client got no status line: connection reset/closed.
                "on reuse" when the connection had carried a request before
                (the server closed it after the previous answer without
                `Connection: close`); the previous op on that connection is
                reported, as it is the one whose answer lacked the header
  timeout       no answer within --timeout seconds
  cut           a status line, then the connection broke mid-body

Counting rule for the audit check ("records == requests"): s3warden writes one
record for every request whose head it parsed (pipeline.c, px_done_audit),
allowed or denied, signature failures included, and 499 for a client that went
away before its answer was complete. It writes none for bytes that never
formed a request head (HTTP parse errors are logged, not audited; this script
sends none) and none for a request sent on a connection the server had
already closed. So:
  expected records = requests answered (any status)
                   + vanished requests (vanish_put, vanish_get: head sent)
                   + no_answer/timeout/cut requests that do have a record
                     (reported on their own: the server audited a request
                     whose client saw a disconnect)
and the check passes when the record count equals that, every answered or
vanished request has exactly one record, its httpStatus is the status the
client saw (vanish_put: 499; vanish_get: 200 or 499), no record is unmatched,
and s3warden's own s3warden_requests_total (scraped before SIGTERM) agrees.
Records written after the client left carry no User-Agent (the connection is
gone), so vanish_put is matched by its key (which holds the token) and
vanish_get by count per worker-owned key.

Memory: VmRSS (and open fds) of s3warden from /proc/PID/status every
--sample-seconds (30); the verdict compares the first sample at or after the
warm-up (60 s) with the last one taken before traffic stops: within 5 %.
To tell allocator growth from a leak when it fails: rerun with
MALLOC_MMAP_THRESHOLD_=65536 in the environment (s3warden inherits it; glibc
then keeps serving large buffers from mmap instead of growing its heaps), and
against an ASan build (-Db_sanitize=address): LeakSanitizer reports at the
graceful exit, in the log --keep saves.

At the end s3warden gets SIGTERM and must exit 0; the uploads that vanished
must not exist upstream. Exit status 0 only when every verdict passes.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sys
import threading
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default="build/proxy/s3warden", help="s3warden binary")
    p.add_argument("--minutes", type=float, default=30.0, help="traffic duration")
    p.add_argument("--workers", type=int, default=12, help="concurrent clients (1-64)")
    p.add_argument("--sample-seconds", type=float, default=30.0, help="RSS sampling period")
    p.add_argument("--warmup-seconds", type=float, default=60.0,
                   help="RSS baseline: first sample at or after this")
    p.add_argument("--rss-tolerance", type=float, default=5.0, help="percent")
    p.add_argument("--max-requests", type=int, default=2_000_000,
                   help="per worker, a bound besides time")
    p.add_argument("--timeout", type=float, default=30.0, help="client socket timeout (s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", metavar="OP,OP",
                   help="run only these ops (same weights among them): to find which "
                        "traffic a failure or a growth follows")
    p.add_argument("--keep", metavar="DIR",
                   help="copy s3warden's config, log and audit log here at the end")
    a = p.parse_args()
    if not 1 <= a.workers <= 64:
        p.error("--workers must be 1..64")
    if a.minutes <= 0:
        p.error("--minutes must be > 0")
    return a


ARGS = parse_args()
os.environ["S3W_BIN"] = os.path.abspath(ARGS.binary)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import s3w_it as it  # noqa: E402  (reads S3W_BIN at import)

KIB, MIB = 1024, 1024 * 1024
ACCT = "111111111111"
BUCKET = "s3w-soak"
UA = "s3w-soak/1"
TOKEN_RE = re.compile(r"s3w-soak/1 (w\d+-\d+)")

# The world: one user; the identity policy allows allowed/* and denied/*, the
# bucket policy allows allowed/* to that user and denies denied/* to everyone
# (explicit deny wins); private/* is allowed by nothing (implicit deny).
W = it.World()
W.account(ACCT)
USER = W.user(ACCT, "soak", "AIDASOAK000000000001", policies=[it.policy(
    it.allow(["s3:GetObject", "s3:PutObject"],
             [f"arn:aws:s3:::{BUCKET}/allowed/*", f"arn:aws:s3:::{BUCKET}/denied/*"]))])
W.bucket(BUCKET, ACCT, policy=it.policy(
    {"Sid": "AllowSoakAllowed", "Effect": "Allow",
     "Principal": {"AWS": it.user_arn(ACCT, "soak")},
     "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/allowed/*"},
    {"Sid": "DenyDeniedPrefix", "Effect": "Deny", "Principal": "*",
     "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/denied/*"}))
BAD_KEY = (USER.id, "not-the-secret-" + USER.secret[15:])


class Body:
    def __init__(self, seed, size):
        r = random.Random(seed)
        self.data = r.randbytes(size)
        self.sha = hashlib.sha256(self.data).hexdigest()
        self.etag = '"' + hashlib.md5(self.data).hexdigest() + '"'


SMALL = [Body(f"small{i}", KIB) for i in range(4)]
BIG = [Body(f"big{i}", MIB) for i in range(2)]
SLOW = Body("slow", 64 * KIB)

# op -> (weight, expected status, expected S3 error code, decision in the record)
OPS = {
    "get_small": (20, 200, None, "Allowed"),
    "get_big": (6, 200, None, "Allowed"),
    "put_small": (14, 200, None, "Allowed"),
    "put_big": (5, 200, None, "Allowed"),
    "get_denied": (8, 403, "AccessDenied", None),  # explicit or implicit, see op_get_denied
    "put_denied_small": (8, 403, "AccessDenied", "ExplicitlyDenied"),
    "put_denied_big": (4, 403, "AccessDenied", "ExplicitlyDenied"),
    "badsig_get": (5, 403, "SignatureDoesNotMatch", None),
    "badsig_put_big": (3, 403, "SignatureDoesNotMatch", None),
    "slow_put": (3, 200, None, "Allowed"),
    "slow_get": (3, 200, None, "Allowed"),
    "vanish_put": (3, 499, None, None),
    "vanish_get": (2, None, None, None),  # 200 or 499: the answer may fit in socket buffers
}
VANISH = ("vanish_put", "vanish_get")
FAIL_CLASSES = ("unexpected", "no_answer", "timeout", "cut")
ONLY = set(ARGS.only.split(",")) if ARGS.only else set()
if ONLY - set(OPS):
    sys.exit(f"soak: unknown op(s) {sorted(ONLY - set(OPS))}; ops: {', '.join(OPS)}")


class Req:
    """One request as the client saw it."""
    __slots__ = ("token", "op", "outcome", "status", "code", "reused", "prev_op", "detail",
                 "decision")

    def __init__(self, token, op):
        self.token, self.op = token, op
        self.outcome = self.status = self.code = self.detail = self.prev_op = None
        self.reused = False
        self.decision = OPS[op][3]


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body or b"")
    return m.group(1).decode() if m else None


class Worker(threading.Thread):
    def __init__(self, wid, port, deadline, reqs, lock):
        super().__init__(name=f"w{wid:02d}", daemon=True)
        self.wid, self.port, self.deadline = wid, port, deadline
        self.reqs, self.lock = reqs, lock
        self.rng = random.Random(ARGS.seed * 1000 + wid)
        self.conn = None
        self.prev_op = None
        self.n = 0
        self.ops = [o for o in OPS if not ONLY or o in ONLY]
        self.weights = [OPS[o][0] for o in self.ops]
        self.crash = None

    # -- plumbing ---------------------------------------------------------------------------
    def url(self, key):
        return f"http://127.0.0.1:{self.port}/{BUCKET}/{key}"

    def headers(self, method, key, token, body_hash, length, creds=None):
        h = it.sign(method, self.url(key), creds or USER, payload_hash=body_hash)
        h["User-Agent"] = f"{UA} {token}"
        if method == "PUT":
            h["Content-Length"] = str(length)
        return h

    def keepalive(self):
        """The worker's connection; (conn, reused)."""
        c = self.conn
        if c is not None and c.sock is not None:
            return c, True
        if c is not None:
            c.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ARGS.timeout)
        self.conn.connect()
        return self.conn, False

    def exchange(self, rq, method, key, headers, body=b"", pieces=None, slow_read=None):
        """Sends one request on the keep-alive connection; fills rq; returns
        the response body (bytes) or None. A send that fails (the server
        answered early and closed) still reads the answer."""
        try:
            c, rq.reused = self.keepalive()
        except OSError as e:
            rq.outcome, rq.detail = "no_answer", f"connect: {e!r}"
            return None
        rq.prev_op = self.prev_op if rq.reused else None
        self.prev_op = rq.op
        got_head = False
        try:
            c.putrequest(method, f"/{BUCKET}/{key}", skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                c.putheader(k, v)
            c.endheaders()
            try:
                if pieces:
                    step, pause = pieces
                    for i in range(0, len(body), step):
                        c.send(body[i:i + step])
                        time.sleep(pause)
                elif body:
                    c.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # an early answer may be waiting: read it
            r = c.getresponse()
            got_head = True
            rq.status = r.status
            if slow_read:
                step, pause = slow_read
                parts = []
                while True:
                    b = r.read(step)
                    if not b:
                        break
                    parts.append(b)
                    time.sleep(pause)
                data = b"".join(parts)
                if r.length:  # http.client returns short data at EOF instead of raising
                    raise http.client.IncompleteRead(data, r.length)
            else:
                data = r.read()
            if r.status >= 300:
                rq.code = error_code(data)
            self._etag = r.getheader("ETag")
            return data
        except (socket.timeout, TimeoutError) as e:
            rq.outcome, rq.detail = "timeout", repr(e)
        except (http.client.HTTPException, OSError) as e:
            rq.outcome = "cut" if got_head else "no_answer"
            rq.detail = f"{type(e).__name__}: {e}"[:200]
        c.close()
        return None

    def judge(self, rq, data, want_sha=None, want_etag=None):
        if rq.outcome:
            return
        _, status, code, _ = OPS[rq.op]
        ok = rq.status == status and rq.code == code
        if status != 200:
            want_sha = want_etag = None
        if ok and want_sha is not None:
            ok = data is not None and hashlib.sha256(data).hexdigest() == want_sha
            if not ok:
                rq.detail = "body differs"
        if ok and want_etag is not None:
            ok = self._etag == want_etag
            if not ok:
                rq.detail = f"ETag {self._etag} != {want_etag}"
        rq.outcome = "expected" if ok else "unexpected"
        if not ok and rq.detail is None:
            rq.detail = f"{rq.status} {rq.code}"

    # -- the ops ----------------------------------------------------------------------------
    def op_get_small(self, rq):
        i = self.rng.randrange(len(SMALL))
        key = f"allowed/small-{i}"
        self.judge(rq, self.exchange(rq, "GET", key, self.headers("GET", key, rq.token,
                                                                    it.EMPTY_SHA256, 0)),
                   want_sha=SMALL[i].sha)

    def op_get_big(self, rq, slow=False):
        i = self.rng.randrange(len(BIG))
        key = f"allowed/big-{i}"
        h = self.headers("GET", key, rq.token, it.EMPTY_SHA256, 0)
        data = self.exchange(rq, "GET", key, h, slow_read=(32 * KIB, 0.02) if slow else None)
        self.judge(rq, data, want_sha=BIG[i].sha)

    def op_slow_get(self, rq):
        self.op_get_big(rq, slow=True)

    def put(self, rq, prefix, b, creds=None, pieces=None):
        key = f"{prefix}/w{self.wid:02d}-{self.rng.randrange(4)}"
        h = self.headers("PUT", key, rq.token, b.sha, len(b.data), creds)
        data = self.exchange(rq, "PUT", key, h, b.data, pieces=pieces)
        self.judge(rq, data, want_etag=b.etag if prefix == "allowed" else None)

    def op_put_small(self, rq):
        self.put(rq, "allowed", self.rng.choice(SMALL))

    def op_put_big(self, rq):
        self.put(rq, "allowed", self.rng.choice(BIG))

    def op_slow_put(self, rq):
        self.put(rq, "allowed", SLOW, pieces=(2 * KIB, 0.02))

    def op_put_denied_small(self, rq):
        self.put(rq, "denied", self.rng.choice(SMALL))

    def op_put_denied_big(self, rq):
        self.put(rq, "denied", self.rng.choice(BIG))

    def op_get_denied(self, rq):
        explicit = self.rng.random() < 0.5
        rq.decision = "ExplicitlyDenied" if explicit else "ImplicitlyDenied"
        key = f"{'denied' if explicit else 'private'}/obj-{self.rng.randrange(4)}"
        self.judge(rq, self.exchange(rq, "GET", key, self.headers("GET", key, rq.token,
                                                                    it.EMPTY_SHA256, 0)))

    def op_badsig_get(self, rq):
        key = "allowed/small-0"
        h = self.headers("GET", key, rq.token, it.EMPTY_SHA256, 0, creds=BAD_KEY)
        self.judge(rq, self.exchange(rq, "GET", key, h))

    def op_badsig_put_big(self, rq):
        self.put(rq, "allowed", self.rng.choice(BIG), creds=BAD_KEY)

    def raw_conn(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=ARGS.timeout)
        return s

    @staticmethod
    def head_bytes(method, path, h):
        lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def op_vanish_put(self, rq):
        # the key holds the token: the 499 record has no User-Agent to match
        key = f"allowed/vanish-{rq.token}"
        b = self.rng.choice(BIG)
        h = self.headers("PUT", key, rq.token, b.sha, len(b.data))
        try:
            s = self.raw_conn()
            try:
                s.sendall(self.head_bytes("PUT", f"/{BUCKET}/{key}", h))
                s.sendall(b.data[:len(b.data) // 2])
                time.sleep(0.05)  # let the server read what was sent before the FIN
            finally:
                s.close()
            rq.outcome = "vanished"
        except OSError as e:
            rq.outcome, rq.detail = "no_answer", f"vanish_put: {e!r}"

    def op_vanish_get(self, rq):
        key = f"allowed/vget-w{self.wid:02d}"
        h = self.headers("GET", key, rq.token, it.EMPTY_SHA256, 0)
        try:
            s = self.raw_conn()
            try:
                s.sendall(self.head_bytes("GET", f"/{BUCKET}/{key}", h))
                got = b""
                while len(got) < 64 * KIB:
                    b = s.recv(16 * KIB)
                    if not b:
                        break
                    got += b
            finally:
                s.close()
            m = re.match(rb"HTTP/1\.1 (\d{3})", got)
            rq.status = int(m.group(1)) if m else None
            rq.outcome = "vanished" if rq.status == 200 else "unexpected"
            if rq.outcome != "vanished":
                rq.detail = f"vanish_get answered {got[:60]!r}"
        except OSError as e:
            rq.outcome, rq.detail = "no_answer", f"vanish_get: {e!r}"

    # -- loop -------------------------------------------------------------------------------
    def run(self):
        try:
            while time.time() < self.deadline and self.n < ARGS.max_requests:
                op = self.rng.choices(self.ops, self.weights)[0]
                rq = Req(f"w{self.wid:02d}-{self.n:07d}", op)
                self.n += 1
                self._etag = None
                getattr(self, "op_" + op)(rq)
                with self.lock:
                    self.reqs.append(rq)
        except Exception as e:  # a bug in the script: reported, fails the run
            self.crash = repr(e)
        finally:
            if self.conn is not None:
                self.conn.close()


# ---------------------------------------------------------------------------------------------
def proc_sample(pid):
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    return rss, hwm, fds


def scrape_metrics(px):
    """{name: summed value} of the admin listener's /metrics, or None."""
    try:
        r = px.admin("/metrics", wait=2, timeout=10)
    except OSError:
        return None
    if r.status != 200:
        return None
    out = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[{ ]", line, 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        except ValueError:
            pass
    return out


def match_audit(path, reqs):
    """Matches audit records to requests. Returns a dict of counters."""
    by_token = {r.token: r for r in reqs}
    seen = {}                  # token -> [record statuses]
    vget_noua = {}             # key -> [statuses] of records without a token
    res = {"records": 0, "unknown": 0, "bad_json": 0, "decision_mismatch": 0,
           "no_user_agent": 0, "examples": []}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                res["bad_json"] += 1
                continue
            res["records"] += 1
            key = (rec.get("requestParameters") or {}).get("key") or ""
            m = TOKEN_RE.search(rec.get("userAgent") or "")
            if not m:
                res["no_user_agent"] += 1
                m = re.match(r"allowed/vanish-(w\d+-\d+)$", key)
            if m and m.group(1) in by_token:
                tok = m.group(1)
                seen.setdefault(tok, []).append(rec.get("httpStatus"))
                want = by_token[tok].decision
                if want and rec.get("decision") != want and rec.get("httpStatus") != 499:
                    res["decision_mismatch"] += 1
            elif re.match(r"allowed/vget-w\d+$", key):
                vget_noua.setdefault(key, []).append(rec.get("httpStatus"))
            else:
                res["unknown"] += 1
                if len(res["examples"]) < 3:
                    res["examples"].append("unmatched record: " + line[:300])
    missing = dup = status_mismatch = audited_failures = expected = 0
    vget_unmatched = {}
    for r in reqs:
        st = seen.get(r.token, [])
        if ((r.outcome in ("expected", "unexpected") and r.op not in VANISH)
                or (r.op == "vanish_put" and r.outcome == "vanished")):
            expected += 1
            if not st:
                missing += 1
            elif len(st) > 1:
                dup += 1
            elif st[0] != (499 if r.op == "vanish_put" else r.status):
                status_mismatch += 1
                if len(res["examples"]) < 6:
                    res["examples"].append(f"{r.token} {r.op}: client {r.status}, record {st[0]}")
        elif r.op == "vanish_get" and r.outcome in ("vanished", "unexpected"):
            expected += 1
            if len(st) > 1:
                dup += 1
            elif st:
                if st[0] not in (200, 499):
                    status_mismatch += 1
            else:
                key = f"allowed/vget-{r.token.split('-')[0]}"
                vget_unmatched[key] = vget_unmatched.get(key, 0) + 1
        else:  # no answer, timeout, cut: the server may or may not have seen it
            if st:
                audited_failures += 1
                expected += 1
                if len(st) > 1:
                    dup += 1
                if len(res["examples"]) < 6:
                    res["examples"].append(f"{r.token} {r.op} ({r.outcome}, {r.detail}): "
                                           f"audited as {st}")
    for key in set(vget_unmatched) | set(vget_noua):
        n_req, recs = vget_unmatched.get(key, 0), vget_noua.get(key, [])
        if len(recs) < n_req:
            missing += n_req - len(recs)
        elif len(recs) > n_req:
            res["unknown"] += len(recs) - n_req
        status_mismatch += sum(1 for s in recs if s not in (200, 499))
    res.update(missing=missing, duplicate=dup, status_mismatch=status_mismatch,
               audited_failures=audited_failures, expected_records=expected)
    return res


def fmt_t(sec):
    return f"{int(sec) // 60}:{int(sec) % 60:02d}"


def main():
    t_setup = time.time()
    print(f"soak: {ARGS.minutes:g} min, {ARGS.workers} workers, binary {it.BIN}"
          + (f", only {ARGS.only}" if ONLY else ""), flush=True)
    up = it.Moto(auth=True, buckets=[BUCKET]).start()
    s3 = up.s3()
    for i, b in enumerate(SMALL):
        s3.put_object(Bucket=BUCKET, Key=f"allowed/small-{i}", Body=b.data)
    for i, b in enumerate(BIG):
        s3.put_object(Bucket=BUCKET, Key=f"allowed/big-{i}", Body=b.data)
    for w in range(ARGS.workers):
        s3.put_object(Bucket=BUCKET, Key=f"allowed/vget-w{w:02d}", Body=BIG[w % len(BIG)].data)
    admin_port = it.free_port()
    px = it.Proxy(lambda port, audit: it.render_config(W, up, port, audit, sts=False,
                                                       admin=admin_port), "soak").start()
    pid = px.proc.pid
    print(f"soak: moto {up.endpoint}, s3warden pid {pid} on 127.0.0.1:{px.port} "
          f"(setup {time.time() - t_setup:.0f}s)", flush=True)

    reqs, lock = [], threading.Lock()
    t0 = time.time()
    deadline = t0 + ARGS.minutes * 60
    workers = [Worker(i, px.port, deadline, reqs, lock) for i in range(ARGS.workers)]
    samples = []  # (t, rss KiB, hwm KiB, fds, requests so far)

    def sample():
        s = proc_sample(pid)
        with lock:
            n = len(reqs)
            fails = sum(1 for r in reqs if r.outcome in FAIL_CLASSES)
        if s:
            samples.append((time.time() - t0, s[0], s[1], s[2], n))
            print(f"  t={fmt_t(time.time() - t0)} rss={s[0] / 1024:.1f} MiB fds={s[2]} "
                  f"requests={n} failures={fails}", flush=True)

    sample()
    for w in workers:
        w.start()
    next_t = t0 + ARGS.sample_seconds
    while time.time() < deadline:
        time.sleep(max(0.0, min(next_t, deadline) - time.time()))
        if time.time() >= next_t - 0.01:
            sample()
            next_t += ARGS.sample_seconds
        if not px.alive():
            print("soak: s3warden died during the run", flush=True)
            break
    if time.time() - t0 - samples[-1][0] > 1:
        sample()  # the last sample, at the end of traffic
    for w in workers:
        w.join(ARGS.timeout * 3 + 30)
    t_traffic = time.time() - t0
    stuck = [w.name for w in workers if w.is_alive()]
    crashes = [f"{w.name}: {w.crash}" for w in workers if w.crash]

    # the audit writer is a thread with a queue: give it a moment, then ask
    time.sleep(1.0)
    metrics = scrape_metrics(px) if px.alive() else None
    died = not px.alive()
    t_stop = time.time()
    rc = None
    if not died:
        px.proc.send_signal(signal.SIGTERM)
        try:
            rc = px.proc.wait(60)
        except Exception:
            px.proc.kill()
            rc = "killed after 60 s"
    else:
        rc = px.proc.returncode
    t_stop = time.time() - t_stop
    px.proc = None

    with lock:
        reqs = list(reqs)
    audit = match_audit(px.audit_path, reqs)
    vanish_keys = {f"allowed/vanish-{r.token}" for r in reqs if r.op == "vanish_put"}
    stored = [k for k in up.snapshot(BUCKET) if k in vanish_keys]
    log = px.log_text()
    warns = len(re.findall(r"^(?:<4>)?WARN ", log, re.M))
    errors = len(re.findall(r"^(?:<3>)?ERROR ", log, re.M))

    # ---- report ------------------------------------------------------------------------------
    by_op = {}
    for r in reqs:
        d = by_op.setdefault(r.op, {"sent": 0, "expected": 0, "vanished": 0,
                                    **{c: 0 for c in FAIL_CLASSES}})
        d["sent"] += 1
        d[r.outcome] = d.get(r.outcome, 0) + 1
    tot = {k: sum(d[k] for d in by_op.values()) for k in
           ("sent", "expected", "vanished") + FAIL_CLASSES}
    reuse_fail = [r for r in reqs if r.outcome == "no_answer" and r.reused]
    fresh_fail = [r for r in reqs if r.outcome == "no_answer" and not r.reused]
    after = {}
    for r in reuse_fail:
        after[r.prev_op] = after.get(r.prev_op, 0) + 1

    print()
    print(f"### s3warden soak: {t_traffic / 60:.1f} min, {ARGS.workers} workers, "
          f"{tot['sent']} requests ({tot['sent'] / max(t_traffic, 1):.0f}/s)")
    print()
    print("| op | sent | expected | vanished | unexpected | no answer | timeout | cut |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for op in OPS:
        d = by_op.get(op)
        if d:
            print(f"| {op} | {d['sent']} | {d['expected']} | {d['vanished']} | {d['unexpected']} "
                  f"| {d['no_answer']} | {d['timeout']} | {d['cut']} |")
    print(f"| **total** | {tot['sent']} | {tot['expected']} | {tot['vanished']} "
          f"| {tot['unexpected']} | {tot['no_answer']} | {tot['timeout']} | {tot['cut']} |")
    print()
    print("RSS (MiB) / open fds of s3warden every "
          f"{ARGS.sample_seconds:g} s: " + ", ".join(
              f"{fmt_t(t)} {rss / 1024:.1f}/{fds}" for t, rss, _, fds, _ in samples))
    if samples:
        print(f"peak RSS (VmHWM): {max(s[2] for s in samples) / 1024:.1f} MiB")
    if reuse_fail:
        print("no answer on a reused keep-alive connection, by the previous op on it: " +
              ", ".join(f"{k} {v}" for k, v in sorted(after.items(), key=lambda kv: -kv[1])))
    details = {}
    for r in reqs:
        if r.outcome in FAIL_CLASSES:
            k = f"{r.op}/{r.outcome}: {re.sub(r'[0-9]+', 'N', r.detail or '')[:90]}"
            details[k] = details.get(k, 0) + 1
    for k, v in sorted(details.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {v:6d}  {k}")
    for e in audit["examples"]:
        print(f"  audit: {e}")
    print(f"audit records without the client's User-Agent (written after it left): "
          f"{audit['no_user_agent']}")
    print()

    verdicts = []

    def verdict(name, value, ok):
        verdicts.append((name, value, ok))

    base = next((s for s in samples if s[0] >= ARGS.warmup_seconds - 1), None)
    last = samples[-1] if samples else None
    if base and last and last is not base:
        pct = 100.0 * (last[1] - base[1]) / base[1]
        verdict(f"RSS {fmt_t(base[0])} -> {fmt_t(last[0])} (within {ARGS.rss_tolerance:g} %)",
                f"{base[1] / 1024:.1f} -> {last[1] / 1024:.1f} MiB ({pct:+.1f} %); "
                f"fds {base[3]} -> {last[3]}", abs(pct) <= ARGS.rss_tolerance)
    else:
        verdict("RSS after warm-up", "run too short for a warm-up sample", False)
    verdict("unexpected answers", str(tot["unexpected"]), tot["unexpected"] == 0)
    verdict("no answer (reused conn / new conn)",
            f"{len(reuse_fail)} / {len(fresh_fail)}", not reuse_fail and not fresh_fail)
    verdict("timeouts / cut mid-answer", f"{tot['timeout']} / {tot['cut']}",
            tot["timeout"] == 0 and tot["cut"] == 0)
    verdict("audited, but the client saw a disconnect", str(audit["audited_failures"]),
            audit["audited_failures"] == 0)
    rec_ok = (audit["records"] == audit["expected_records"] and not audit["missing"]
              and not audit["duplicate"] and not audit["unknown"] and not audit["bad_json"]
              and not audit["status_mismatch"])
    verdict("audit records == requests that reached s3warden",
            f"{audit['records']} == {audit['expected_records']} (missing {audit['missing']}, "
            f"duplicate {audit['duplicate']}, unmatched {audit['unknown']}, "
            f"status differs {audit['status_mismatch']})", rec_ok)
    verdict("audit decision as the policy says", f"{audit['decision_mismatch']} differ",
            audit["decision_mismatch"] == 0)
    if metrics is not None:
        mreq = int(metrics.get("s3warden_requests_total", -1))
        mdrop = int(metrics.get("s3warden_audit_dropped_total", 0))
        verdict("s3warden_requests_total == audit records (dropped)",
                f"{mreq} == {audit['records']} ({mdrop})", mreq == audit["records"] and mdrop == 0)
    else:
        verdict("s3warden_requests_total == audit records", "no /metrics", False)
    verdict("vanished uploads stored upstream", f"{len(stored)} of {len(vanish_keys)}",
            not stored)
    verdict("SIGTERM: exit status (time)", f"{rc} ({t_stop:.1f} s)", rc == 0 and not died)
    verdict("server log WARN / ERROR lines", f"{warns} / {errors}", errors == 0)
    verdict("client threads crashed / stuck", f"{len(crashes)} / {len(stuck)}",
            not crashes and not stuck)
    print("| check | result | verdict |")
    print("|---|---|---|")
    for name, value, ok in verdicts:
        print(f"| {name} | {value} | {'PASS' if ok else 'FAIL'} |")
    for c in crashes:
        print(f"  crash: {c}")
    if errors or warns:
        for line in [ln for ln in log.splitlines() if re.match(r"^(<[34]>)?(WARN|ERROR) ", ln)][:5]:
            print(f"  log: {line[:200]}")
    if ARGS.keep:
        os.makedirs(ARGS.keep, exist_ok=True)
        for f in (px.config_path, px.log_path, px.audit_path):
            if os.path.exists(f):
                shutil.copy(f, ARGS.keep)
        print(f"  kept: config, log and audit log in {ARGS.keep}")
    failed = [v for v in verdicts if not v[2]]
    print(f"\nsoak: {'PASS' if not failed else 'FAIL'} ({len(failed)} of {len(verdicts)} "
          "checks failed)", flush=True)
    it.cleanup_all()
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
