#!/usr/bin/env python3
"""Signs the shared cases with botocore (the pip-installed SDK) and prints one
line per request for tests/unit/sigv4/test_real_signers.c:

    <signer> <case> <form> <unix-now> <hex of the raw request head>

form is "header" or "query". The raw head is what botocore would put on the
wire: "METHOD target HTTP/1.1\\r\\n" + headers, target exactly as sent.
"""
import binascii
import sys
import time
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, __import__("os").path.dirname(__file__))
import cases  # noqa: E402


def emit(case, form, req, now, body=b""):
    u = urlsplit(req.url)
    target = u.path + ("?" + u.query if u.query else "")
    lines = ["%s %s HTTP/1.1" % (req.method, target)]
    names = [k.lower() for k in req.headers.keys()]
    if "host" not in names:
        lines.append("Host: %s" % u.netloc)
    for k, v in req.headers.items():
        lines.append("%s: %s" % (k, v))
    raw = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    if body:
        raw += b"\r\n" + body
    print("botocore %s %s %d %s" % (case, form, now, binascii.hexlify(raw).decode()))


def sign(case, method, path, query, headers, form, creds, payload="UNSIGNED-PAYLOAD"):
    url = "https://%s%s%s" % (cases.HOST, quote(path, safe="/~"), "?" + query if query else "")
    req = AWSRequest(method=method, url=url, data=b"")
    for k, v in headers:
        req.headers[k] = v  # HTTPHeaders appends: repeated names are kept
    now = int(time.time())
    if form == "header":
        req.headers["X-Amz-Content-SHA256"] = payload
        botocore.auth.S3SigV4Auth(creds, "s3", cases.REGION).add_auth(req)
    else:
        botocore.auth.S3SigV4QueryAuth(creds, "s3", cases.REGION, expires=900).add_auth(req)
    # The headers as signed (AWSRequest.prepare() would fold a repeated
    # header into one value; urllib3 sends them as set here).
    emit(case, form, req, now)


def main():
    creds = Credentials(cases.AKID, cases.SECRET)
    tcreds = Credentials(cases.TOKEN_AKID, cases.TOKEN_SECRET, cases.TOKEN)
    for name, path in cases.KEYS:
        sign(name, "GET", path, "", [], "header", creds)
        sign(name, "GET", path, "", [], "query", creds)
    for name, path, query, _ in cases.QUERIES:
        sign(name, "GET", path, query, [], "header", creds)
        sign(name, "GET", path, query, [], "query", creds)
    for name, path, query, hdrs in cases.HEADERS:
        sign(name, "PUT", path, query, hdrs, "header", creds,
             payload="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    sign("token", "GET", "/bucket/t", "", [], "header", tcreds)
    sign("token", "GET", "/bucket/t", "", [], "query", tcreds)
    # Randomised differential cases (fixed seed: reproducible).
    for name, path, query, form in cases.random_cases(60):
        sign(name, "GET", path, query, [], form, creds)
    # STS (non-S3 rules: normalised, double-encoded path; the body hash is
    # signed but sent in no header), as boto3's sts client signs it.
    for name, cr in (("sts-plain", creds), ("sts-token", tcreds)):
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        req = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        now = int(time.time())
        botocore.auth.SigV4Auth(cr, "sts", cases.REGION).add_auth(req)
        emit(name, "header", req, now, body)


if __name__ == "__main__":
    main()
