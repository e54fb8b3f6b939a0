#!/usr/bin/env python3
"""Several upstreams behind one s3warden (issue 14): Ceph RGW and moto_server
at once, each checking signatures, each with its own keys for s3warden
(`upstreams[]`, `buckets[].upstream`, `default_upstream`).

- the aws cli, boto3 and the JS SDK read and write buckets of both through
  one endpoint; every object is read back straight from the store it
  belongs on, byte for byte, and is absent from the other store (each store
  holds a bucket of the same upstream name, so a misrouted write lands);
- ListBuckets merges both stores for an account with buckets on each (the
  client-side names, only that account's configured buckets, no bucket
  twice although each store holds every name); an account on one only;
- CopyObject / UploadPartCopy across upstreams: 501 NotImplemented with the
  message naming both, nothing written on either store; within one works;
- credentials of one upstream rotated on its store, s3warden's config
  changed and SIGHUP, while traffic to the other runs with zero failures;
- RGW's gateway stopped: its buckets 503 ServiceUnavailable, ListBuckets of
  an account on it 503 with the upstream named in the log, /readyz names
  it (503 while it is required, 200 with "[optional]" when it is optional),
  moto's buckets keep working; all recovers when the gateway is back;
- `s3warden validate --config`: unknown upstream / credential set names
  (errors naming the key path and the name), unused upstream / set
  (warnings); the legacy single `upstream` + `credentials` still serves.

Needs radosgw (deploy/install-deps.sh): missing, the module FAILS.
RGW's error bodies crash the aws cli v1 (empty <Message>): errors are
asserted with botocore.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"
B = "222222222222"
W = World()
W.account(A)
W.account(B)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[policy(allow("s3:*", "*"))])
BOB = W.user(B, "bob", "AIDABOB0000000000001", policies=[policy(allow("s3:*", "*"))])

# client-side bucket -> (account, upstream, upstream bucket)
LAYOUT = {
    "mu-a-rgw": (A, "rgw", "mu-a-rgw"),        # names no upstream: the default
    "mu-a-moto": (A, "moto", "mu-a-moto"),
    "mu-dup-rgw": (A, "rgw", "mu-dup"),        # one upstream bucket name on both stores
    "mu-dup-moto": (A, "moto", "mu-dup"),
    "mu-b-moto": (B, "moto", "mu-b-moto"),
}
DEFAULT = "rgw"
# every store holds every upstream bucket (and one nobody configured): a
# request or listing routed to the wrong store finds a bucket there
STORE_BUCKETS = ["mu-a-rgw", "mu-a-moto", "mu-dup", "mu-b-moto", "mu-stray"]
for name, (acct, up, ub) in LAYOUT.items():
    W.bucket(name, acct, upstream_name=ub if ub != name else None)
BUCKET_UP = {n: up for n, (_, up, _) in LAYOUT.items() if n != "mu-a-rgw"}

READY_WINDOW = 2
PENDING = {}
RGW = MOTO = PX = None
STORES = {}


def upstreams(rgw=None, moto=None):
    """The two upstreams entries; rgw/moto: extra fields for each."""
    return [dict(name="rgw", store=RGW, decode_aws_chunked=True, **(rgw or {})),
            dict(name="moto", store=MOTO, **(moto or {}))]


def multi(rgw=None, moto=None, admin=None, **kw):
    """A config function for Proxy: both upstreams, this module's world."""
    kw.setdefault("default_upstream", DEFAULT)
    kw.setdefault("bucket_upstreams", BUCKET_UP)
    return lambda port, audit: render_multi_config(W, upstreams(rgw, moto), port, audit,
                                                   admin=admin, **kw)


def setUpModule():
    global RGW, MOTO, PX
    require_rgw()
    MOTO = Moto(auth=True, buckets=STORE_BUCKETS).start()
    RGW = Rgw(buckets=STORE_BUCKETS).start()
    STORES.update(rgw=RGW, moto=MOTO)
    assert RGW.access_key != MOTO.access_key, "the two stores must not share s3warden's key"
    PX = Proxy(multi(admin={"port": free_port(), "upstream_ready_window_seconds": READY_WINDOW}),
               "multi").start()


def tearDownModule():
    cleanup_all()


