#!/usr/bin/env python3
"""s3warden in front of Ceph RGW (deploy/upstreams/rgw.sh), the strictest S3
on this machine: it checks s3warden's upstream SigV4 for odd keys and
prefixes, signed payload hashes and chunk signatures.

Needs radosgw (deploy/install-deps.sh installs it): if it is missing the
module FAILS with that message - it is never skipped silently.
RGW's error bodies have an empty <Message> that crashes the aws cli v1, so
RGW-originated error codes are asserted with botocore (deploy/upstreams/rgw.sh).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403
from oddkeys import OddKeys  # noqa: E402

A = "111111111111"
BUCKET = "it-rgw"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
# may write under a/ only
UPLOADER = W.user(A, "uploader", "AIDAUPLOADERRGW00001", policies=[
    policy(allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/a/*"))])
W.bucket(BUCKET, A)
PENDING = {}
UP = PX = None


def setUpModule():
    global UP, PX
    UP = Rgw(buckets=[BUCKET]).start()
    # decode_aws_chunked: RGW 16 (Pacific) predates checksum trailers and
    # refuses a trailer upload sent as it came (400 XAmzContentSHA256Mismatch;
    # test_interop.py, RgwTrailerUploads).
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit, decode_aws_chunked=True), "rgw").start()


def tearDownModule():
    cleanup_all()


class UploadIdBinding(Case):
    """s3warden authorizes UploadPart and CompleteMultipartUpload on the
    key in the path; that the upload id belongs to that key is the
    upstream's to check, as S3 does (404 NoSuchUpload: "the specified
    multipart upload does not exist", API Reference UploadPart). RGW does;
    moto does not (README "Limitations"). This guards the assumption with
    the strict store."""

    def test_upload_id_of_another_key_is_refused_upstream(self):
        admin = PX.client(ALICE, request_checksum_calculation="when_required")
        up = PX.client(UPLOADER, request_checksum_calculation="when_required",
                       retries={"max_attempts": 0})
        uid = admin.create_multipart_upload(Bucket=BUCKET, Key="b/victim")["UploadId"]
        try:
            # allowed by s3warden (a/x is the uploader's), refused by RGW
            self.assertClientError(lambda: up.upload_part(Bucket=BUCKET, Key="a/x", UploadId=uid,
                                                          PartNumber=1, Body=b"EVIL"),
                                   "NoSuchUpload", status=404)
            # RGW 16 refuses the completion with an answer of its own (S3's
            # is NoSuchUpload); what matters is that nothing completes
            self.assertClientError(lambda: up.complete_multipart_upload(
                Bucket=BUCKET, Key="a/x", UploadId=uid,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]}),
                "InternalError", "This multipart completion is already in progress", status=500)
            self.assertIsNone(UP.get(BUCKET, "b/victim"))
            self.assertIsNone(UP.get(BUCKET, "a/x"))
            # and on the victim's own key s3warden refuses first
            self.assertClientError(lambda: up.upload_part(Bucket=BUCKET, Key="b/victim", UploadId=uid,
                                                          PartNumber=1, Body=b"EVIL"),
                                   "AccessDenied", status=403)
        finally:
            admin.abort_multipart_upload(Bucket=BUCKET, Key="b/victim", UploadId=uid)


class ThroughRgw(OddKeys, Case):
    @classmethod
    def setUpClass(cls):
        cls.UP, cls.PX, cls.BUCKET, cls.KEY = UP, PX, BUCKET, ALICE

    def test_multipart_21mib_cli(self):
        d = tmpdir("rgw-mp")
        data = os.urandom(21 * 1024 * 1024)
        src = os.path.join(d, "big")
        with open(src, "wb") as f:
            f.write(data)
        self.assertCliOk(aws(PX.endpoint, ALICE, "s3", "cp", src, f"s3://{BUCKET}/mp/big ünï.bin"))
        self.assertStored(UP, BUCKET, "mp/big ünï.bin", data)
        self.assertEqual(UP.uploads(BUCKET), [])

    def test_signed_payload_raw(self):
        data = os.urandom(50_000)
        u = f"{PX.endpoint}/{BUCKET}/{quote_key('raw/signed +=.bin')}"
        h = sign("PUT", u, ALICE, {"Content-Length": str(len(data))}, body=data)
        r = raw(PX.endpoint, "PUT", urllib.parse.urlparse(u).path, h, data)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "raw/signed +=.bin", data)

    def test_aws_chunked_resigned_for_rgw(self):
        # RGW verifies chunk signatures: s3warden's re-framed chunks must
        # carry correct signatures chained from its own seed signature
        # (or, with decode_aws_chunked, a plain body).
        data = os.urandom(3 * 65536 + 17)
        u = f"{PX.endpoint}/{BUCKET}/raw/chunked"
        h, body = aws_chunked(ALICE, u, data)
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/chunked", h, body)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "raw/chunked", data)

    def test_unsigned_trailer_decoded_for_old_store(self):
        data = os.urandom(2000)
        u = f"{PX.endpoint}/{BUCKET}/raw/trailer"
        h, body = unsigned_trailer(ALICE, u, data, crc32_b64(data))
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/trailer", h, body)
        self.assertEqual(r.status, 200, r)
        # 200 and the 2000 bytes stored: RGW alone refuses this upload
        self.assertStored(UP, BUCKET, "raw/trailer", data)

    def test_content_encoding_twice_decoded_for_rgw(self):
        # Two Content-Encoding headers (differently cased dict keys: two
        # lines, signed as one field in order). The decoded body goes up
        # with aws-chunked dropped and the other codings as one field,
        # which RGW's SigV4 check and metadata see; the rewritten value
        # once lived where the second one's growth freed it before signing.
        coding = "x-long-coding-name-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
        data = os.urandom(70_000)
        u = f"{PX.endpoint}/{BUCKET}/raw/two-encodings"
        h, body = aws_chunked(ALICE, u, data, headers={"content-encoding": "gzip"},
                              content_encoding="aws-chunked, " + coding)
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/two-encodings", h, body)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "raw/two-encodings", data)
        got = UP.s3().head_object(Bucket=BUCKET, Key="raw/two-encodings")["ContentEncoding"]
        self.assertEqual(got, "gzip," + coding)

    def test_body_changed_under_signed_hash(self):
        signed = os.urandom(100_000)
        sent = bytes([signed[0] ^ 1]) + signed[1:]
        before = UP.snapshot(BUCKET)
        u = f"{PX.endpoint}/{BUCKET}/raw/tampered"
        h = sign("PUT", u, ALICE, {"Content-Length": str(len(signed))}, body=signed)
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/tampered", h, sent)
        self.assertEqual((r.status, r.code), (400, "XAmzContentSHA256Mismatch"), r)
        time.sleep(0.3)
        self.assertUnchanged(UP, BUCKET, before)

    def test_bad_chunk_signature_stores_nothing(self):
        data = os.urandom(4 * 65536)
        before = UP.snapshot(BUCKET)
        u = f"{PX.endpoint}/{BUCKET}/raw/badchunk"
        h, body = aws_chunked(ALICE, u, data, bad_chunk=1)
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/badchunk", h, body)
        self.assertIn(r.status, (400, 403), r)
        time.sleep(0.3)
        self.assertUnchanged(UP, BUCKET, before)

    def test_bad_chunk_signature_is_s3s_error(self):
        # what RGW itself answers (and S3): 403 SignatureDoesNotMatch
        data = os.urandom(2 * 65536)
        u = f"{PX.endpoint}/{BUCKET}/raw/badchunk2"
        h, body = aws_chunked(ALICE, u, data, bad_chunk=0)
        r = raw(PX.endpoint, "PUT", f"/{BUCKET}/raw/badchunk2", h, body)
        self.assertEqual((r.status, r.code), (403, "SignatureDoesNotMatch"), r)

    def test_object_tagging_empty_as_botocore_writes_it(self):
        # botocore writes <TagSet /> and <Value />: an empty set removes the
        # object's tags, an empty value is a tag (S3 takes both; moto 500s
        # on the empty set, so RGW here)
        s3 = PX.client(ALICE)
        UP.s3().put_object(Bucket=BUCKET, Key="tag/empty", Body=b"t", Tagging="team=blue")
        s3.put_object_tagging(Bucket=BUCKET, Key="tag/empty", Tagging={"TagSet": [{"Key": "e", "Value": ""}]})
        self.assertEqual(UP.s3().get_object_tagging(Bucket=BUCKET, Key="tag/empty")["TagSet"],
                         [{"Key": "e", "Value": ""}])
        s3.put_object_tagging(Bucket=BUCKET, Key="tag/empty", Tagging={"TagSet": []})
        self.assertEqual(UP.s3().get_object_tagging(Bucket=BUCKET, Key="tag/empty")["TagSet"], [])

    def test_delete_objects_odd_keys(self):
        keys = ["del/a b", "del/c+d", "del/ünï"]
        for k in keys:
            UP.put(BUCKET, k, b"x")
        r = PX.client(ALICE).delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(keys))
        for k in keys:
            self.assertIsNone(UP.get(BUCKET, k))


if __name__ == "__main__":
    main(PENDING)
