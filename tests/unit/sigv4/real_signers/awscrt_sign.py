#!/usr/bin/python3
"""Signs the shared cases with aws-c-auth through python3-awscrt (Debian's
/usr/bin/python3) and prints one line per request for
tests/unit/sigv4/test_real_signers.c:

    awscrt <case> <form> <unix-now> <hex of the raw request head>

S3 settings as the AWS SDKs use them: single URI encoding, no path
normalisation, x-amz-content-sha256 signed (header form), UNSIGNED-PAYLOAD.
"""
import binascii
import datetime
import os
import sys
from urllib.parse import quote

from awscrt import auth, http

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402


def sign(case, form, method, path, query, headers, akid=cases.AKID, secret=cases.SECRET,
         token=None, body_value="UNSIGNED-PAYLOAD"):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    provider = auth.AwsCredentialsProvider.new_static(akid, secret, token)
    cfg = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=(auth.AwsSignatureType.HTTP_REQUEST_HEADERS if form == "header"
                        else auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS),
        credentials_provider=provider,
        region=cases.REGION,
        service="s3",
        date=now,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
        signed_body_value=body_value,
        signed_body_header_type=(auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
                                 if form == "header" else auth.AwsSignedBodyHeaderType.NONE),
        expiration_in_seconds=(900 if form == "query" else None),
    )
    target = quote(path, safe="/~") + ("?" + query if query else "")
    req = http.HttpRequest(method, target, http.HttpHeaders([("Host", cases.HOST)] + list(headers)))
    auth.aws_sign_request(req, cfg).result(10)
    lines = ["%s %s HTTP/1.1" % (method, req.path)]
    for k, v in req.headers:
        lines.append("%s: %s" % (k, v))
    raw = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    print("awscrt %s %s %d %s" % (case, form, int(now.timestamp()), binascii.hexlify(raw).decode()))


def main():
    for name, path in cases.KEYS:
        sign(name, "header", "GET", path, "", [])
        sign(name, "query", "GET", path, "", [])
    for name, path, query, _ in cases.QUERIES:
        sign(name, "header", "GET", path, query, [])
        sign(name, "query", "GET", path, query, [])
    for name, path, query, hdrs in cases.HEADERS:
        sign(name, "header", "PUT", path, query, hdrs,
             body_value="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for name, path, query, form in cases.random_cases(40, seed=7):
        sign(name, form, "GET", path, query, [])
    sign("token", "header", "GET", "/bucket/t", "", [], cases.TOKEN_AKID, cases.TOKEN_SECRET, cases.TOKEN)
    sign("token", "query", "GET", "/bucket/t", "", [], cases.TOKEN_AKID, cases.TOKEN_SECRET, cases.TOKEN)


if __name__ == "__main__":
    main()