def placement(bucket):
    """(own store, other store, upstream bucket name) of a client bucket."""
    _, up, ub = LAYOUT[bucket]
    other = "moto" if up == "rgw" else "rgw"
    return STORES[up], STORES[other], ub


def rand(n):
    return os.urandom(n)


def ready_text(px, status, timeout=20):
    """The /readyz answer once it has this status (or the last one)."""
    r = wait_until(lambda: (lambda x: x if x.status == status else None)(px.admin("/readyz")), timeout)
    return r or px.admin("/readyz")


def upstream_line(name, state, optional=False):
    """A regex for /readyz's line of one upstream (docs: one line each)."""
    body = {"ok": r"ok \([^\n]*\)",
            "down": r"(no answer for \d+s \(window %ds\)|never answered)" % READY_WINDOW}[state]
    return r"(?m)^upstream %s: %s%s$" % (re.escape(name), body, r" \[optional\]" if optional else "")


class Placed(Case):
    def assertPlaced(self, bucket, key, data):
        """On the bucket's own store, byte for byte; not on the other."""
        own, other, ub = placement(bucket)
        self.assertStored(own, ub, key, data)
        got = other.get(ub, key)
        self.assertIsNone(got and f"{len(got)} bytes", f"{bucket}/{key} also landed on the other store")

    def assertNowhere(self, bucket, key):
        own, other, ub = placement(bucket)
        self.assertIsNone(own.get(ub, key))
        self.assertIsNone(other.get(ub, key))


