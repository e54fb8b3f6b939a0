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

rclone copies, checks, syncs and deletes through s3warden (multipart
upload and UploadPartCopy included), bytes compared.

Needs radosgw, restic and rclone (deploy/install-deps.sh): missing, the module fails
with that message rather than skipping.
"""
import base64
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3

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
    for tool in ("restic", "rclone"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed. Run: sudo bash deploy/install-deps.sh")
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
        # signed for another region: S3's 400, which names the region to
        # sign for (<Region>, and x-amz-bucket-region for a HEAD's sake)
        u = f"{PX_EU.endpoint}/{BUCKET}?list-type=2"
        r = raw(PX_EU.endpoint, "GET", f"/{BUCKET}?list-type=2", sign("GET", u, ALICE))
        self.assertEqual((r.status, r.code), (400, "AuthorizationHeaderMalformed"), r)
        self.assertEqual(r.message, "The authorization header is malformed; the region 'us-east-1' is wrong; "
                                    f"expecting '{OTHER_REGION}'")
        self.assertEqual((r.fields.get("Region"), r.headers.get("x-amz-bucket-region")),
                         (OTHER_REGION, OTHER_REGION), r)
        # which botocore follows by itself, as with S3
        c = s3_client(PX_EU.endpoint, ALICE.id, ALICE.secret, region_name="us-east-1")
        self.assertIn("KeyCount", c.list_objects_v2(Bucket=BUCKET))
        # GetBucketLocation signed for RGW's zonegroup ('default'), which no
        # client may sign for here: refused, then signed again for ours
        c = s3_client(PX.endpoint, ALICE.id, ALICE.secret, region_name="default")
        seen = []
        c.meta.events.register("needs-retry.s3.GetBucketLocation",
                               lambda response=None, **kw: seen.append(response[1].get("Error", {})))
        self.assertIsNone(c.get_bucket_location(Bucket=BUCKET).get("LocationConstraint"))
        self.assertEqual([(e.get("Code"), e.get("Message"), e.get("Region")) for e in seen],
                         [("AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                           "'default' is wrong; expecting 'us-east-1'", "us-east-1"), (None, None, None)], seen)

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


def audit_errors(px):
    return sorted({a["errorCode"] for a in px.audit() if a.get("errorCode")})


def write_tree(root, files):
    """files: relative path -> bytes, written under root."""
    for name, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)


class TreeCase(Case):
    def assertTree(self, root, files):
        """Each file under root holds exactly its bytes."""
        for name, data in files.items():
            with open(os.path.join(root, name), "rb") as f:
                self.assertEqual(f.read(), data, name)


class Restic(TreeCase):
    def run_restic(self, px, repo):
        src = tmpdir(f"restic-src-{repo}")
        files = {"a.bin": os.urandom(3 * 1024 * 1024 + 5), "dir/b.txt": b"restic through s3warden\n",
                 "dir/empty": b""}
        write_tree(src, files)
        for args in (("init",), ("backup", "."), ("check",)):
            r = restic(px, ALICE, repo, *args, cwd=src)
            # restic shows only "400 Bad Request" for a HEAD: the audit says why
            if r.returncode != 0:
                self.fail(f"restic {args[0]}: {r.stdout}\n{r.stderr}\n"
                          f"s3warden's error codes: {audit_errors(px)}")
        out = tmpdir(f"restic-out-{repo}")
        r = restic(px, ALICE, repo, "restore", "latest", "--target", out)
        self.assertEqual(r.returncode, 0, f"restic restore: {r.stdout}\n{r.stderr}")
        self.assertTree(out, files)
        # the repository is on the upstream, under the configured bucket
        self.assertIsNotNone(UP.get(BUCKET, f"{repo}/config"))

    def test_init_backup_restore(self):
        self.run_restic(PX, "repo-us")

    def test_init_backup_restore_other_region(self):
        self.run_restic(PX_EU, "repo-eu")


def rclone(px, key, *args):
    """rclone with the remote "s3w:" configured as a user of a
    non-AWS endpoint does (provider Other: path-style), only this key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(RCLONE_CONFIG_S3W_TYPE="s3", RCLONE_CONFIG_S3W_PROVIDER="Other",
               RCLONE_CONFIG_S3W_ENDPOINT=px.endpoint, RCLONE_CONFIG_S3W_REGION=REGION,
               RCLONE_CONFIG_S3W_ACCESS_KEY_ID=key.id, RCLONE_CONFIG_S3W_SECRET_ACCESS_KEY=key.secret,
               RCLONE_CONFIG="/dev/null", HOME=tmpdir("rclone-home"))
    return subprocess.run(["rclone", "--retries", "1", "--low-level-retries", "1"] + list(args),
                          env=env, capture_output=True, text=True, timeout=120)


