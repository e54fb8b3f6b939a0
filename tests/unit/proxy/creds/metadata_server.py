#!/usr/bin/env python3
"""A local credentials endpoint for test_creds_fetch.c, speaking either

  imds  EC2 IMDSv2 (EC2 user guide, "Use IMDSv2"): PUT /latest/api/token with
        X-aws-ec2-metadata-token-ttl-seconds (1..21600) returns a session
        token; GET /latest/meta-data/iam/security-credentials/ lists the role
        and GET .../ROLE returns the credentials document - both only with a
        valid X-aws-ec2-metadata-token header (401 otherwise, as IMDS does
        when IMDSv2 is required). GETs never work without the PUT first.
  ecs   the ECS/EKS container credentials endpoint: GET PATH with
        Authorization equal to the expected token (403 otherwise).

Behaviour is driven by a JSON state file the test rewrites (atomic rename)
and re-read on every request:
  {"key": "ASIA...", "ttl": 4, "fail": false, "role": "r"}
  fail=true answers 500; hang=N sleeps N seconds before answering; big=true
  pads the credentials document past 64 KiB; down=true ends every connection
  without an answer, as a server that is gone (the port stays this server's:
  one given up and bound again may have been taken meanwhile). The secret is
  "secret-" + key, the token "token-" + key.
Every request answered is appended to LOG as "METHOD PATH STATUS". Binds
127.0.0.1 on an ephemeral port and writes it to PORT_FILE.

Usage: metadata_server.py imds|ecs STATE LOG PORT_FILE [AUTH_TOKEN]
"""
import datetime
import http.server
import json
import os
import secrets
import sys
import time

MODE, STATE, LOG, PORT_FILE = sys.argv[1:5]
AUTH = sys.argv[5] if len(sys.argv) > 5 else ""
TOKENS = set()


def state():
    with open(STATE) as f:
        return json.load(f)


def creds_doc(st, imds):
    if st.get("hang"):
        time.sleep(st["hang"])
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=st["ttl"])
    doc = {"AccessKeyId": st["key"], "SecretAccessKey": "secret-" + st["key"],
           "Token": "token-" + st["key"], "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if imds:
        doc.update({"Code": "Success", "Type": "AWS-HMAC",
                    "LastUpdated": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%dT%H:%M:%SZ")})
    else:
        doc["RoleArn"] = "arn:aws:iam::123456789012:role/" + st.get("role", "r")
    if st.get("big"):
        doc["Padding"] = "x" * 70000
    return json.dumps(doc).encode()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="text/plain"):
        with open(LOG, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, code))
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def gone(self):
        self.close_connection = True

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        st = state()
        if st.get("down"):
            return self.gone()
        if MODE != "imds" or self.path != "/latest/api/token":
            return self.reply(404)
        if st.get("fail"):
            return self.reply(500, b"internal error")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400)
        tok = secrets.token_urlsafe(32)
        TOKENS.add(tok)
        self.reply(200, tok.encode())

    def do_GET(self):
        st = state()
        if st.get("down"):
            return self.gone()
        if MODE == "imds":
            if self.headers.get("X-aws-ec2-metadata-token") not in TOKENS:
                return self.reply(401)
            if st.get("fail"):
                return self.reply(500, b"internal error")
            base = "/latest/meta-data/iam/security-credentials/"
            role = st.get("role", "r")
            if self.path == base:
                return self.reply(200, role.encode())
            if self.path == base + role:
                return self.reply(200, creds_doc(st, True), "application/json")
            return self.reply(404)
        if self.headers.get("Authorization") != AUTH:
            return self.reply(403, b'{"Message":"bad token"}', "application/json")
        if st.get("fail"):
            return self.reply(500, b"internal error")
        if self.path != "/v2/credentials/test":
            return self.reply(404)
        return self.reply(200, creds_doc(st, False), "application/json")


class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
tmp = PORT_FILE + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, PORT_FILE)
srv.serve_forever()