# ---------------------------------------------------------------------------
class Clients(Placed):
    def test_boto3_every_bucket(self):
        s3 = PX.client(ALICE)
        for bucket in ("mu-a-rgw", "mu-a-moto", "mu-dup-rgw", "mu-dup-moto"):
            with self.subTest(bucket=bucket):
                data = rand(100_000)
                # a key of its own: mu-dup-rgw and mu-dup-moto share an upstream bucket name
                key = f"boto3/{bucket}.bin"
                s3.put_object(Bucket=bucket, Key=key, Body=data)
                self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), data)
                self.assertPlaced(bucket, key, data)

    def test_boto3_same_upstream_bucket_name_on_both(self):
        # mu-dup-rgw and mu-dup-moto are both "mu-dup" upstream: one key,
        # two objects, each on its own store
        s3 = PX.client(ALICE)
        d_rgw, d_moto = rand(3000), rand(4000)
        s3.put_object(Bucket="mu-dup-rgw", Key="dup/k", Body=d_rgw)
        s3.put_object(Bucket="mu-dup-moto", Key="dup/k", Body=d_moto)
        self.assertStored(RGW, "mu-dup", "dup/k", d_rgw)
        self.assertStored(MOTO, "mu-dup", "dup/k", d_moto)
        self.assertEqual(s3.get_object(Bucket="mu-dup-rgw", Key="dup/k")["Body"].read(), d_rgw)
        self.assertEqual(s3.get_object(Bucket="mu-dup-moto", Key="dup/k")["Body"].read(), d_moto)
        s3.delete_object(Bucket="mu-dup-moto", Key="dup/k")
        self.assertIsNone(MOTO.get("mu-dup", "dup/k"))
        self.assertStored(RGW, "mu-dup", "dup/k", d_rgw)

    def test_aws_cli_cp_both_multipart(self):
        d = tmpdir("mu-cli")
        for bucket in ("mu-a-rgw", "mu-a-moto"):
            with self.subTest(bucket=bucket):
                # 9 MiB: the cli's multipart upload (8 MiB threshold)
                data = rand(9 * 1024 * 1024)
                src = os.path.join(d, f"up-{bucket}")
                with open(src, "wb") as f:
                    f.write(data)
                self.assertCliOk(aws(PX.endpoint, ALICE, "s3", "cp", src, f"s3://{bucket}/cli-big.bin"))
                self.assertPlaced(bucket, "cli-big.bin", data)
                own, _, ub = placement(bucket)
                self.assertEqual(own.uploads(ub), [])
                small = rand(1234)
                src2 = os.path.join(d, f"small-{bucket}")
                with open(src2, "wb") as f:
                    f.write(small)
                self.assertCliOk(aws(PX.endpoint, ALICE, "s3", "cp", src2, f"s3://{bucket}/cli-small.bin"))
                self.assertPlaced(bucket, "cli-small.bin", small)
                dst = os.path.join(d, f"down-{bucket}")
                self.assertCliOk(aws(PX.endpoint, ALICE, "s3", "cp", f"s3://{bucket}/cli-big.bin", dst))
                with open(dst, "rb") as f:
                    self.assertEqual(f.read(), data)
                # no "/" in the prefix: moto with auth on refuses those (README,
                # "Known limits of moto")
                r = self.assertCliOk(aws(PX.endpoint, ALICE, "s3api", "list-objects-v2", "--bucket", bucket,
                                         "--prefix", "cli-", "--query", "Contents[].[Key, Size]",
                                         "--output", "json"))
                self.assertEqual(json.loads(r.out), [["cli-big.bin", len(data)], ["cli-small.bin", len(small)]])

    def test_js_sdk_both(self):
        js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
        if not os.path.isdir(os.path.join(js, "node_modules", "@aws-sdk", "client-s3")):
            p = subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                                "@aws-sdk/client-s3"], cwd=js, capture_output=True, text=True,
                               timeout=240)
            self.assertEqual(p.returncode, 0, "npm install @aws-sdk/client-s3 failed: " + p.stderr[-2000:])
        for bucket in ("mu-a-rgw", "mu-a-moto"):
            with self.subTest(bucket=bucket):
                data = rand(40_000).hex()
                env = dict(os.environ, S3W_ENDPOINT=PX.endpoint, S3W_BUCKET=bucket, S3W_KEY="js-obj",
                           AWS_ACCESS_KEY_ID=ALICE.id, AWS_SECRET_ACCESS_KEY=ALICE.secret,
                           AWS_REGION=REGION, S3W_BODY=data)
                p = subprocess.run(["node", os.path.join(js, "roundtrip.mjs")], env=env,
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn("roundtrip ok", p.stdout)
                self.assertPlaced(bucket, "js-obj", data.encode())


# ---------------------------------------------------------------------------
class ListBucketsMerged(Case):
    def test_account_on_both_upstreams(self):
        want = ["mu-a-moto", "mu-a-rgw", "mu-dup-moto", "mu-dup-rgw"]
        got = [b["Name"] for b in PX.client(ALICE).list_buckets()["Buckets"]]
        # sorted by name, each once, client-side names only (no "mu-dup",
        # no B's bucket, no unconfigured "mu-stray" that both stores hold)
        self.assertEqual(got, want)
        r = self.assertCliOk(aws(PX.endpoint, ALICE, "s3api", "list-buckets", "--query",
                                 "Buckets[].Name", "--output", "json"))
        self.assertEqual(json.loads(r.out), want)

    def test_account_on_one_upstream(self):
        got = [b["Name"] for b in PX.client(BOB).list_buckets()["Buckets"]]
        self.assertEqual(got, ["mu-b-moto"])


# ---------------------------------------------------------------------------
def cross_msg(op, src, dst):
    return (f"{op} from bucket {src} (upstream {LAYOUT[src][1]}) to bucket {dst} "
            f"(upstream {LAYOUT[dst][1]}): s3warden does not copy between upstreams")


class Copies(Placed):
    def snapshots(self):
        return {(n, b): s.snapshot(b) for n, s in STORES.items() for b in STORE_BUCKETS}

    def test_copy_object_across_upstreams_refused(self):
        s3 = PX.client(ALICE)
        s3.put_object(Bucket="mu-a-rgw", Key="cp/src", Body=b"from rgw")
        s3.put_object(Bucket="mu-a-moto", Key="cp/src", Body=b"from moto")
        s3.put_object(Bucket="mu-dup-rgw", Key="cp/src", Body=b"from rgw dup")
        before = self.snapshots()
        # the last pair: one upstream bucket name ("mu-dup") on both sides
        for src, dst in (("mu-a-rgw", "mu-a-moto"), ("mu-a-moto", "mu-a-rgw"),
                         ("mu-dup-rgw", "mu-dup-moto")):
            with self.subTest(src=src, dst=dst):
                self.assertClientError(
                    lambda: s3.copy_object(Bucket=dst, Key="cp/dst", CopySource={"Bucket": src, "Key": "cp/src"}),
                    "NotImplemented", cross_msg("CopyObject", src, dst), status=501)
        time.sleep(0.3)
        self.assertEqual(self.snapshots(), before, "a store changed after a refused cross-upstream copy")

    def test_upload_part_copy_across_upstreams_refused(self):
        s3 = PX.client(ALICE)
        s3.put_object(Bucket="mu-a-rgw", Key="upc/src", Body=rand(1000))
        up = s3.create_multipart_upload(Bucket="mu-a-moto", Key="upc/dst")["UploadId"]
        try:
            self.assertClientError(
                lambda: s3.upload_part_copy(Bucket="mu-a-moto", Key="upc/dst", UploadId=up, PartNumber=1,
                                            CopySource={"Bucket": "mu-a-rgw", "Key": "upc/src"}),
                "NotImplemented", cross_msg("UploadPartCopy", "mu-a-rgw", "mu-a-moto"), status=501)
            parts = MOTO.s3().list_parts(Bucket="mu-a-moto", Key="upc/dst", UploadId=up).get("Parts", [])
            self.assertEqual(parts, [])
        finally:
            s3.abort_multipart_upload(Bucket="mu-a-moto", Key="upc/dst", UploadId=up)
        self.assertNowhere("mu-a-moto", "upc/dst")

    def test_copy_within_one_upstream(self):
        s3 = PX.client(ALICE)
        for src, dst in (("mu-a-moto", "mu-dup-moto"), ("mu-a-rgw", "mu-dup-rgw")):
            with self.subTest(src=src, dst=dst):
                data = rand(20_000)
                s3.put_object(Bucket=src, Key="cpw/src", Body=data)
                s3.copy_object(Bucket=dst, Key=f"cpw/{dst}", CopySource={"Bucket": src, "Key": "cpw/src"})
                self.assertPlaced(dst, f"cpw/{dst}", data)
        # a part copied from a bucket of the same upstream
        data = rand(5 * 1024 * 1024 + 10)
        s3.put_object(Bucket="mu-a-moto", Key="upw/src", Body=data)
        up = s3.create_multipart_upload(Bucket="mu-dup-moto", Key="upw/dst")["UploadId"]
        r = s3.upload_part_copy(Bucket="mu-dup-moto", Key="upw/dst", UploadId=up, PartNumber=1,
                                CopySource={"Bucket": "mu-a-moto", "Key": "upw/src"})
        s3.complete_multipart_upload(Bucket="mu-dup-moto", Key="upw/dst", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
        self.assertPlaced("mu-dup-moto", "upw/dst", data)


# ---------------------------------------------------------------------------
class Traffic(BackgroundTraffic):
    """PUT then GET of fresh objects traffic/<i> in one bucket."""

    def __init__(self, px, bucket):
        super().__init__()
        # no retry (s3_client's default; said here because the test counts)
        # in botocore's terms, which would hide a first failure
        self.s3 = px.client(ALICE, retries={"total_max_attempts": 1})
        self.bucket = bucket

    def request(self, i):
        key, body = f"traffic/{i}", f"traffic {i} ".encode() * 50
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        if self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() != body:
            return f"{key}: wrong body"
        return None


WORKS = b"written by works()"


def works(px, bucket, key):
    """True once a PUT through px to bucket succeeds."""
    try:
        px.client(ALICE).put_object(Bucket=bucket, Key=key, Body=WORKS)
        return True
    except ClientError:
        return False


class Rotation(Placed):
    def rotate(self, name, add_key, remove_key, other_bucket, bucket):
        """The rotated upstream's key k1 (added to its store for this proxy
        alone) is replaced on the store by k2; s3warden fails on it until its
        config has k2 and SIGHUP; the other upstream's traffic never fails."""
        k1 = add_key(1)
        px = Proxy(multi(**{name: {"key": k1}}), f"mu-rot-{name}").start()
        try:
            self.assertTrue(works(px, bucket, "rot/before"), px.log_tail())
            with Traffic(px, other_bucket) as t:
                k2 = add_key(2)
                remove_key(k1)
                # the store refuses k1 now (a request fails through s3warden)
                self.assertTrue(wait_until(lambda: not works(px, bucket, "rot/old-key"), 10),
                                f"{name} still took the removed key")
                for u in px.config["upstreams"]:
                    if u["name"] == name:
                        u["credentials"]["chain"][0].update(access_key_id=k2[0], secret=k2[1])
                px.write_config()
                px.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_until(lambda: works(px, bucket, "rot/after"), 15),
                                f"{name} did not work again after the reload:\n{px.log_tail()}")
                t.wait_for(5)
            self.assertEqual(t.errors, [], "traffic to the other upstream failed during the rotation")
            self.assertGreaterEqual(t.ok - t.before, 5)
            self.assertPlaced(bucket, "rot/after", WORKS)
            self.assertPlaced(other_bucket, f"traffic/{t.ok}", f"traffic {t.ok} ".encode() * 50)
            self.assertTrue(px.alive())
        finally:
            px.stop()

    def test_rotate_rgw_key_while_moto_serves(self):
        conf = RGW.info["CEPH_CONF"]

        def admin(*args):
            p = subprocess.run(["radosgw-admin", "-c", conf] + list(args), capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])

        def add_key(i):
            k = (f"AKIAMUROTRGW{int(time.time()) % 100000:05d}{i:03d}", Key(f"mu-rot-rgw-{time.time()}").secret)
            admin("key", "create", "--uid=test", "--key-type=s3", f"--access-key={k[0]}", f"--secret-key={k[1]}")
            return k

        def remove_key(k):
            admin("key", "rm", "--uid=test", "--key-type=s3", f"--access-key={k[0]}")
        self.rotate("rgw", add_key, remove_key, "mu-a-moto", "mu-a-rgw")

    def test_rotate_moto_key_while_rgw_serves(self):
        iam = boto3.client("iam", endpoint_url=MOTO.endpoint, region_name=REGION,
                           aws_access_key_id=MOTO.access_key, aws_secret_access_key=MOTO.secret_key)
        iam.create_user(UserName="s3warden-rot")
        iam.put_user_policy(UserName="s3warden-rot", PolicyName="all", PolicyDocument=json.dumps(
            policy(allow("*", "*"))))

        def add_key(_i):
            k = iam.create_access_key(UserName="s3warden-rot")["AccessKey"]
            return (k["AccessKeyId"], k["SecretAccessKey"])

        def remove_key(k):
            iam.delete_access_key(UserName="s3warden-rot", AccessKeyId=k[0])
        self.rotate("moto", add_key, remove_key, "mu-a-rgw", "mu-a-moto")