class Rclone(TreeCase):
    """rclone (Debian's 1.60) through s3warden in front of RGW: multipart
    upload and multipart server-side copy (UploadPartCopy with a range), its
    MD5 check, download, sync with deletions, and a denial in S3's words."""

    def rc(self, key, *args):
        r = rclone(PX, key, *args)
        if r.returncode != 0:
            self.fail(f"rclone {args[0]}: {r.stdout}\n{r.stderr}\n"
                      f"s3warden's error codes: {audit_errors(PX)}")
        return r.stdout

    def test_copy_check_sync_delete(self):
        src = tmpdir("rclone-src")
        # 12 MiB in 5 MiB parts: a multipart upload, and a multipart copy
        files = {"big.bin": os.urandom(12 * 1024 * 1024 + 7), "d/small.txt": b"rclone\n",
                 "d/empty": b""}
        write_tree(src, files)
        parts = ("--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--s3-copy-cutoff", "5M")
        dest = f"s3w:{BUCKET}/rclone"
        self.rc(ALICE, "copy", src, dest, *parts)
        self.assertEqual(self.rc(ALICE, "lsf", "-R", "--files-only", dest).split(),
                         ["big.bin", "d/empty", "d/small.txt"])
        self.rc(ALICE, "check", src, dest)  # sizes and MD5s (rclone keeps a multipart's in metadata)
        self.assertStored(UP, BUCKET, "rclone/big.bin", files["big.bin"])
        self.rc(ALICE, "copyto", f"{dest}/big.bin", f"{dest}/copy/big.bin", *parts)
        self.assertStored(UP, BUCKET, "rclone/copy/big.bin", files["big.bin"])
        out = tmpdir("rclone-out")
        self.rc(ALICE, "copy", dest, out)
        self.assertTree(out, files)
        ops = {a["eventName"] for a in PX.audit() if a.get("httpStatus") == 200 and
               (a.get("requestParameters") or {}).get("key", "").startswith("rclone/")}
        self.assertTrue({"CreateMultipartUpload", "UploadPart", "UploadPartCopy",
                         "CompleteMultipartUpload"} <= ops, ops)
        # sync deletes what the source no longer has
        os.unlink(os.path.join(src, "d", "empty"))
        self.rc(ALICE, "sync", os.path.join(src, "d"), f"{dest}/d")
        self.assertIsNone(UP.get(BUCKET, "rclone/d/empty"))
        self.rc(ALICE, "delete", f"{dest}/d")
        self.assertEqual(self.rc(ALICE, "lsf", "-R", "--files-only", dest).split(),
                         ["big.bin", "copy/big.bin"])

    def test_denied_in_s3s_words(self):
        src = tmpdir("rclone-bob")
        with open(os.path.join(src, "x.txt"), "wb") as f:
            f.write(b"x")
        r = rclone(PX, BOB, "copy", src, f"s3w:{BUCKET}/bob")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDenied: " + denied_message(
            user_arn(A, "bob"), "s3:PutObject", f"arn:aws:s3:::{BUCKET}/bob/x.txt",
            no_allow("identity-based", "s3:PutObject")), r.stderr)
        self.assertIsNone(UP.get(BUCKET, "bob/x.txt"))


