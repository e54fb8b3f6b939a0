#!/usr/bin/python3
"""Signs one S3 request with SigV4a at the current time, using python3-awscrt
(Debian's awscrt: aws-c-auth underneath), for test_pipeline_v4a.c, which
sends it through s3warden. Run with /usr/bin/python3.

    crt_sign_now.py HOST METHOD PATH AKID SECRET REGION_SET BODY [query]

Prints "@target TARGET" (the request-target to send: PATH, plus the
X-Amz-* parameters when presigned with "query"), then the signed request's
headers, one "Name: value" line each (no value holds a newline). Header
form: the body's SHA-256 is signed as x-amz-content-sha256; query form:
UNSIGNED-PAYLOAD, valid 300 s.
"""
import hashlib
import sys

from awscrt import auth, http

host, method, path, akid, secret, region_set, body = sys.argv[1:8]
query = len(sys.argv) > 8 and sys.argv[8] == "query"
cfg = auth.AwsSigningConfig(
    algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
    signature_type=(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if query
                    else auth.AwsSignatureType.HTTP_REQUEST_HEADERS),
    credentials_provider=auth.AwsCredentialsProvider.new_static(akid, secret),
    region=region_set,
    service="s3",
    # S3 rules: single URI encoding, no path normalisation
    use_double_uri_encode=False,
    should_normalize_uri_path=False,
    signed_body_value=("UNSIGNED-PAYLOAD" if query
                       else hashlib.sha256(body.encode()).hexdigest()),
    signed_body_header_type=(auth.AwsSignedBodyHeaderType.NONE if query
                             else auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256),
    expiration_in_seconds=300 if query else None,
)
req = http.HttpRequest(method, path, http.HttpHeaders([("Host", host),
                                                       ("Content-Length", str(len(body)))]))
auth.aws_sign_request(req, cfg).result(10)
print("@target " + req.path)
for k, v in req.headers:
    assert "\n" not in k + v
    print("%s: %s" % (k, v))