# ---------------------------------------------------------------------------
class Outage(Placed):
    def test_rgw_down_moto_serves_then_recovers(self):
        # the same layout with rgw optional: /readyz stays 200 through it
        px_opt = Proxy(multi(rgw={"readiness": "optional"},
                             admin={"port": free_port(), "upstream_ready_window_seconds": READY_WINDOW}),
                       "mu-optional").start()
        s3, s3o, bob = PX.client(ALICE), px_opt.client(ALICE), PX.client(BOB)
        for px in (PX, px_opt):
            r = ready_text(px, 200)
            self.assertEqual(r.status, 200, r)
            self.assertRegex(r.text, upstream_line("rgw", "ok", px is px_opt))
            self.assertRegex(r.text, upstream_line("moto", "ok"))
        s3.put_object(Bucket="mu-a-rgw", Key="outage/before", Body=b"before")
        RGW.stop_gateway()
        # each check in a subTest: one mismatch does not hide the others
        try:
            for name, client in (("required", s3), ("optional", s3o)):
                with self.subTest(f"rgw's buckets 503 ({name})"):
                    self.assertClientError(lambda: client.put_object(Bucket="mu-a-rgw", Key="outage/during",
                                                                     Body=b"x"), "ServiceUnavailable", status=503)
                    self.assertClientError(lambda: client.get_object(Bucket="mu-dup-rgw", Key="outage/before"),
                                           "ServiceUnavailable", status=503)
                with self.subTest(f"moto's buckets served ({name})"):
                    data = rand(5000)
                    client.put_object(Bucket="mu-a-moto", Key=f"outage/moto-{name}", Body=data)
                    self.assertEqual(client.get_object(Bucket="mu-a-moto", Key=f"outage/moto-{name}")
                                     ["Body"].read(), data)
                    # RGW is down: no other-store check
                    self.assertStored(MOTO, "mu-a-moto", f"outage/moto-{name}", data)
            with self.subTest("ListBuckets of an account on rgw: 503, the upstream in the log"):
                # not a partial list
                e = self.assertClientError(lambda: s3.list_buckets(), "ServiceUnavailable", status=503)
                rid = e.response["ResponseMetadata"]["RequestId"]
                self.assertTrue(rid)
                lines = lambda: [x for x in PX.log_text().splitlines() if f"request_id={rid}" in x]
                wait_until(lambda: any("ListBuckets" in x for x in lines()), 3)
                self.assertTrue([x for x in lines() if re.search(r"(?<![\w-])rgw(?![\w-])", x)],
                                "no log line of the request names the upstream rgw:\n" + "\n".join(lines()))
            with self.subTest("ListBuckets of an account on moto only"):
                self.assertEqual([b["Name"] for b in bob.list_buckets()["Buckets"]], ["mu-b-moto"])
            with self.subTest("/readyz, rgw required: 503 naming it"):
                r = ready_text(PX, 503)
                self.assertEqual(r.status, 503, r)
                self.assertRegex(r.text, upstream_line("rgw", "down"))
                self.assertRegex(r.text, upstream_line("moto", "ok"))
                self.assertTrue(r.text.endswith("not ready\n"), r)
            with self.subTest("/readyz, rgw optional: 200 naming it"):
                time.sleep(READY_WINDOW + 1)

                # polled, not one look: "moto ok" holds while moto answered
                # the prober within half a window, which a loaded machine
                # can miss once; down, it would stay down
                def opt_ready():
                    x = px_opt.admin("/readyz")
                    return x if (x.status == 200 and re.search(upstream_line("rgw", "down", optional=True), x.text)
                                 and re.search(upstream_line("moto", "ok"), x.text)) else None
                r = wait_until(opt_ready, 10) or px_opt.admin("/readyz")
                self.assertEqual(r.status, 200, r)
                self.assertRegex(r.text, upstream_line("rgw", "down", optional=True))
                self.assertRegex(r.text, upstream_line("moto", "ok"))
                self.assertTrue(r.text.endswith("\nready\n"), r)
        finally:
            RGW.start_gateway()
        # back: no client traffic needed for /readyz (the admin's probe).
        # The optional one was 200 all along: wait for its rgw line.
        for px in (PX, px_opt):
            line = upstream_line("rgw", "ok", px is px_opt)
            r = wait_until(lambda: (lambda x: x if x.status == 200 and re.search(line, x.text)
                                    else None)(px.admin("/readyz")), 30) or px.admin("/readyz")
            self.assertEqual(r.status, 200, r)
            self.assertRegex(r.text, line)
        for client in (s3, s3o):
            data = rand(7000)
            client.put_object(Bucket="mu-a-rgw", Key="outage/after", Body=data)
            self.assertPlaced("mu-a-rgw", "outage/after", data)
            self.assertEqual(client.get_object(Bucket="mu-a-rgw", Key="outage/before")["Body"].read(), b"before")
        self.assertEqual(len(s3.list_buckets()["Buckets"]), 4)
        px_opt.stop()


