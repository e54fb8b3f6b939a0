#!/usr/bin/python3
"""Signs a fixed set of S3 requests with SigV4a using python3-awscrt (Debian's
awscrt: the AWS Common Runtime signer, aws-c-auth underneath) and prints them
for tests/unit/sigv4/test_sigv4a_crt.c, which verifies each with s3warden's
own SigV4a code.

Output, one block per request (no value holds a tab or a newline):
    CASE <name>
    FORM header|query
    REGIONSET <the region set given to the signer>
    AKID <access key id>
    NOW <unix seconds at which to verify>
    METHOD <method>
    TARGET <request-target as sent>
    H <name>\t<value>          (repeated, in request order)
    END
Run with /usr/bin/python3 (the Debian interpreter that has awscrt).

If botocore can be found (here, or in the site-packages of the `python3` on
PATH, where the pip-installed boto3 lives), three more requests are signed by
botocore's own SigV4a signers (botocore.crt.auth.CrtS3SigV4AsymAuth and
...QueryAuth, what boto3 uses for S3 Multi-Region Access Points), at the
current time; their CASE names start with "boto-". Otherwise a note goes to
stderr and only the awscrt cases are printed.
"""
import datetime
import hashlib
import subprocess
import sys
import time

from awscrt import auth, http

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLEtokenForTestsOnly+/="
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def sign(name, form, region_set, method, path, headers, body=b"", token=None,
         unsigned=False, expires=None, body_value=None):
    provider = auth.AwsCredentialsProvider.new_static(AKID, SECRET, token)
    cfg = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        signature_type=(auth.AwsSignatureType.HTTP_REQUEST_HEADERS if form == "header"
                        else auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS),
        credentials_provider=provider,
        region=region_set,
        service="s3",
        date=WHEN,
        # S3 rules: single URI encoding, no path normalisation.
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_value=(body_value if body_value else
                           "UNSIGNED-PAYLOAD" if (unsigned or form == "query")
                           else hashlib.sha256(body).hexdigest()),
        signed_body_header_type=(auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
                                 if form == "header" else auth.AwsSignedBodyHeaderType.NONE),
        expiration_in_seconds=expires,
    )
    req = http.HttpRequest(method, path, http.HttpHeaders(headers))
    auth.aws_sign_request(req, cfg).result(10)
    out = ["CASE " + name, "FORM " + form, "REGIONSET " + region_set, "AKID " + AKID,
           "NOW %d" % (int(WHEN.timestamp()) + 30), "METHOD " + method, "TARGET " + req.path]
    for k, v in req.headers:
        assert "\t" not in k + v and "\n" not in k + v
        out.append("H %s\t%s" % (k, v))
    out.append("END")
    print("\n".join(out))


H = [("Host", "examplebucket.s3.amazonaws.com")]
sign("get-object", "header", "us-east-1", "GET", "/photos/2026/a.jpg", H)
sign("get-wildcard-set", "header", "us-*", "GET", "/", H)
sign("get-star-set", "header", "*", "GET", "/?list-type=2&prefix=dir%2Fsub%2F&max-keys=5", H)
sign("list-set-of-two", "header", "eu-west-1,us-east-1", "GET", "/?location", H)
sign("put-odd-key", "header", "us-east-1", "PUT",
     "/a%20b/c~d%2Be%3Df%25g/%E1%88%B4//./../x",
     H + [("Content-Type", "text/plain"), ("X-Amz-Meta-Color", "  deep   blue  "),
          ("x-amz-meta-color", "red")], body=b"hello v4a\n")
sign("put-with-token", "header", "us-east-1", "PUT", "/obj", H, body=b"x", token=TOKEN)
sign("unsigned-payload", "header", "us-east-1", "PUT", "/big", H, unsigned=True)
sign("presign-get", "query", "us-east-1", "GET", "/photos/a.jpg", H, expires=900)
sign("presign-set", "query", "us-*,eu-west-1", "GET", "/photos/a%20b.jpg?versionId=3%2F4",
     H, expires=3600)
sign("presign-token", "query", "*", "PUT", "/up", H, token=TOKEN, expires=60)
sign("wrong-region-header", "header", "eu-*", "GET", "/", H)
sign("wrong-region-query", "query", "ap-southeast-2", "GET", "/", H, expires=300)
# Seeds of ECDSA aws-chunked uploads (awscrt's Python API signs the request,
# not chunks; the chunk chain is built by the C test from this seed).
sign("stream-ecdsa", "header", "us-east-1", "PUT", "/stream",
     H + [("Content-Encoding", "aws-chunked"), ("X-Amz-Decoded-Content-Length", "66560")],
     body_value="STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
sign("stream-ecdsa-trailer", "header", "us-*", "PUT", "/stream-trailer",
     H + [("Content-Encoding", "aws-chunked"), ("X-Amz-Decoded-Content-Length", "66560"),
          ("X-Amz-Trailer", "x-amz-checksum-crc32")],
     body_value="STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")


def find_botocore():
    try:
        import botocore.auth  # noqa: F401
        import botocore.crt.auth  # noqa: F401
        return True
    except ImportError:
        pass
    try:
        out = subprocess.run(
            ["python3", "-c", "import os, botocore; "
             "print(os.path.dirname(os.path.dirname(botocore.__file__)))"],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    if out.returncode != 0 or not out.stdout.strip():
        return False
    sys.path.append(out.stdout.strip())  # after dist-packages: awscrt stays Debian's
    try:
        # botocore.auth first: importing botocore.crt.auth alone is circular.
        import botocore.auth  # noqa: F401
        import botocore.crt.auth  # noqa: F401
        return True
    except ImportError:
        return False


def emit_boto(name, form, region_set, req):
    path = req.url.split("examplebucket.s3.amazonaws.com", 1)[1]
    out = ["CASE " + name, "FORM " + form, "REGIONSET " + region_set, "AKID " + AKID,
           "NOW %d" % int(time.time()), "METHOD " + req.method, "TARGET " + path,
           "H Host\texamplebucket.s3.amazonaws.com"]
    for k, v in req.headers.items():
        if k.lower() == "host":
            continue
        out.append("H %s\t%s" % (k, v))
    out.append("END")
    print("\n".join(out))


if find_botocore():
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.crt import auth as crtauth
    creds = Credentials(AKID, SECRET)
    base = "https://examplebucket.s3.amazonaws.com"
    r = AWSRequest(method="PUT", url=base + "/boto/a%20b/c~d", data=b"hello boto",
                   headers={"Content-Type": "text/plain", "x-amz-meta-k": "v  v"})
    crtauth.CrtS3SigV4AsymAuth(creds, "s3", "*").add_auth(r)
    emit_boto("boto-put", "header", "*", r)
    r = AWSRequest(method="GET", url=base + "/%E1%88%B4%20x/y%2Bz?list-type=2&prefix=a%2Fb%2F")
    crtauth.CrtS3SigV4AsymAuth(creds, "s3", "us-*").add_auth(r)
    emit_boto("boto-unicode-list", "header", "us-*", r)
    r = AWSRequest(method="GET", url=base + "/photos/a.jpg?versionId=1")
    crtauth.CrtS3SigV4AsymQueryAuth(creds, "s3", "us-east-1,eu-*", expires=600).add_auth(r)
    emit_boto("boto-presign", "query", "us-east-1,eu-*", r)
else:
    print("crt_sign.py: botocore not found; botocore SigV4a cases skipped", file=sys.stderr)
sys.stdout.flush()