class RgwTrailerUploads(Case):
    """What deploy/upstreams/rgw.sh and test_rgw.py say of RGW 16 (Pacific)
    and trailer uploads, and why the tests run s3warden with
    decode_aws_chunked in front of it."""

    def test_rgw_refuses_trailer_upload_sent_straight(self):
        data = os.urandom(2000)
        u = f"{UP.endpoint}/{BUCKET}/direct/trailer"
        h, body = unsigned_trailer((UP.access_key, UP.secret_key), u, data, crc32_b64(data))
        r = raw(UP.endpoint, "PUT", f"/{BUCKET}/direct/trailer", h, body)
        self.assertEqual((r.status, r.code), (400, "XAmzContentSHA256Mismatch"), r)
        self.assertIsNone(UP.get(BUCKET, "direct/trailer"))

    def test_decoded_by_s3warden(self):
        data = os.urandom(2000)
        u = f"{PX.endpoint}/{BUCKET}/decoded/trailer"
        h, body = unsigned_trailer(ALICE, u, data, crc32_b64(data))
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/decoded/trailer", h, body)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "decoded/trailer", data)


SIGV2_REFUSED = (400, "InvalidRequest", "The authorization mechanism you have provided is not "
                 "supported. Please use AWS4-HMAC-SHA256.")


