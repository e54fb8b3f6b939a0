#!/usr/bin/env python3
"""Clients that act on more than one answer (issue 19), through s3warden in
front of Ceph RGW (the strict upstream where the problems appeared):

- GetBucketLocation: the region a client must sign for is s3warden's own
  (upstream.region), never the upstream's - RGW answers its zonegroup
  `default`, and minio-go (restic) then signed every request for `default`
  and got 400 AuthorizationHeaderMalformed. restic init, backup and restore
  run through s3warden, with the bytes compared.
- SigV2 presigned URLs (what `aws s3 presign`, boto3's generate_presigned_url
  in us-east-1 and `s3cmd signurl` make by default) are refused with S3's
  error, and the `s3v4` settings the README gives work.
- RGW itself refuses a STREAMING-UNSIGNED-PAYLOAD-TRAILER upload (the reason
  s3warden decodes them for it, `decode_aws_chunked`).

Needs radosgw and restic (deploy/install-deps.sh): missing, the module fails
with that message rather than skipping.
"""
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"
BUCKET = "it-interop"
GHOST = "it-interop-ghost"  # configured in s3warden, never created upstream
OTHER_REGION = "eu-central-1"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{b}" for b in (BUCKET, GHOST)] +
                 [f"arn:aws:s3:::{b}/*" for b in (BUCKET, GHOST)]))])
# may list and read, but not s3:GetBucketLocation
BOB = W.user(A, "bob", "AIDABOB0000000000001", policies=[
    policy(allow(["s3:ListBucket", "s3:GetObject"], [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
W.bucket(BUCKET, A)
W.bucket(GHOST, A)
PENDING = {}
UP = PX = PX_EU = None
LOCATION_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def setUpModule():
    global UP, PX, PX_EU
    if shutil.which("restic") is None:
        raise AssertionError("restic is not installed. Run: sudo bash deploy/install-deps.sh")
    UP = Rgw(buckets=[BUCKET]).start()

    def conf(region):
        def fn(port, audit):
            c = render_config(W, UP, port, audit, decode_aws_chunked=True)
            c["upstream"]["region"] = region
            return c
        return fn
    PX = Proxy(conf(REGION), "interop").start()
    # RGW takes any region in a signature's scope; s3warden in another
    # region shows the answer is s3warden's region, not a constant
    PX_EU = Proxy(conf(OTHER_REGION), "interop-eu").start()


def tearDownModule():
    cleanup_all()


def get_location(px, key, bucket):
    u = f"{px.endpoint}/{bucket}?location"
    return raw(px.endpoint, "GET", f"/{bucket}?location", sign("GET", u, key))


class BucketLocation(Case):
    def test_upstream_answers_its_zonegroup(self):
        # the premise: RGW's own answer names a region no client may sign
        # for at s3warden
        self.assertEqual(UP.s3().get_bucket_location(Bucket=BUCKET)["LocationConstraint"], "default")

    def test_us_east_1_is_empty_as_on_s3(self):
        r = get_location(PX, ALICE, BUCKET)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                         b'<LocationConstraint xmlns="' + LOCATION_NS.encode() + b'"/>')
        self.assertIsNone(PX.client(ALICE).get_bucket_location(Bucket=BUCKET).get("LocationConstraint"))

    def test_other_region_named(self):
        c = s3_client(PX_EU.endpoint, ALICE.id, ALICE.secret, region_name=OTHER_REGION)
        self.assertEqual(c.get_bucket_location(Bucket=BUCKET)["LocationConstraint"], OTHER_REGION)

    def test_signed_for_us_east_1_answered_in_any_region(self):
        # as S3's global endpoint: the client does not know the region yet
        # (minio-go signs this one request for us-east-1)
        c = s3_client(PX_EU.endpoint, ALICE.id, ALICE.secret, region_name="us-east-1")
        self.assertEqual(c.get_bucket_location(Bucket=BUCKET)["LocationConstraint"], OTHER_REGION)

    def test_other_requests_must_name_s3wardens_region(self):
        c = s3_client(PX_EU.endpoint, ALICE.id, ALICE.secret, region_name="us-east-1")
        self.assertClientError(
            lambda: c.list_objects_v2(Bucket=BUCKET), "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the region 'us-east-1' is wrong; "
            f"expecting '{OTHER_REGION}'", 400)
        c = s3_client(PX.endpoint, ALICE.id, ALICE.secret, region_name="default")
        self.assertClientError(
            lambda: c.get_bucket_location(Bucket=BUCKET), "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the region 'default' is wrong; "
            "expecting 'us-east-1'", 400)

    def test_bucket_missing_upstream_is_no_such_bucket(self):
        r = get_location(PX, ALICE, GHOST)
        self.assertEqual((r.status, r.code), (404, "NoSuchBucket"), r)

    def test_denied_without_permission(self):
        self.assertClientError(
            lambda: PX.client(BOB).get_bucket_location(Bucket=BUCKET), "AccessDenied",
            denied_message(user_arn(A, "bob"), "s3:GetBucketLocation", f"arn:aws:s3:::{BUCKET}",
                           no_allow("identity-based", "s3:GetBucketLocation")), 403)

    def test_unlisted_bucket_denied_before_upstream(self):
        r = get_location(PX, ALICE, "it-interop-unlisted")
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)


def restic(px, key, repo, *args, cwd=None):
    """restic with the repository s3:ENDPOINT/BUCKET/REPO and only this key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESTIC_"))}
    env.update(key.env(), RESTIC_REPOSITORY=f"s3:{px.endpoint}/{BUCKET}/{repo}",
               RESTIC_PASSWORD="interop-test-password", HOME=tmpdir("restic-home"),
               RESTIC_CACHE_DIR=tmpdir("restic-cache"))
    return subprocess.run(["restic", "--quiet"] + list(args), env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


class Restic(Case):
    def run_restic(self, px, repo):
        src = tmpdir(f"restic-src-{repo}")
        files = {"a.bin": os.urandom(3 * 1024 * 1024 + 5), "dir/b.txt": b"restic through s3warden\n",
                 "dir/empty": b""}
        for name, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        for args in (("init",), ("backup", "."), ("check",)):
            r = restic(px, ALICE, repo, *args, cwd=src)
            self.assertEqual(r.returncode, 0, f"restic {args[0]}: {r.stdout}\n{r.stderr}")
        out = tmpdir(f"restic-out-{repo}")
        r = restic(px, ALICE, repo, "restore", "latest", "--target", out)
        self.assertEqual(r.returncode, 0, f"restic restore: {r.stdout}\n{r.stderr}")
        for name, data in files.items():
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(), data, name)
        # the repository is on the upstream, under the configured bucket
        self.assertIsNotNone(UP.get(BUCKET, f"{repo}/config"))

    def test_init_backup_restore(self):
        self.run_restic(PX, "repo-us")

    def test_init_backup_restore_other_region(self):
        self.run_restic(PX_EU, "repo-eu")


if __name__ == "__main__":
    main(PENDING)