# ---------------------------------------------------------------------------
class Metrics(Case):
    def test_upstream_label_per_upstream(self):
        PX.client(ALICE).head_bucket(Bucket="mu-a-rgw")
        PX.client(ALICE).head_bucket(Bucket="mu-a-moto")
        text = PX.admin("/metrics").text
        for name in ("rgw", "moto"):
            self.assertIn(f'upstream="{name}"', text)

    def test_pool_events_counted_per_upstream(self):
        def sent():  # requests each upstream's pools sent: opened + reused - retried
            n = {}
            for m in re.finditer(r'^s3warden_upstream_connection_events_total\{upstream="(\w+)",'
                                 r'event="(opened|reused|retried)"\} (\d+)$',
                                 PX.admin("/metrics").text, re.M):
                n[m[1]] = n.get(m[1], 0) + int(m[3]) * (-1 if m[2] == "retried" else 1)
            return n
        s3 = PX.client(ALICE)
        s3.head_bucket(Bucket="mu-a-rgw")  # both pools made: every label is there
        s3.head_bucket(Bucket="mu-a-moto")
        n0 = sent()
        for _ in range(3):
            s3.head_bucket(Bucket="mu-a-rgw")
        n1 = sent()
        self.assertEqual((n1["rgw"] - n0["rgw"], n1["moto"] - n0["moto"]), (3, 0), (n0, n1))
        for _ in range(2):
            s3.head_bucket(Bucket="mu-a-moto")
        n2 = sent()
        self.assertEqual((n2["rgw"] - n1["rgw"], n2["moto"] - n1["moto"]), (0, 2), (n1, n2))


