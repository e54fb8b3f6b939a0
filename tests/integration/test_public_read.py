#!/usr/bin/env python3
"""AWS's public-read bucket policy examples through s3warden, with unsigned
requests from real clients (curl, aws cli --no-sign-request).

S3 User Guide, "Bucket policy examples" (Granting read-only permission to
public anonymous users) writes "Principal": "*"; the S3 principal page says
{"AWS": "*"} is the same for anonymous users. Both must let an unsigned GET
through and nothing else (issue 18). The CloudFront origin access identity
example loads (with a warning) and grants no caller of s3warden anything.

Upstream: moto_server, auth off.
"""
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"


def public_read(principal):
    return policy({"Sid": "PublicRead", "Effect": "Allow", "Principal": principal,
                   "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                   "Resource": [f"arn:aws:s3:::{{b}}/*"]})


def for_bucket(doc, bucket):
    import json
    return json.loads(json.dumps(doc).replace("{b}", bucket))


W = World()
W.account(A)
STAR, AWS_STAR, OAI = "pr-star", "pr-aws-star", "pr-oai"
W.bucket(STAR, A, for_bucket(public_read("*"), STAR))
W.bucket(AWS_STAR, A, for_bucket(public_read({"AWS": "*"}), AWS_STAR))
W.bucket(OAI, A, policy({"Sid": "1", "Effect": "Allow", "Principal": {
    "AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity EH1HDMB1FH2TC"},
    "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{OAI}/*"}))
# A drop box: anyone may put under drop/, but only with a payload hash
# (the AWS pattern that denies UNSIGNED-PAYLOAD and a missing header)
DROP = "pr-drop"
W.bucket(DROP, A, policy(
    {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{DROP}/drop/*"},
    {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{DROP}/*",
     "Condition": {"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}}},
    {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{DROP}/*",
     "Condition": {"Null": {"s3:x-amz-content-sha256": "true"}}}))
# Anyone may put and get under open/ (for what an unsigned caller may not
# do even where a policy lets anyone write)
OPEN = "pr-open"
W.bucket(OPEN, A, policy({"Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject", "s3:GetObject"],
                          "Resource": f"arn:aws:s3:::{OPEN}/open/*"}))

UP = PX = None
KMS_NEEDS_SIGV4 = ("Requests specifying Server Side Encryption with AWS KMS managed keys require "
                   "AWS Signature Version 4.")


def setUpModule():
    global UP, PX
    UP = Moto(auth=False, buckets=list(W.buckets)).start()
    for b in (STAR, AWS_STAR, OAI):
        UP.put(b, "index.html", b"<h1>public</h1>")
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit), "public-read").start()


def tearDownModule():
    cleanup_all()


def anon_get(bucket, key):
    p = curl("-o", "-", "-w", "\n%{http_code}", f"{PX.endpoint}/{bucket}/{key}")
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), body


class PublicRead(Case):
    def test_principal_star_admits_unsigned_get(self):
        self.assertEqual(anon_get(STAR, "index.html"), (200, b"<h1>public</h1>"))

    def test_aws_star_admits_unsigned_get_as_star_does(self):
        self.assertEqual(anon_get(AWS_STAR, "index.html"), (200, b"<h1>public</h1>"))
        r = aws(PX.endpoint, None, "s3", "cp", f"s3://{AWS_STAR}/index.html", "-", "--no-sign-request")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, "<h1>public</h1>")

    def test_unsigned_get_may_not_override_response_headers(self):
        # GetObject, API Reference: the response-* parameters "cannot be used
        # with an unsigned (anonymous) request"; else anyone could have a
        # public object served as text/html or under another name
        for q in ("response-content-type=text%2Fhtml", "response-content-disposition=attachment",
                  "response-cache-control=no-store"):
            with self.subTest(q):
                p = curl("-o", "-", "-w", "\n%{http_code}", f"{PX.endpoint}/{STAR}/index.html?{q}")
                self.assertTrue(p.stdout.endswith(b"\n400"), p.stdout)
                self.assertIn(b"<Code>InvalidRequest</Code><Message>Request specific response headers "
                              b"cannot be used for anonymous GET requests.</Message>", p.stdout)
        self.assertEqual(anon_get(STAR, "index.html"), (200, b"<h1>public</h1>"))

    def test_unsigned_put_is_not_granted(self):
        for b in (STAR, AWS_STAR):
            p = curl("-o", "-", "-w", "\n%{http_code}", "-X", "PUT", "--data-binary", "x",
                     f"{PX.endpoint}/{b}/new.txt")
            self.assertTrue(p.stdout.endswith(b"\n403"), p.stdout)
            self.assertIn(b"<Code>AccessDenied</Code>", p.stdout)
            self.assertIn(b"because no resource-based policy allows the s3:PutObject action", p.stdout)

    def test_sse_kms_object_is_not_read_anonymously(self):
        # S3 refuses an anonymous read of an SSE-KMS object (KMS takes only
        # SigV4-signed requests); through s3warden the proxy's own KMS
        # rights would decrypt it for anyone
        UP.s3().put_object(Bucket=STAR, Key="kms.txt", Body=b"kms-sealed",
                               ServerSideEncryption="aws:kms")
        UP.s3().put_object(Bucket=STAR, Key="s3.txt", Body=b"sse-s3", ServerSideEncryption="AES256")
        for method in ("GET", "HEAD"):
            r = raw(PX.endpoint, method, f"/{STAR}/kms.txt", {"Host": f"127.0.0.1:{PX.port}"})
            self.assertEqual(r.status, 400, r)
            self.assertNotIn(b"kms-sealed", r.body)
            if method == "GET":
                self.assertEqual((r.code, r.message), ("InvalidArgument", KMS_NEEDS_SIGV4), r)
        self.assertEqual(anon_get(STAR, "s3.txt"), (200, b"sse-s3"))

    def test_cloudfront_oai_policy_loads_and_grants_no_caller(self):
        code, body = anon_get(OAI, "index.html")
        self.assertEqual(code, 403, body)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        # serve loaded it; validate --config names the principal that never matches
        p = subprocess.run([BIN, "validate", "--config", PX.config_path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f'warning: {PX.config_path}: buckets[2].policy.Statement[0](Sid "1").Principal.AWS: CloudFront origin '
                      'access identity "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity '
                      'EH1HDMB1FH2TC" reaches S3 directly, so no caller of s3warden can ever match it; '
                      'this entry never applies here', p.stderr)


class AnonymousUploads(Case):
    """An unsigned request's x-amz-content-sha256 is what a policy may
    decide on (s3:x-amz-content-sha256), so s3warden holds the body to it
    as for a signed request (probe 19: a claimed SHA-256 went unchecked,
    and an aws-chunked body went to the store undecoded, its trailer
    checksum and decoded length unchecked)."""

    def put(self, key, headers, body):
        h = {"Host": f"127.0.0.1:{PX.port}", "Content-Length": str(len(body))}
        h.update(headers)
        return raw(PX.endpoint, "PUT", f"/{DROP}/{key}", h, body)

    def test_policy_on_the_payload_hash_holds(self):
        r = self.put("drop/none", {}, b"hello")
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        r = self.put("drop/unsigned", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"hello")
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        self.assertIsNone(UP.get(DROP, "drop/none"))
        self.assertIsNone(UP.get(DROP, "drop/unsigned"))

    def test_claimed_hash_is_checked(self):
        body = b"hello-unverified"
        r = self.put("drop/lie", {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()}, body)
        self.assertEqual((r.status, r.code), (400, "XAmzContentSHA256Mismatch"), r)
        self.assertIsNone(UP.get(DROP, "drop/lie"))
        r = self.put("drop/true", {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}, body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(UP.get(DROP, "drop/true"), body)

    def test_unsigned_trailer_upload_is_decoded_and_checked(self):
        data = os.urandom(70000)  # two chunks

        def upload(key, cksum, decoded_len=None):
            chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
            body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
            body += f"0\r\nx-amz-checksum-crc32:{cksum}\r\n\r\n".encode()
            return self.put(key, {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                  "Content-Encoding": "aws-chunked",
                                  "x-amz-decoded-content-length": str(decoded_len or len(data)),
                                  "x-amz-trailer": "x-amz-checksum-crc32"}, body)
        r = upload("drop/chunked", crc32_b64(data))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(UP.get(DROP, "drop/chunked"), data)  # the object, not its framing
        r = upload("drop/badsum", crc32_b64(b"other"))
        self.assertEqual((r.status, r.code), (400, "BadDigest"), r)
        self.assertIsNone(UP.get(DROP, "drop/badsum"))
        r = upload("drop/longer", crc32_b64(data), decoded_len=len(data) + 99)
        self.assertEqual((r.status, r.code), (400, "IncompleteBody"), r)
        self.assertIsNone(UP.get(DROP, "drop/longer"))

    def test_sse_kms_is_not_asked_for_anonymously(self):
        body = b"hello"
        sha = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
        for extra in ({"x-amz-server-side-encryption": "aws:kms"},
                      {"x-amz-server-side-encryption": "aws:kms:dsse"},
                      {"x-amz-server-side-encryption": "AWS:KMS"},  # a store may fold case
                      {"x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:999999999999:key/x"}):
            with self.subTest(extra):
                r = self.put("drop/kms", dict(sha, **extra), body)
                self.assertEqual((r.status, r.code, r.message), (400, "InvalidArgument", KMS_NEEDS_SIGV4), r)
                self.assertIsNone(UP.get(DROP, "drop/kms"))
        r = self.put("drop/sse-s3", dict(sha, **{"x-amz-server-side-encryption": "AES256"}), body)
        self.assertEqual(r.status, 200, r)

    def test_sse_kms_is_not_asked_for_in_an_unsigned_form(self):
        # a browser POST without a policy is anonymous (POST Object)
        b = "----s3w"
        def form(fields):
            out = b""
            for k, v in fields + [("file", "hello")]:
                disp = f'form-data; name="{k}"' + ('; filename="h.txt"' if k == "file" else "")
                out += f"--{b}\r\nContent-Disposition: {disp}\r\n\r\n{v}\r\n".encode()
            return out + f"--{b}--\r\n".encode()
        for fields in ([("key", "open/post-kms"), ("x-amz-server-side-encryption", "aws:kms")],
                       [("key", "open/post-kms"), ("X-Amz-Server-Side-Encryption", "aws:kms:dsse")],
                       [("key", "open/post-kms"),
                        ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:9:key/x")]):
            with self.subTest(fields[1][0]):
                body = form(fields)
                r = raw(PX.endpoint, "POST", f"/{OPEN}", {
                    "Host": f"127.0.0.1:{PX.port}", "Content-Length": str(len(body)),
                    "Content-Type": f"multipart/form-data; boundary={b}"}, body)
                self.assertEqual((r.status, r.code, r.message), (400, "InvalidArgument", KMS_NEEDS_SIGV4), r)
                self.assertIsNone(UP.get(OPEN, "open/post-kms"))
        body = form([("key", "open/post-plain")])
        r = raw(PX.endpoint, "POST", f"/{OPEN}", {"Host": f"127.0.0.1:{PX.port}", "Content-Length": str(len(body)),
                                                 "Content-Type": f"multipart/form-data; boundary={b}"}, body)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(UP.get(OPEN, "open/post-plain"), b"hello")

    def test_no_anonymous_copy(self):
        # the source may be SSE-KMS, which S3 does not decrypt for an
        # unsigned caller; s3warden cannot tell without reading it on its
        # own rights (probe 20: a KMS object copied out as plain text)
        UP.s3().put_object(Bucket=STAR, Key="kms-src", Body=b"kms-sealed", ServerSideEncryption="aws:kms")
        UP.put(STAR, "plain-src", b"plain")
        for src in ("kms-src", "plain-src"):
            with self.subTest(src):
                r = raw(PX.endpoint, "PUT", f"/{OPEN}/open/copy-{src}", {
                    "Host": f"127.0.0.1:{PX.port}", "x-amz-copy-source": f"/{STAR}/{src}",
                    "Content-Length": "0"})
                self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
                self.assertIn("Anonymous copies are not served", r.message)
                self.assertIsNone(UP.get(OPEN, f"open/copy-{src}"))
        # a select streams what it reads: refused the same way
        UP.s3().put_object(Bucket=OPEN, Key="open/kms.csv", Body=b"a,b\n1,2\n", ServerSideEncryption="aws:kms")
        body = (b'<SelectObjectContentRequest xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b'<Expression>select * from s3object</Expression><ExpressionType>SQL</ExpressionType>'
                b'<InputSerialization><CSV/></InputSerialization><OutputSerialization><CSV/>'
                b'</OutputSerialization></SelectObjectContentRequest>')
        r = raw(PX.endpoint, "POST", f"/{OPEN}/open/kms.csv?select&select-type=2", {
            "Host": f"127.0.0.1:{PX.port}", "Content-Length": str(len(body))}, body)
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        self.assertIn("Anonymous selects are not served", r.message)
        self.assertNotIn(b"1,2", r.body)
        # what the policy denies stays a denial first
        r = raw(PX.endpoint, "PUT", f"/{OPEN}/elsewhere", {
            "Host": f"127.0.0.1:{PX.port}", "x-amz-copy-source": f"/{STAR}/plain-src", "Content-Length": "0"})
        self.assertEqual((r.status, r.code), (403, "AccessDenied"), r)
        self.assertNotIn("Anonymous copies", r.message)

    def test_modes_an_unsigned_request_cannot_carry(self):
        mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"  # chunk signatures chain from a signature
        r = self.put("drop/s", {"x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked",
                                "x-amz-decoded-content-length": "1"}, b"1;chunk-signature=" + b"0" * 64
                     + b"\r\nZ\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n")
        self.assertEqual((r.status, r.code, r.message), (400, "InvalidRequest",
                         f"The payload mode {mode} cannot be used with this signature."), r)
        r = self.put("drop/n", {"x-amz-content-sha256": "nonsense"}, b"x")
        self.assertEqual((r.status, r.code), (400, "InvalidRequest"), r)
        self.assertTrue(r.message.startswith("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "), r)
        for k in ("drop/s", "drop/n"):
            self.assertIsNone(UP.get(DROP, k))


if __name__ == "__main__":
    main()
