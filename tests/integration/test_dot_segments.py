#!/usr/bin/env python3
"""Keys with "." / ".." segments through a hop that removes dot-segments.

s3warden authorizes the key a client names literally, as S3 does:
"allowed/../denied/obj.txt" is a key under allowed/. Between s3warden and
the store sits a load balancer that normalizes paths (HAProxy's
`normalize-uri path-strip-dot` / `path-strip-dotdot`, RFC 3986 5.2.4 on the
path as sent - the same removal HTTP libraries do). A raw /../ in the
forwarded path would make it "denied/obj.txt": a write lands on, and a read
returns, an object the policy denies. s3warden sends such segments as %2E,
which no such hop touches and S3 decodes back to the same key (README,
"Security invariants").

Not every normalizer can be made safe this way: nginx's proxy_pass with a
URI part decodes the path (%2E and %2F alike) before it normalizes, so no
spelling of a key survives it; nginx without a URI part passes the path
as sent (docs/config.md, `upstream`).

moto runs with auth off: its signature check re-encodes an encoded path
(README, "Known limits of moto"); test_rgw.py checks the %2E path
against RGW's strict SigV4 (the odd-keys matrix).
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"
BUCKET = "it-dots"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[
    policy(allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
           allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{BUCKET}/allowed/*"))])
W.bucket(BUCKET, A)
PENDING = {}
UP = HOP = PX = None

DOTDOT = "allowed/../denied/obj.txt"
DENIED = "denied/obj.txt"
SECRET_BYTES = b"the denied object: never to be read or replaced through allowed/"


class Haproxy(Upstream):
    """HAProxy on a free port in front of `backend`, removing dot-segments
    from every request path (the same keys as the backend)."""

    def __init__(self, backend):
        self.backend = backend
        self.proc = None

    def start(self):
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.access(exe, os.X_OK):
            raise AssertionError("haproxy is not installed. Run: sudo bash deploy/install-deps.sh")
        self.port = free_port()
        d = tmpdir(f"haproxy-{self.port}")
        bport = urllib.parse.urlparse(self.backend.endpoint).port
        cfg = os.path.join(d, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  # normalize-uri is marked experimental in HAProxy 2.6
  expose-experimental-directives
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend normalizing
  bind 127.0.0.1:{self.port}
  http-request normalize-uri path-strip-dot
  http-request normalize-uri path-strip-dotdot
  default_backend store
backend store
  server store 127.0.0.1:{bport}
""")
        self.log = open(os.path.join(d, "haproxy.log"), "ab")
        self.proc = subprocess.Popen([exe, "-db", "-f", cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        on_cleanup(self.stop)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key, self.secret_key = self.backend.access_key, self.backend.secret_key
        end = time.time() + 10
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"haproxy exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("haproxy did not listen within 10 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        self.log.close()


def setUpModule():
    global UP, HOP, PX
    UP = Moto(auth=False, buckets=[BUCKET]).start()
    HOP = Haproxy(UP).start()
    PX = Proxy(lambda port, audit: render_config(W, HOP, port, audit), "dots").start()


def tearDownModule():
    cleanup_all()


class ThroughNormalizingHop(Case):
    def setUp(self):
        # the object the policy denies, straight on the store
        UP.put(BUCKET, DENIED, SECRET_BYTES)
        UP.s3().delete_object(Bucket=BUCKET, Key=DOTDOT)

    def keys(self):
        return sorted(UP.snapshot(BUCKET))

    def test_hop_normalizes(self):
        # the premise: this hop does remove a raw /../ (so the tests below
        # can fail), and leaves %2E alone (moto, auth off, wants a signed
        # request, not a valid signature)
        key = (HOP.access_key, HOP.secret_key)
        for path, want in [(f"/{BUCKET}/allowed/../{DENIED}", (200, None)),
                           (f"/{BUCKET}/allowed/%2E%2E/{DENIED}", (404, "NoSuchKey"))]:
            r = raw(HOP.endpoint, "GET", path, sign("GET", HOP.endpoint + path, key))
            self.assertEqual((r.status, r.code), want, r)
            if r.status == 200:
                self.assertEqual(r.body, SECRET_BYTES)

    def test_put_boto3(self):
        # botocore keeps dot-segments raw in the path it sends and signs
        data = b"written under allowed/ " + os.urandom(32)
        PX.client(ALICE).put_object(Bucket=BUCKET, Key=DOTDOT, Body=data)
        self.assertStored(UP, BUCKET, DOTDOT, data)
        self.assertEqual(UP.get(BUCKET, DENIED), SECRET_BYTES)
        self.assertEqual(self.keys(), [DOTDOT, DENIED])

    def test_put_encoded_spellings(self):
        # the same key as the probe sent it: %2e%2e, and %2F around ".."
        # (S3's canonical URI decodes each segment once: the signature
        # covers the key, whatever escapes carried it)
        for i, wire in enumerate([f"/{BUCKET}/allowed/%2e%2e/denied/obj.txt",
                                  f"/{BUCKET}/allowed%2F..%2Fdenied/obj.txt"]):
            with self.subTest(wire=wire):
                data = b"spelling %d " % i + os.urandom(16)
                signed = wire if "%2F" in wire else f"/{BUCKET}/{DOTDOT}"
                h = sign("PUT", PX.endpoint + signed, ALICE, {"Content-Length": str(len(data))}, body=data)
                r = raw(PX.endpoint, "PUT", wire, h, data)
                self.assertEqual(r.status, 200, r)
                self.assertStored(UP, BUCKET, DOTDOT, data)
                self.assertEqual(UP.get(BUCKET, DENIED), SECRET_BYTES)
                self.assertEqual(self.keys(), [DOTDOT, DENIED])

    def test_get_reads_the_allowed_key(self):
        data = b"the allowed object " + os.urandom(16)
        UP.put(BUCKET, DOTDOT, data)
        got = PX.client(ALICE).get_object(Bucket=BUCKET, Key=DOTDOT)["Body"].read()
        self.assertEqual(got, data)
        # and the denied key stays denied when asked for by its own name
        self.assertClientError(lambda: PX.client(ALICE).get_object(Bucket=BUCKET, Key=DENIED),
                               "AccessDenied",
                               denied_message(user_arn(A, "alice"), "s3:GetObject",
                                              f"arn:aws:s3:::{BUCKET}/{DENIED}",
                                              no_allow("identity-based", "s3:GetObject")), 403)

    def test_copy_source_with_dot_segments(self):
        # x-amz-copy-source is rebuilt by s3warden with %2E segments: the
        # store decodes it to the literal source key
        data = b"copy me " + os.urandom(16)
        UP.put(BUCKET, DOTDOT, data)
        PX.client(ALICE).copy_object(Bucket=BUCKET, Key="allowed/copied.txt",
                                     CopySource={"Bucket": BUCKET, "Key": DOTDOT})
        self.assertStored(UP, BUCKET, "allowed/copied.txt", data)
        UP.s3().delete_object(Bucket=BUCKET, Key="allowed/copied.txt")


if __name__ == "__main__":
    main(PENDING)