class Reload(Placed):
    def test_sighup_adds_and_removes_an_upstream(self):
        # starts with rgw alone: moto's buckets are not configured
        only_rgw = {n: v for n, v in BUCKET_UP.items() if v == "rgw"}
        px = Proxy(lambda port, audit: render_multi_config(
            W, upstreams()[:1], port, audit, bucket_upstreams=only_rgw), "mu-reload")
        px.config["buckets"] = [b for b in px.config["buckets"] if LAYOUT[b["name"]][1] == "rgw"]
        px.start()
        try:
            s3 = px.client(ALICE)
            self.assertClientError(lambda: s3.put_object(Bucket="mu-a-moto", Key="rl/x", Body=b"x"),
                                   "AccessDenied", status=403)
            full = multi()(px.port, px.audit_path)
            px.config = full
            px.write_config()
            px.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: works(px, "mu-a-moto", "rl/added"), 10), px.log_tail())
            self.assertPlaced("mu-a-moto", "rl/added", WORKS)
            # and removed again: its buckets with it; rgw's keep working, and
            # a download from moto in flight at the reload finishes
            big = rand(8 * 1024 * 1024)
            MOTO.put("mu-a-moto", "rl/big", big)
            url = f"{px.endpoint}/mu-a-moto/rl/big"
            conn = http.client.HTTPConnection("127.0.0.1", px.port, timeout=30)
            try:
                conn.request("GET", "/mu-a-moto/rl/big", headers=sign("GET", url, ALICE))
                r = conn.getresponse()
                self.assertEqual(r.status, 200)
                head = r.read(64 * 1024)
                px.config = multi()(px.port, px.audit_path)
                px.config["upstreams"] = px.config["upstreams"][:1]
                px.config["buckets"] = [b for b in px.config["buckets"] if LAYOUT[b["name"]][1] == "rgw"]
                px.write_config()
                px.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_until(lambda: not works(px, "mu-a-moto", "rl/removed"), 10), px.log_tail())
                rest = r.read()
            finally:
                conn.close()
            self.assertEqual(hashlib.sha256(head + rest).hexdigest(), hashlib.sha256(big).hexdigest(),
                             "the download in flight on the removed upstream did not finish whole")
            self.assertIsNone(MOTO.get("mu-a-moto", "rl/removed"))
            self.assertTrue(works(px, "mu-a-rgw", "rl/still"))
            self.assertTrue(px.alive())
        finally:
            px.stop()