def fetch(url):
    """GET url with urllib: (status, body, S3 error code, message)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), None, None
    except urllib.error.HTTPError as e:
        r = RawResponse(e.code, dict(e.headers), e.read())
        return r.status, r.body, r.code, r.message


def aws_cli(home, key, *args):
    """The aws cli with the config file HOME/aws-config as a user has it
    (cli_env writes the tests' own, with s3v4, only when there is none)."""
    exe = os.path.join(PYBIN, "aws") if os.path.exists(os.path.join(PYBIN, "aws")) else "aws"
    return subprocess.run([exe] + list(args), env=cli_env(key, home=home), capture_output=True,
                          text=True, timeout=60)


class PresignedSigV2(Case):
    """The README's "Presigned URLs" section, as a user follows it."""

    @classmethod
    def setUpClass(cls):
        cls.data = os.urandom(1234)
        UP.put(BUCKET, "presign/obj", cls.data)
        cls.obj = f"s3://{BUCKET}/presign/obj"

    def assertRefused(self, url):
        self.assertIn("Signature=", url)
        self.assertNotIn("X-Amz-Signature=", url)  # SigV2's query
        status, _, code, msg = fetch(url)
        self.assertEqual((status, code, msg), SIGV2_REFUSED, url)

    def assertWorks(self, url):
        self.assertIn("X-Amz-Algorithm=AWS4-HMAC-SHA256", url)
        status, body, code, _ = fetch(url)
        self.assertEqual((status, code), (200, None), url)
        self.assertEqual(body, self.data)

    def cli_home(self, name, config):
        home = tmpdir(name)
        with open(os.path.join(home, "aws-config"), "w") as f:
            f.write(config)
        return home

    def test_aws_cli_default_us_east_1_is_sigv2(self):
        home = self.cli_home("presign-cli-default", "[default]\nregion = us-east-1\n")
        r = aws_cli(home, ALICE, "--endpoint-url", PX.endpoint, "s3", "presign", self.obj)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRefused(r.stdout.strip())

    def test_aws_cli_s3v4_setting_works(self):
        # README: aws configure set default.s3.signature_version s3v4
        home = self.cli_home("presign-cli-s3v4", "[default]\nregion = us-east-1\n")
        r = aws_cli(home, ALICE, "configure", "set", "default.s3.signature_version", "s3v4")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(home, "aws-config")) as f:
            self.assertEqual(f.read(), "[default]\nregion = us-east-1\ns3 =\n"
                             "    signature_version = s3v4\n")
        r = aws_cli(home, ALICE, "--endpoint-url", PX.endpoint, "s3", "presign", self.obj)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertWorks(r.stdout.strip())

    def test_aws_cli_other_region_is_sigv4(self):
        home = self.cli_home("presign-cli-eu", f"[default]\nregion = {OTHER_REGION}\n")
        r = aws_cli(home, ALICE, "--region", OTHER_REGION, "--endpoint-url", PX_EU.endpoint,
                    "s3", "presign", self.obj)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertWorks(r.stdout.strip())

    def boto3_url(self, px, region, **cfg):
        from botocore.config import Config
        c = boto3.client("s3", endpoint_url=px.endpoint, region_name=region,
                         aws_access_key_id=ALICE.id, aws_secret_access_key=ALICE.secret,
                         config=Config(**cfg) if cfg else None)
        return c.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/obj"})

    def test_boto3_default_us_east_1_is_sigv2(self):
        self.assertRefused(self.boto3_url(PX, "us-east-1"))

    def test_boto3_s3v4_setting_works(self):
        self.assertWorks(self.boto3_url(PX, "us-east-1", signature_version="s3v4"))

    def test_boto3_other_region_is_sigv4(self):
        self.assertWorks(self.boto3_url(PX_EU, OTHER_REGION))

    def test_s3cmd_signurl_is_always_sigv2(self):
        d = tmpdir("presign-s3cmd")
        hostport = urllib.parse.urlparse(PX.endpoint).netloc
        cfg = os.path.join(d, "s3cfg")
        with open(cfg, "w") as f:
            f.write(f"[default]\naccess_key = {ALICE.id}\nsecret_key = {ALICE.secret}\n"
                    f"host_base = {hostport}\nhost_bucket = {hostport}\nuse_https = False\n"
                    "signature_v2 = False\nproxy_host =\n")
        p = subprocess.run(["s3cmd", "-c", cfg, "signurl", self.obj, "+300"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRefused(p.stdout.strip())

    def test_sigv2_header_refused(self):
        # s3cmd with signature_v2 = True, old SDKs: the same refusal
        import email.utils
        import hmac
        date = email.utils.formatdate(usegmt=True)
        sts = f"GET\n\n\n{date}\n/{BUCKET}/presign/obj"
        sig = base64.b64encode(hmac.new(ALICE.secret.encode(), sts.encode(), "sha1").digest()).decode()
        host = urllib.parse.urlparse(PX.endpoint).netloc
        r = raw(PX.endpoint, "GET", f"/{BUCKET}/presign/obj",
                {"Host": host, "Date": date, "Authorization": f"AWS {ALICE.id}:{sig}"})
        self.assertEqual((r.status, r.code, r.message), SIGV2_REFUSED, r)

    def test_s3warden_presign_works(self):
        p = subprocess.run([BIN, "presign", "--config", PX.config_path, "--access-key-id", ALICE.id,
                            "--endpoint", PX.endpoint, self.obj], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertWorks(p.stdout.strip())

    def test_refused_url_reaches_nothing(self):
        # the audit record of a refused SigV2 URL: refused before evaluation
        home = self.cli_home("presign-cli-audit", "[default]\nregion = us-east-1\n")
        r = aws_cli(home, ALICE, "--endpoint-url", PX.endpoint, "s3", "presign", f"s3://{BUCKET}/presign/obj2")
        fetch(r.stdout.strip())
        rec = PX.audit_where(lambda a: a.get("requestParameters", {}).get("key") == "presign/obj2")
        self.assertEqual(len(rec), 1, rec)
        self.assertEqual((rec[0]["httpStatus"], rec[0]["errorCode"], rec[0]["upstreamLatencyMs"]),
                         (400, "InvalidRequest", None))


if __name__ == "__main__":
    main(PENDING)
