#!/usr/bin/env python3
"""Tampering, through s3warden in front of moto_server (auth on).

moto never checks x-amz-content-sha256 nor aws-chunked chunk signatures, so
whatever reaches it is stored: every test here that finds nothing stored
proves s3warden itself refused (README.md, "Security invariants": no
upload completes with a byte s3warden did not verify). Requests
are built with botocore's signer and sent with http.client, so the bytes on
the wire are exactly the ones under test.
"""
import base64
import hashlib
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"
BUCKET = "it-tamper"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
W.bucket(BUCKET, A)

UP = PX = None
PENDING = {}


def setUpModule():
    global UP, PX
    UP = Moto(auth=True, buckets=[BUCKET]).start()
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit), "tamper").start()


def tearDownModule():
    cleanup_all()


def url(key):
    return f"{PX.endpoint}/{BUCKET}/{quote_key(key)}"


def path(key):
    return f"/{BUCKET}/{quote_key(key)}"


class Controls(Case):
    """The same shapes, untampered, are accepted: the refusals below are
    about the tampering, not the shape."""

    def test_signed_payload_ok(self):
        data = os.urandom(100_000)
        h = sign("PUT", url("ok/signed"), ALICE, {"Content-Length": str(len(data))}, body=data)
        r = raw(PX.endpoint, "PUT", path("ok/signed"), h, data)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "ok/signed", data)

    def test_aws_chunked_ok(self):
        data = os.urandom(200_000)
        h, body = aws_chunked(ALICE, url("ok/chunked"), data)
        r = raw(PX.endpoint, "PUT", path("ok/chunked"), h, body)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "ok/chunked", data)

    def test_unsigned_trailer_ok(self):
        data = os.urandom(150_000)
        h, body = unsigned_trailer(ALICE, url("ok/trailer"), data, crc32_b64(data))
        r = raw(PX.endpoint, "PUT", path("ok/trailer"), h, body)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "ok/trailer", data)


def b64(digest):
    return base64.b64encode(digest).decode()