class CredentialSets(Placed):
    def test_named_set_and_default(self):
        # rgw: the top-level credentials (the set "default"); moto: a named set
        def cfg(port, audit):
            return render_multi_config(
                W, [dict(name="rgw", store=RGW, decode_aws_chunked=True, credentials="default"),
                    dict(name="moto", store=MOTO, credentials="moto-keys")], port, audit,
                default_upstream=DEFAULT, bucket_upstreams=BUCKET_UP,
                credentials={"chain": [{"type": "static", "access_key_id": RGW.access_key,
                                        "secret": RGW.secret_key}]},
                credential_sets=[{"name": "moto-keys", "chain": [
                    {"type": "static", "access_key_id": MOTO.access_key, "secret": MOTO.secret_key}]}])
        px = Proxy(cfg, "mu-sets").start()
        try:
            s3 = px.client(ALICE)
            for bucket in ("mu-a-rgw", "mu-a-moto"):
                data = rand(3000)
                s3.put_object(Bucket=bucket, Key="sets/x", Body=data)
                self.assertPlaced(bucket, "sets/x", data)
        finally:
            px.stop()


class Legacy(Placed):
    def test_single_upstream_and_credentials(self):
        w = World()
        w.account(A)
        key = w.user(A, "alice", "AIDAALICE00000000001", policies=[policy(allow("s3:*", "*"))])
        w.bucket("mu-a-moto", A)
        px = Proxy(lambda port, audit: render_config(w, MOTO, port, audit), "mu-legacy").start()
        try:
            self.assertNotIn("upstreams", px.config)
            data = rand(10_000)
            px.client(key).put_object(Bucket="mu-a-moto", Key="legacy/x", Body=data)
            self.assertEqual(px.client(key).get_object(Bucket="mu-a-moto", Key="legacy/x")["Body"].read(), data)
            self.assertPlaced("mu-a-moto", "legacy/x", data)
            self.assertEqual([b["Name"] for b in px.client(key).list_buckets()["Buckets"]], ["mu-a-moto"])
        finally:
            px.stop()


