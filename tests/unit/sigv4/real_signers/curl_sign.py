#!/usr/bin/env python3
"""Signs the shared cases with `curl --aws-sigv4` and captures what curl puts
on the wire with a one-shot listener on 127.0.0.1. Prints one line per
request for tests/unit/sigv4/test_real_signers.c:

    curl <case> header <unix-now> <hex of the raw request head>

curl is given the path already percent-encoded (as any client must put it on
the wire). It sends to 127.0.0.1 with `Host: bucket.s3.amazonaws.com`, so the
signed host is the S3 one.
"""
import binascii
import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402


def capture_one(srv, out):
    conn, _ = srv.accept()
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()
    out.append(data.split(b"\r\n\r\n", 1)[0] + b"\r\n")


def run(case, method, path, query, headers, user, token=None):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = []
    t = threading.Thread(target=capture_one, args=(srv, got))
    t.start()
    url = "http://127.0.0.1:%d%s%s" % (port, quote(path, safe="/~"), "?" + query if query else "")
    cmd = ["curl", "-s", "-o", "/dev/null", "--path-as-is", "--max-time", "5",
           "--aws-sigv4", "aws:amz:%s:s3" % cases.REGION, "--user", user,
           "-X", method, "-H", "Host: %s" % cases.HOST,
           # S3 requires x-amz-content-sha256 on header-signed requests; curl
           # signs a header the user gives and uses its value as the payload
           # hash (curl >= 7.86 for service "s3").
           "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
    for k, v in headers:
        cmd += ["-H", "%s: %s" % (k, v)]
    if token:
        cmd += ["-H", "x-amz-security-token: %s" % token]
    cmd.append(url)
    now = int(time.time())
    subprocess.run(cmd, check=True)
    t.join(10)
    srv.close()
    print("curl %s header %d %s" % (case, now, binascii.hexlify(got[0]).decode()))


def main():
    user = "%s:%s" % (cases.AKID, cases.SECRET)
    for name, path in cases.KEYS:
        run(name, "GET", path, "", [], user)
    for name, path, query, _ in cases.QUERIES:
        # curl 7.88 signs the query in the order given (it does not sort),
        # so hand it the canonical order; the given order is kept as one
        # known-bad case (the C test expects SignatureDoesNotMatch for it).
        # It also signs a valueless "c" as "c" rather than "c=", so valueless
        # parameters get their "=" here, except in q-empty-value ("?acl"),
        # kept as the known-bad case for that.
        parts = query.split("&")
        if name != "q-empty-value":
            parts = [p if "=" in p else p + "=" for p in parts]
        srt = "&".join(sorted(parts, key=lambda kv: kv.partition("=")[::2]))
        run(name, "GET", path, srt, [], user)
    run("q-unsorted", "GET", "/bucket", "list-type=2&prefix=dir%2F&delimiter=%2F", [], user)
    for name, path, query, hdrs in cases.HEADERS:
        run(name, "PUT", path, query, hdrs, user)
    run("token", "GET", "/bucket/t", "", [], "%s:%s" % (cases.TOKEN_AKID, cases.TOKEN_SECRET), cases.TOKEN)


if __name__ == "__main__":
    main()
