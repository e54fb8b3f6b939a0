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

UP = PX = None


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


if __name__ == "__main__":
    main()