# ---------------------------------------------------------------------------
def validate(cfg):
    d = tmpdir("mu-validate")
    path = os.path.join(d, f"c{time.time_ns()}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.run([BIN, "validate", "--config", path], capture_output=True, text=True, timeout=30)
    return p, path


class Validate(Case):
    def base(self):
        return multi()(free_port(), os.path.join(tmpdir("mu-validate"), "audit.log"))

    def assertLine(self, text, prefix, *parts):
        """A line of text starting with prefix that holds every part."""
        lines = [x for x in text.splitlines() if x.startswith(prefix) and all(p in x for p in parts)]
        self.assertTrue(lines, f"no line {prefix!r} with {parts} in:\n{text}")

    def test_our_config_valid(self):
        p, path = validate(self.base())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(p.stdout.startswith(f"{path}: OK ("), p.stdout)
        self.assertNotIn("warning:", p.stderr)

    def test_unknown_upstream_is_an_error(self):
        cfg = self.base()
        i = next(i for i, b in enumerate(cfg["buckets"]) if b["name"] == "mu-a-moto")
        cfg["buckets"][i]["upstream"] = "nowhere-store"
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLine(p.stderr, f"{path}: buckets[{i}].upstream: ", "nowhere-store")
        self.assertIn(f"{path}: invalid (", p.stderr)

    def test_unknown_default_upstream_is_an_error(self):
        cfg = self.base()
        cfg["default_upstream"] = "nowhere-default"
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLine(p.stderr, f"{path}: default_upstream", "nowhere-default")

    def test_unknown_credential_set_is_an_error(self):
        cfg = self.base()
        cfg["upstreams"][1]["credentials"] = "no-such-set"
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLine(p.stderr, f"{path}: upstreams[1].credentials", "no-such-set")

    def test_unused_upstream_and_set_are_warnings(self):
        cfg = self.base()
        cfg["upstreams"].append({"name": "spare-store", "endpoint": "http://127.0.0.1:9", "region": REGION,
                                 "credentials": "spare-keys"})
        cfg["credential_sets"] = [
            {"name": "spare-keys", "chain": [{"type": "static", "access_key_id": "AKIASPARE00000000001",
                                              "secret": "sparesecretsparesecretsparesecret000001"}]},
            {"name": "idle-keys", "chain": [{"type": "static", "access_key_id": "AKIAIDLE000000000001",
                                             "secret": "idlesecretidlesecretidlesecretidle00001"}]}]
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(p.stdout.startswith(f"{path}: OK ("), p.stdout)
        self.assertLine(p.stderr, f"warning: {path}: upstreams[2]", "spare-store")
        self.assertLine(p.stderr, "warning: ", "idle-keys")

    def test_two_buckets_on_one_upstream_bucket(self):
        cfg = self.base()
        # mu-dup on both stores is fine (the base config is OK); on one store twice it is not
        i = next(i for i, b in enumerate(cfg["buckets"]) if b["name"] == "mu-dup-moto")
        cfg["buckets"][i]["upstream"] = "rgw"
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLine(p.stderr, f"{path}: buckets[", "mu-dup")

    def test_several_upstreams_need_a_default(self):
        cfg = self.base()
        del cfg["default_upstream"]
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("default_upstream", p.stderr)

    def test_default_name_taken_by_legacy_upstream(self):
        cfg = self.base()
        cfg["upstream"] = {"endpoint": RGW.endpoint, "region": REGION}
        cfg["credentials"] = {"chain": [{"type": "static", "access_key_id": RGW.access_key,
                                         "secret": RGW.secret_key}]}
        cfg["upstreams"][1]["name"] = "default"
        for b in cfg["buckets"]:
            if b.get("upstream") == "moto":
                b["upstream"] = "default"
        p, path = validate(cfg)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLine(p.stderr, f"{path}: upstreams[1]", "default")


if __name__ == "__main__":
    main(PENDING)