def unsigned_stream(key, url, data, headers):
    """A STREAMING-UNSIGNED-PAYLOAD-TRAILER upload with no trailer: the
    headers given (a signed x-amz-checksum- or Content-MD5) are the body's
    only protection."""
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    h = dict(headers, **{"Content-Encoding": "aws-chunked", "Content-Length": str(len(body)),
                         "x-amz-decoded-content-length": str(len(data))})
    return sign("PUT", url, key, h, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER"), body


class Tampering(Case):
    def test_empty_body_under_streaming_or_checksums_replaces_nothing(self):
        # Content-Length is not among the headers SDKs sign: a hop that
        # sets it to 0 and drops the body must not get an empty object
        # stored for what the caller signed or checksummed (the aws-chunked
        # decoder and the checksums never ran for a body of no bytes).
        data = b"important-data-the-caller-signed"
        streaming = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
        trailer = dict(streaming, **{"x-amz-trailer": "x-amz-checksum-crc32"})
        cases = [
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", streaming, "IncompleteBody"),
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", trailer, "IncompleteBody"),
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", trailer, "IncompleteBody"),
            ("UNSIGNED-PAYLOAD", {"x-amz-checksum-sha256": b64(hashlib.sha256(data).digest())}, "BadDigest"),
            ("UNSIGNED-PAYLOAD", {"Content-MD5": b64(hashlib.md5(data).digest())}, "BadDigest"),
        ]
        for i, (mode, signed, code) in enumerate(cases):
            with self.subTest(mode=mode, headers=sorted(signed)):
                key = f"t/empty{i}"
                UP.put(BUCKET, key, b"OLD-CONTENT")
                h = sign("PUT", url(key), ALICE, signed, payload_hash=mode)
                h["Content-Length"] = "0"
                r = raw(PX.endpoint, "PUT", path(key), h, b"")
                self.assertEqual((r.status, r.code), (400, code), r)
                time.sleep(0.2)
                self.assertEqual(UP.get(BUCKET, key), b"OLD-CONTENT")
        # the empty body's own checksum is accepted (an empty object)
        h = sign("PUT", url("t/empty-ok"), ALICE,
                 {"x-amz-checksum-crc32": crc32_b64(b""), "Content-MD5": b64(hashlib.md5(b"").digest())},
                 payload_hash="UNSIGNED-PAYLOAD")
        h["Content-Length"] = "0"
        r = raw(PX.endpoint, "PUT", path("t/empty-ok"), h, b"")
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "t/empty-ok", b"")

    def test_header_checksum_of_aws_chunked_body_is_checked(self):
        # S3 checks an x-amz-checksum- header and Content-MD5 against the
        # decoded body whatever the payload mode; in
        # STREAMING-UNSIGNED-PAYLOAD-TRAILER they are all that protects it.
        data = os.urandom(200_000)
        sha = b64(hashlib.sha256(data).digest())
        md5 = b64(hashlib.md5(data).digest())
        for i, signed in enumerate([{"x-amz-checksum-sha256": sha}, {"x-amz-checksum-crc32": crc32_b64(data)},
                                    {"Content-MD5": md5}]):
            with self.subTest(headers=sorted(signed)):
                key = f"t/hdrck{i}"
                h, body = unsigned_stream(ALICE, url(key), data, signed)
                ok = raw(PX.endpoint, "PUT", path(key), h, body)
                self.assertEqual(ok.status, 200, ok)
                self.assertStored(UP, BUCKET, key, data)
                UP.put(BUCKET, key, b"OLD-CONTENT")
                h, body = unsigned_stream(ALICE, url(key), data, signed)
                bad = bytearray(body)
                bad[100_000] ^= 0x01  # a data byte of the second chunk, not framing
                r = raw(PX.endpoint, "PUT", path(key), h, bytes(bad))
                self.assertEqual((r.status, r.code), (400, "BadDigest"), r)
                time.sleep(0.2)
                self.assertEqual(UP.get(BUCKET, key), b"OLD-CONTENT")
        # signed chunks whose header checksum is not theirs: S3's BadDigest
        h, body = aws_chunked(ALICE, url("t/hdrck-signed"), data,
                              headers={"x-amz-checksum-crc32": crc32_b64(data + b"x")})
        r = raw(PX.endpoint, "PUT", path("t/hdrck-signed"), h, body)
        self.assertEqual((r.status, r.code), (400, "BadDigest"), r)
        self.assertEqual(r.message, "The CRC32 you specified did not match the calculated checksum.")
        # a header checksum and a trailer one: two checksums
        h, body = unsigned_trailer(ALICE, url("t/hdrck-two"), data, crc32_b64(data))
        h2 = sign("PUT", url("t/hdrck-two"), ALICE,
                  {k: v for k, v in h.items() if k.lower() not in ("authorization", "x-amz-date",
                                                                    "x-amz-content-sha256")}
                  | {"x-amz-checksum-sha256": sha}, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        r = raw(PX.endpoint, "PUT", path("t/hdrck-two"), h2, body)
        self.assertEqual((r.status, r.code), (400, "InvalidRequest"), r)
        self.assertIsNone(UP.get(BUCKET, "t/hdrck-two"))

    def test_raw_plus_in_a_signed_query_refused(self):
        # A raw "+" in the query is a plus to SigV4 signers (curl signs it
        # as %2B) and a space to S3 and to s3warden's operation mapping: a
        # listing signed for "a%2Bb" and sent as "a+b" listed "a b". Refused
        # once the signature is checked. (moto refuses keys with "+" or a
        # space under auth, and prefixes with "/": README.md, "Known limits
        # of moto".)
        UP.put(BUCKET, "plus/obj.txt", b"plus")
        # signed as botocore signs the prefix "plu+s", sent with a raw "+"
        h = sign("GET", f"{PX.endpoint}/{BUCKET}?list-type=2&prefix=plu%2Bs", ALICE)
        r = raw(PX.endpoint, "GET", f"/{BUCKET}?list-type=2&prefix=plu+s", h)
        self.assertEqual((r.status, r.code), (400, "InvalidArgument"), r)
        self.assertIn("raw '+'", r.message)
        # presigned: a signed override's "%2B" turned into "+" by whoever
        # holds the URL (its signature still verifies)
        s3 = PX.client(ALICE)
        url = s3.generate_presigned_url("get_object", Params={
            "Bucket": BUCKET, "Key": "plus/obj.txt",
            "ResponseCacheControl": "no+cache"}, ExpiresIn=300)
        self.assertIn("no%2Bcache", url)  # botocore encodes the plus
        u = urllib.parse.urlparse(url)
        r = raw(PX.endpoint, "GET", f"{u.path}?{u.query.replace('%2B', '+')}", {"Host": u.netloc})
        self.assertEqual((r.status, r.code), (400, "InvalidArgument"), r)
        # as SDKs send them (percent-encoded), served
        got = s3.list_objects_v2(Bucket=BUCKET, Prefix="plus")
        self.assertEqual([o["Key"] for o in got.get("Contents", [])], ["plus/obj.txt"])
        r = raw(PX.endpoint, "GET", f"{u.path}?{u.query}", {"Host": u.netloc})
        self.assertEqual((r.status, r.body), (200, b"plus"), r)

    def test_collected_body_changed_under_its_checksum(self):
        # DeleteObjects and PutObjectTagging are held whole and decided on
        # by s3warden, which then sends its own checksum of what it sends:
        # an UNSIGNED-PAYLOAD body swapped under the caller's Content-MD5 or
        # x-amz-checksum-crc32 is BadDigest, nothing deleted or tagged
        # (probe 33: the swapped body ran, and not even S3 could tell)
        UP.put(BUCKET, "t/victim", b"victim")
        UP.put(BUCKET, "t/tagged", b"tagged")
        meant = b"<Delete><Object><Key>t/keep-me-not</Key></Object></Delete>"
        sent = b"<Delete><Object><Key>t/victim</Key></Object></Delete>"
        tags = b"<Tagging><TagSet><Tag><Key>a</Key><Value>%s</Value></Tag></TagSet></Tagging>"
        for target, p, meant_body, sent_body in (
                (f"/{BUCKET}?delete", "POST", meant, sent),
                (path("t/tagged") + "?tagging", "PUT", tags % b"intended", tags % b"TAMPERED")):
            for name, value, msg in (
                    ("Content-MD5", b64(hashlib.md5(meant_body).digest()),
                     "The Content-MD5 you specified did not match what we received."),
                    ("x-amz-checksum-crc32", crc32_b64(meant_body),
                     "The CRC32 you specified did not match the calculated checksum.")):
                with self.subTest(target=target, header=name):
                    h = sign(p, PX.endpoint + target, ALICE, {name: value, "Content-Length": str(len(sent_body))},
                             payload_hash="UNSIGNED-PAYLOAD")
                    r = raw(PX.endpoint, p, target, h, sent_body)
                    self.assertEqual((r.status, r.code, r.message), (400, "BadDigest", msg), r)
        time.sleep(0.2)
        self.assertEqual(UP.get(BUCKET, "t/victim"), b"victim")
        s3 = UP.s3()
        self.assertEqual(s3.get_object_tagging(Bucket=BUCKET, Key="t/tagged")["TagSet"], [])
        # the bodies meant go through
        for target, p, body in ((f"/{BUCKET}?delete", "POST", sent),
                                (path("t/tagged") + "?tagging", "PUT", tags % b"intended")):
            h = sign(p, PX.endpoint + target, ALICE, {"Content-MD5": b64(hashlib.md5(body).digest()),
                                                      "Content-Length": str(len(body))},
                     payload_hash="UNSIGNED-PAYLOAD")
            r = raw(PX.endpoint, p, target, h, body)
            self.assertEqual(r.status, 200, r)
        self.assertIsNone(UP.get(BUCKET, "t/victim"))
        self.assertEqual(s3.get_object_tagging(Bucket=BUCKET, Key="t/tagged")["TagSet"],
                         [{"Key": "a", "Value": "intended"}])

    def test_body_changed_under_signed_hash(self):
        signed = os.urandom(300_000)
        sent = bytearray(signed)
        sent[-1] ^= 0xFF  # the last byte: the one a streaming proxy sends last
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/body"), ALICE, {"Content-Length": str(len(signed))}, body=signed)
        r = raw(PX.endpoint, "PUT", path("t/body"), h, bytes(sent))
        self.assertEqual((r.status, r.code), (400, "XAmzContentSHA256Mismatch"), r)
        self.assertEqual(r.message, "The provided 'x-amz-content-sha256' header does not match what was computed.")
        time.sleep(0.3)
        self.assertUnchanged(UP, BUCKET, before)
        self.assertIsNone(UP.get(BUCKET, "t/body"))

    def test_bad_chunk_signature_mid_upload_stores_nothing(self):
        data = os.urandom(5 * 65536)
        before = UP.snapshot(BUCKET)
        h, body = aws_chunked(ALICE, url("t/chunk"), data, bad_chunk=2)
        r = raw(PX.endpoint, "PUT", path("t/chunk"), h, body)
        self.assertIn(r.status, (400, 403), r)
        time.sleep(0.3)
        self.assertUnchanged(UP, BUCKET, before)
        self.assertEqual(UP.uploads(BUCKET), [])

    def test_bad_chunk_signature_is_s3s_error(self):
        # S3 answers a chunk whose signature does not verify with
        # 403 SignatureDoesNotMatch (RGW does the same, see test_rgw.py).
        data = os.urandom(3 * 65536)
        h, body = aws_chunked(ALICE, url("t/chunk2"), data, bad_chunk=1)
        r = raw(PX.endpoint, "PUT", path("t/chunk2"), h, body)
        self.assertEqual((r.status, r.code), (403, "SignatureDoesNotMatch"), r)

    def test_bad_trailer_checksum_stores_nothing(self):
        data = os.urandom(100_000)
        before = UP.snapshot(BUCKET)
        h, body = unsigned_trailer(ALICE, url("t/trailer"), data, crc32_b64(data + b"x"))
        r = raw(PX.endpoint, "PUT", path("t/trailer"), h, body)
        self.assertEqual(r.status, 400, r)
        time.sleep(0.3)
        self.assertUnchanged(UP, BUCKET, before)

    def test_bad_trailer_checksum_is_s3s_error(self):
        # S3: 400 BadDigest "The CRC32 you specified did not match the
        # calculated checksum."
        data = os.urandom(1000)
        h, body = unsigned_trailer(ALICE, url("t/trailer2"), data, crc32_b64(data + b"x"))
        r = raw(PX.endpoint, "PUT", path("t/trailer2"), h, body)
        self.assertEqual((r.status, r.code), (400, "BadDigest"), r)

    def test_unsigned_x_amz_acl_injected(self):
        data = b"acl"
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/acl"), ALICE, {"Content-Length": str(len(data))}, body=data)
        h["x-amz-acl"] = "public-read"
        r = raw(PX.endpoint, "PUT", path("t/acl"), h, data)
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        self.assertEqual(r.message, "There were headers present in the request which were not signed")
        self.assertUnchanged(UP, BUCKET, before)

    def test_unsigned_header_named_in_error(self):
        # S3 names the offending headers in the error body, in request
        # order, lower case, ", " between them; the signed ones not
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/acl2"), ALICE, {"Content-Length": "1"}, body=b"a")
        h["x-amz-acl"] = "public-read"
        h["X-Amz-Meta-Note"] = "unsigned"
        r = raw(PX.endpoint, "PUT", path("t/acl2"), h, b"a")
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        self.assertEqual(r.fields.get("HeadersNotSigned"), "x-amz-acl, x-amz-meta-note", r)
        self.assertUnchanged(UP, BUCKET, before)

    def test_mismatch_shows_what_was_checked(self):
        # S3's SignatureDoesNotMatch shows the key id, the signature given,
        # and the string to sign and canonical request of what arrived, with
        # their bytes in hex, so that a client can see where its signer and
        # the server part: here a signed header changed on the way
        import hmac
        data = b"x"
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/mm"), ALICE, {"Content-Length": "1", "x-amz-meta-note": "as-signed"}, body=data)
        sent = re.search(r"Signature=([0-9a-f]{64})", h["Authorization"]).group(1)
        h["x-amz-meta-note"] = "changed"
        r = raw(PX.endpoint, "PUT", path("t/mm"), h, data)
        self.assertEqual((r.status, r.code), (403, "SignatureDoesNotMatch"), r)
        f = r.fields
        self.assertEqual(list(f)[:8], ["Code", "Message", "AWSAccessKeyId", "StringToSign", "SignatureProvided",
                                       "StringToSignBytes", "CanonicalRequest", "CanonicalRequestBytes"])
        self.assertEqual(f["AWSAccessKeyId"], ALICE.id)
        self.assertEqual(f["SignatureProvided"], sent)
        creq, sts = f["CanonicalRequest"], f["StringToSign"]
        self.assertIn("\nx-amz-meta-note:changed\n", creq)
        self.assertEqual(f["StringToSignBytes"], " ".join("%02x" % b for b in sts.encode()))
        self.assertEqual(f["CanonicalRequestBytes"], " ".join("%02x" % b for b in creq.encode()))
        lines = sts.split("\n")
        self.assertEqual((lines[0], lines[1]), ("AWS4-HMAC-SHA256", h["X-Amz-Date"]))
        self.assertEqual(lines[3], hashlib.sha256(creq.encode()).hexdigest())
        # with the value the client signed put back, what s3warden shows is
        # what the client's signer computed: it gives the client's signature
        orig = creq.replace("x-amz-meta-note:changed", "x-amz-meta-note:as-signed").encode()
        sts_orig = "\n".join(lines[:3] + [hashlib.sha256(orig).hexdigest()])
        key = signing_key(ALICE.secret, lines[1][:8])
        self.assertEqual(hmac.new(key, sts_orig.encode(), hashlib.sha256).hexdigest(), sent)
        # a large canonical request (12 KiB here: 36 KiB as bytes) is shown whole
        big = {f"x-amz-meta-m{i:02d}": "v" * 300 for i in range(40)}
        h = sign("PUT", url("t/mm"), ALICE, {"Content-Length": "1", **big}, body=data)
        h["x-amz-meta-m39"] = "w" * 300
        r = raw(PX.endpoint, "PUT", path("t/mm"), h, data)
        self.assertEqual((r.status, r.code), (403, "SignatureDoesNotMatch"), r)
        creq = r.fields["CanonicalRequest"]
        self.assertGreater(len(creq), 12000)
        self.assertIn("\nx-amz-meta-m39:" + "w" * 300 + "\n", creq)
        self.assertEqual(r.fields["CanonicalRequestBytes"], " ".join("%02x" % b for b in creq.encode()))
        self.assertUnchanged(UP, BUCKET, before)

    def test_wrong_region_names_the_right_one(self):
        # S3 names the region to sign for in <Region>; botocore (so boto3 and
        # the aws cli) reads it and signs the request again for that region,
        # so a client set up for another region still gets its object
        data = b"region"
        UP.put(BUCKET, "t/region", data)
        h = sign("GET", url("t/region"), ALICE)
        h["Authorization"] = h["Authorization"].replace("/us-east-1/", "/eu-west-1/")
        r = raw(PX.endpoint, "GET", path("t/region"), h)
        self.assertEqual((r.status, r.code), (400, "AuthorizationHeaderMalformed"), r)
        self.assertEqual(r.message, "The authorization header is malformed; the region 'eu-west-1' is wrong; "
                                    "expecting 'us-east-1'")
        self.assertEqual(r.fields.get("Region"), "us-east-1", r)
        wrong = boto3.client("s3", endpoint_url=PX.endpoint, region_name="eu-west-1",
                             aws_access_key_id=ALICE.id, aws_secret_access_key=ALICE.secret,
                             config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        self.assertEqual(wrong.get_object(Bucket=BUCKET, Key="t/region")["Body"].read(), data)
        recs = PX.audit_where(lambda a: a.get("requestParameters", {}).get("key") == "t/region", n=3)
        self.assertEqual([a.get("errorCode") for a in recs], ["AuthorizationHeaderMalformed"] * 2 + [None], recs)
        # a HEAD's answer has no body: the region is in x-amz-bucket-region,
        # which botocore reads instead (and the aws cli's cp starts with one)
        h = sign("HEAD", url("t/region"), ALICE)
        h["Authorization"] = h["Authorization"].replace("/us-east-1/", "/eu-west-1/")
        r = raw(PX.endpoint, "HEAD", path("t/region"), h)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers.get("x-amz-bucket-region"), "us-east-1", r)
        self.assertEqual(wrong.head_object(Bucket=BUCKET, Key="t/region")["ContentLength"], len(data))
        p = aws(PX.endpoint, ALICE, "s3", "cp", f"s3://{BUCKET}/t/region", "-", "--region", "eu-west-1")
        self.assertEqual((p.rc, p.out), (0, data.decode()), p)

    def test_replay_outside_skew_window(self):
        data = b"old"
        before = UP.snapshot(BUCKET)
        then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        h = sign("PUT", url("t/replay"), ALICE, {"Content-Length": str(len(data))}, body=data, when=then)
        r = raw(PX.endpoint, "PUT", path("t/replay"), h, data)
        self.assertEqual((r.status, r.code), (403, "RequestTimeTooSkewed"), r)
        self.assertEqual(r.message, "The difference between the request time and the current time is too large.")
        # as S3: the time as the request gave it, the server's, the window
        self.assertEqual(r.fields.get("RequestTime"), h["X-Amz-Date"], r)
        server = datetime.datetime.strptime(r.fields.get("ServerTime", ""), "%Y-%m-%dT%H:%M:%SZ")
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.assertLess(abs((server - now).total_seconds()), 30, r)
        self.assertEqual(r.fields.get("MaxAllowedSkewMilliseconds"), "900000", r)
        self.assertUnchanged(UP, BUCKET, before)
        # the same request signed 14 minutes ago is still inside the window
        then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
        h = sign("PUT", url("t/replay"), ALICE, {"Content-Length": str(len(data))}, body=data, when=then)
        r = raw(PX.endpoint, "PUT", path("t/replay"), h, data)
        self.assertEqual(r.status, 200, r)
        self.assertStored(UP, BUCKET, "t/replay", data)

    def test_key_changed_after_signing(self):
        data = b"moved"
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/signed-key"), ALICE, {"Content-Length": str(len(data))}, body=data)
        r = raw(PX.endpoint, "PUT", path("t/other-key"), h, data)
        self.assertEqual((r.status, r.code), (403, "SignatureDoesNotMatch"), r)
        self.assertUnchanged(UP, BUCKET, before)

    def test_truncated_body_stores_nothing(self):
        data = os.urandom(200_000)
        before = UP.snapshot(BUCKET)
        h = sign("PUT", url("t/trunc"), ALICE, {"Content-Length": str(len(data))}, body=data)
        u = urllib.parse.urlparse(PX.endpoint)
        s = socket.create_connection((u.hostname, u.port), timeout=10)
        head = f"PUT {path('t/trunc')} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        s.sendall(head.encode() + data[:150_000])
        time.sleep(0.3)
        s.close()  # the client goes away mid-body
        time.sleep(1.0)
        self.assertUnchanged(UP, BUCKET, before)
        self.assertTrue(PX.alive())


if __name__ == "__main__":
    main(PENDING)
