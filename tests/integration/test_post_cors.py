#!/usr/bin/env python3
"""Browser uploads through s3warden (issue 17): POST Object with SigV4 POST
policies and CORS answered by s3warden.

Real clients: boto3's generate_presigned_post, its fields sent by `curl -F`
(and by the JS SDK's @aws-sdk/s3-presigned-post when npm can fetch it);
every stored object read back byte for byte straight from the upstream
(moto_server, auth on: it checks s3warden's own signature on the PutObject
each form becomes; and Ceph RGW, whose checks are stricter). Refusals assert S3's code and message and that nothing
was stored. CORS: preflights with curl, GetBucketCors with boto3. The real
browser: headless Chromium (Debian's chromium), driven over its DevTools
protocol, opens an upload page served from another origin (python's
http.server), which uploads with a presigned POST and downloads with a
presigned GET through s3warden; a page from an origin the CORS rules do not
allow is refused by the browser. Screenshots go to the test's tmp dir
(S3W_SCREENSHOT_DIR keeps copies).
"""
import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A = "111111111111"
BUCKET = "post-web"
LOCKED = "post-locked"
ORIGIN = "https://app.partner.example"

W = World()
W.account(A)
UPLOADER = W.user(A, "uploader", "AIDAPOSTUPLOADER0001", policies=[policy(
    allow(["s3:PutObject", "s3:GetObject"], [f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{LOCKED}/*"]),
    allow("s3:GetBucketCORS", f"arn:aws:s3:::{BUCKET}"),
    allow("sts:AssumeRole", role_arn(A, "post-role")))])
READER = W.user(A, "reader", "AIDAPOSTREADER000001", policies=[policy(
    allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*"))])
ROLE = W.role(A, "post-role", "AROAPOSTROLE00000001",
              policy({"Effect": "Allow", "Principal": {"AWS": user_arn(A, "uploader")},
                      "Action": "sts:AssumeRole"}),
              policies=[policy(allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/session/*"))])
W.bucket(BUCKET, A)
W.bucket(LOCKED, A, policy({"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*",
                            "Action": "s3:PutObject",
                            "Resource": f"arn:aws:s3:::{LOCKED}/secret/*"}))

CORS = {"CORSRules": [{"ID": "partner", "AllowedOrigins": ["https://*.partner.example",
                                                           "http://127.0.0.1:*"],
                       "AllowedMethods": ["GET", "POST", "HEAD"], "AllowedHeaders": ["*"],
                       "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600}]}

UP = PX = None


def config(port, audit):
    cfg = render_config(W, UP, port, audit, admin=free_port())
    for b in cfg["buckets"]:
        if b["name"] == BUCKET:
            b["cors"] = CORS
    return cfg


def setUpModule():
    global UP, PX
    UP = Moto(auth=True, buckets=[BUCKET, LOCKED]).start()
    PX = Proxy(config, "post-cors").start()


def tearDownModule():
    cleanup_all()


def presigned(key, bucket=BUCKET, who=UPLOADER, fields=None, conditions=None, expires=600):
    return PX.client(who).generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions,
                                                  ExpiresIn=expires)


def post_curl(post, path, extra=(), drop=(), override=None, file_type=None):
    """curl -F with the presigned fields (as strings: never curl's @file or
    <file forms), then the file last; (status, headers text, body)."""
    args = ["-o", "-", "-D", "-", "-w", "\n%{http_code}"]
    fields = dict(post["fields"])
    fields.update(override or {})
    for k, v in list(fields.items()) + list(extra):
        if k not in drop:
            args += ["--form-string", f"{k}={v}"]
    args += ["-F", f"file=@{path}" + (f";type={file_type}" if file_type else "")]
    p = curl(*args, post["url"])
    out, _, code = p.stdout.rpartition(b"\n")
    head, _, body = out.partition(b"\r\n\r\n")
    return int(code or 0), head.decode("latin-1"), body


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def rand(n):
    return os.urandom(n)


class Post(unittest.TestCase):
    def setUp(self):
        self.dir = tmpdir("post")

    def error(self, body, code, message):
        text = body.decode()
        self.assertIn(f"<Code>{code}</Code>", text)
        self.assertIn(f"<Message>{message}</Message>", text)

    def test_boto3_presigned_post_stores_bytes(self):
        data = rand(300_000)
        post = presigned("uploads/a.bin")
        self.assertTrue(post["url"].startswith(PX.endpoint), post["url"])
        code, head, body = post_curl(post, write(os.path.join(self.dir, "a.bin"), data))
        self.assertEqual(code, 204, head + body.decode(errors="replace"))
        self.assertEqual(UP.get(BUCKET, "uploads/a.bin"), data)
        self.assertRegex(head, r'(?i)\r\nETag: "%s"' % hashlib.md5(data).hexdigest())
        rec = PX.audit_where(lambda r: r.get("eventName") == "PostObject"
                             and r.get("requestParameters", {}).get("key") == "uploads/a.bin")
        self.assertTrue(rec, "no PostObject audit record")
        # counted under S3's name too (it was "unknown", the sixth probe)
        m = re.search(r'^s3warden_requests_total\{operation="PostObject",decision="Allowed",status="204"\} (\d+)',
                      PX.admin("/metrics").text, re.M)
        self.assertTrue(m and int(m.group(1)) >= 1, PX.admin("/metrics").text[:3000])

    def test_filename_status_201_and_metadata(self):
        data = b"hello from a form\r\n--not a boundary\r\n"
        post = presigned("uploads/${filename}",
                         fields={"success_action_status": "201", "x-amz-meta-note": "from curl",
                                 "Content-Type": "text/plain"},
                         conditions=[{"success_action_status": "201"}, {"x-amz-meta-note": "from curl"},
                                     ["starts-with", "$Content-Type", "text/"],
                                     ["content-length-range", 1, 1000]])
        code, head, body = post_curl(post, write(os.path.join(self.dir, "note.txt"), data))
        self.assertEqual(code, 201, body)
        self.assertIn(b"<Bucket>post-web</Bucket><Key>uploads/note.txt</Key>", body)
        self.assertEqual(UP.get(BUCKET, "uploads/note.txt"), data)
        h = UP.s3().head_object(Bucket=BUCKET, Key="uploads/note.txt")
        self.assertEqual(h["Metadata"], {"note": "from curl"})
        self.assertEqual(h["ContentType"], "text/plain")

    def test_redirect_303(self):
        post = presigned("uploads/r.txt", fields={"success_action_redirect": "https://app.partner.example/done"},
                         conditions=[{"success_action_redirect": "https://app.partner.example/done"}])
        code, head, _ = post_curl(post, write(os.path.join(self.dir, "r.txt"), b"r"))
        self.assertEqual(code, 303)
        loc = re.search(r"(?i)\r\nLocation: (\S+)", head).group(1)
        self.assertTrue(loc.startswith("https://app.partner.example/done?bucket=post-web&key=uploads%2Fr.txt&etag="), loc)
        self.assertEqual(UP.get(BUCKET, "uploads/r.txt"), b"r")

    def test_policy_refusals_store_nothing(self):
        f = write(os.path.join(self.dir, "x.bin"), rand(2000))
        post = presigned("uploads/range.bin", conditions=[["content-length-range", 1, 1000]])
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 400)
        self.error(body, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        # a field changed after signing: the key outside the signed one
        post = presigned("uploads/k.bin")
        code, _, body = post_curl(post, f, override={"key": "elsewhere/k.bin"})
        self.assertEqual(code, 403)
        self.error(body, "AccessDenied", "Invalid according to Policy: Policy Condition failed: "
                                         "[&quot;eq&quot;, &quot;$key&quot;, &quot;uploads/k.bin&quot;]")
        # a field no condition covers
        code, _, body = post_curl(post, f, extra=[("x-amz-meta-evil", "1")])
        self.assertEqual(code, 403)
        self.error(body, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-evil")
        # the policy itself changed: the signature no longer matches
        forged = dict(post)
        forged["fields"] = dict(post["fields"])
        doc = json.loads(base64_dec(post["fields"]["policy"]))
        doc["conditions"].append(["starts-with", "$x-amz-meta-evil", ""])
        forged["fields"]["policy"] = base64_enc(json.dumps(doc))
        code, _, body = post_curl(forged, f, extra=[("x-amz-meta-evil", "1")])
        self.assertEqual(code, 403)
        self.error(body, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                   "the signature you provided. Check your key and signing method.")
        # expired
        post = presigned("uploads/old.bin", expires=-5)
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 403)
        self.error(body, "AccessDenied", "Invalid according to Policy: Policy expired.")
        # an escaped NUL in a condition (json.dumps writes it as \u0000):
        # read as C strings, "uploads/nul\0" was the prefix "uploads/nul"
        # and the upload went through (the sixth probe)
        post = presigned("uploads/nul-${filename}", conditions=[["starts-with", "$key", "uploads/nul\u0000"]])
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 400, body)
        self.error(body, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
        for k in ("uploads/range.bin", "elsewhere/k.bin", "uploads/k.bin", "uploads/old.bin", "uploads/nul-x.bin"):
            self.assertIsNone(UP.get(BUCKET, k), k)

    def test_authorization_denials(self):
        f = write(os.path.join(self.dir, "d.bin"), b"denied")
        # the signer's own policies do not allow s3:PutObject
        post = presigned("uploads/by-reader.bin", who=READER)
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 403, body)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"s3:PutObject", body)
        # the bucket policy denies the key
        post = presigned("secret/x.bin", bucket=LOCKED)
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 403, body)
        self.assertIn(b"explicit deny in a resource-based policy", body)
        self.assertIsNone(UP.get(BUCKET, "uploads/by-reader.bin"))
        self.assertIsNone(UP.get(LOCKED, "secret/x.bin"))
        # and the same signer may store elsewhere in that bucket
        post = presigned("open/x.bin", bucket=LOCKED)
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 204, body)
        self.assertEqual(UP.get(LOCKED, "open/x.bin"), b"denied")
        rec = PX.audit_where(lambda r: r.get("eventName") == "PostObject"
                             and r.get("requestParameters", {}).get("key") == "secret/x.bin")
        self.assertTrue(rec)

    def test_malformed_bodies(self):
        url = f"{PX.endpoint}/{BUCKET}"
        p = curl("-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: multipart/form-data",
                 "--data-binary", "x", url)
        body, _, code = p.stdout.rpartition(b"\n")
        self.assertEqual(code, b"400")
        self.error(body, "MalformedPOSTRequest",
                   "The body of your POST request is not well-formed multipart/form-data.")
        # a part after the file
        post = presigned("uploads/after.bin")
        f = write(os.path.join(self.dir, "after.bin"), b"after")
        args = []
        for k, v in post["fields"].items():
            args += ["--form-string", f"{k}={v}"]
        args += ["-F", f"file=@{f}", "--form-string", "submit=Upload"]
        p = curl("-o", "-", "-w", "\n%{http_code}", *args, post["url"])
        body, _, code = p.stdout.rpartition(b"\n")
        self.assertEqual(code, b"400", body)
        self.assertIn(b"<Code>MalformedPOSTRequest</Code>", body)
        self.assertIsNone(UP.get(BUCKET, "uploads/after.bin"))

    def test_s3warden_presign_post(self):
        p = subprocess.run([BIN, "presign", "--post", "--config", PX.config_path, "--access-key-id",
                            UPLOADER.id, "--max-size", "100", "--expires", "300",
                            f"s3://{BUCKET}/cli/"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        post = json.loads(p.stdout)
        self.assertEqual(post["url"], f"{PX.endpoint}/{BUCKET}")
        self.assertEqual(post["fields"]["key"], "cli/${filename}")
        doc = json.loads(base64_dec(post["fields"]["policy"]))
        self.assertIn(["starts-with", "$key", "cli/"], doc["conditions"])
        self.assertIn(["content-length-range", 0, 100], doc["conditions"])
        code, _, body = post_curl(post, write(os.path.join(self.dir, "cli.txt"), b"from the cli"))
        self.assertEqual(code, 204, body)
        self.assertEqual(UP.get(BUCKET, "cli/cli.txt"), b"from the cli")
        code, _, body = post_curl(post, write(os.path.join(self.dir, "big.txt"), b"x" * 101))
        self.assertEqual(code, 400, body)
        self.error(body, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        self.assertIsNone(UP.get(BUCKET, "cli/big.txt"))

    def test_session_credentials(self):
        """A role session's POST: x-amz-security-token is a field (and a
        condition); the session's own policies decide."""
        import boto3
        c = boto3.client("sts", endpoint_url=PX.endpoint, region_name=REGION,
                         aws_access_key_id=UPLOADER.id, aws_secret_access_key=UPLOADER.secret
                         ).assume_role(RoleArn=ROLE, RoleSessionName="browser")["Credentials"]
        s3 = PX.client((c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        post = s3.generate_presigned_post(BUCKET, "session/s.txt", ExpiresIn=300)
        self.assertEqual(post["fields"]["x-amz-security-token"], c["SessionToken"])
        f = write(os.path.join(self.dir, "s.txt"), b"session upload")
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 204, body)
        self.assertEqual(UP.get(BUCKET, "session/s.txt"), b"session upload")
        rec = PX.audit_where(lambda r: r.get("eventName") == "PostObject" and
                             r.get("requestParameters", {}).get("key") == "session/s.txt")
        self.assertTrue(rec)
        self.assertEqual(rec[-1]["userIdentity"]["type"], "AssumedRole", rec[-1])
        # the session's policies allow session/* only
        post = s3.generate_presigned_post(BUCKET, "uploads/s.txt", ExpiresIn=300)
        code, _, body = post_curl(post, f)
        self.assertEqual(code, 403, body)
        self.assertIn(b"assumed-role/post-role/browser is not authorized to perform: s3:PutObject", body)
        # a token that is not the session's
        post = s3.generate_presigned_post(BUCKET, "session/t.txt", ExpiresIn=300)
        code, _, body = post_curl(post, f, override={"x-amz-security-token": c["SessionToken"][:-8] + "AAAAAAAA"})
        self.assertEqual(code, 400, body)
        self.assertIn(b"<Code>InvalidToken</Code>", body)
        self.assertIsNone(UP.get(BUCKET, "uploads/s.txt"))
        self.assertIsNone(UP.get(BUCKET, "session/t.txt"))

    def test_js_sdk_presigned_post(self):
        js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
        need = ["@aws-sdk/client-s3", "@aws-sdk/s3-presigned-post"]
        if not all(os.path.isdir(os.path.join(js, "node_modules", n)) for n in need):
            p = subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund"] + need,
                               cwd=js, capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, "npm install failed: " + p.stderr[-2000:])
        data = rand(40_000)
        f = write(os.path.join(self.dir, "js.bin"), data)
        env = dict(os.environ, S3W_ENDPOINT=PX.endpoint, S3W_BUCKET=BUCKET, S3W_KEY="uploads/js/${filename}",
                   S3W_FILE=f, AWS_ACCESS_KEY_ID=UPLOADER.id, AWS_SECRET_ACCESS_KEY=UPLOADER.secret,
                   AWS_REGION="us-east-1")
        p = subprocess.run(["node", os.path.join(js, "presigned_post.mjs")], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("status 204", p.stdout)
        self.assertEqual(UP.get(BUCKET, "uploads/js/js.bin"), data)


def base64_dec(s):
    import base64
    return base64.b64decode(s).decode()


def base64_enc(s):
    import base64
    return base64.b64encode(s.encode()).decode()


class Cors(unittest.TestCase):
    def preflight(self, origin, method, headers=None, bucket=BUCKET):
        args = ["-o", "-", "-D", "-", "-w", "\n%{http_code}", "-X", "OPTIONS", "-H", f"Origin: {origin}",
                "-H", f"Access-Control-Request-Method: {method}"]
        if headers:
            args += ["-H", f"Access-Control-Request-Headers: {headers}"]
        p = curl(*args, f"{PX.endpoint}/{bucket}/uploads/x")
        out, _, code = p.stdout.rpartition(b"\n")
        return int(code), out.decode()

    def test_preflight(self):
        code, out = self.preflight(ORIGIN, "POST", "content-type")
        self.assertEqual(code, 200, out)
        self.assertIn(f"Access-Control-Allow-Origin: {ORIGIN}\r\n", out)
        self.assertIn("Access-Control-Allow-Methods: GET, POST, HEAD\r\n", out)
        self.assertIn("Access-Control-Max-Age: 600\r\n", out)
        code, out = self.preflight("https://evil.example", "POST")
        self.assertEqual(code, 403, out)
        self.assertIn("<Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not "
                      "allowed.", out)
        code, out = self.preflight(ORIGIN, "DELETE")
        self.assertEqual(code, 403, out)
        code, out = self.preflight(ORIGIN, "GET", bucket=LOCKED)
        self.assertEqual(code, 403, out)
        self.assertIn("CORSResponse: CORS is not enabled for this bucket.", out)

    def test_get_bucket_cors_and_actual_headers(self):
        s3 = PX.client(UPLOADER)
        rules = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
        self.assertEqual(rules, [{"ID": "partner", "AllowedHeaders": ["*"],
                                  "AllowedMethods": ["GET", "POST", "HEAD"],
                                  "AllowedOrigins": ["https://*.partner.example", "http://127.0.0.1:*"],
                                  "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600}])
        UP.put(BUCKET, "uploads/get.txt", b"get me")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "uploads/get.txt"})
        p = curl("-D", "-", "-o", "/dev/null", "-H", f"Origin: {ORIGIN}", url)
        self.assertIn(f"Access-Control-Allow-Origin: {ORIGIN}\r\n", p.stdout.decode())
        self.assertIn("Access-Control-Expose-Headers: ETag, x-amz-request-id\r\n", p.stdout.decode())


class ThroughRgw(unittest.TestCase):
    """The same forms in front of Ceph RGW (strict SigV4 and payload
    checks): the PutObject each becomes is one RGW accepts, and an upload
    aborted before its last byte stores nothing there either."""

    @classmethod
    def setUpClass(cls):
        cls.rgw = Rgw(buckets=[BUCKET]).start()
        cls.px = Proxy(lambda port, audit: render_config(W, cls.rgw, port, audit), "post-rgw").start()
        cls.dir = tmpdir("post-rgw")

    def test_upload_and_abort(self):
        data = rand(1 << 20)
        post = self.px.client(UPLOADER).generate_presigned_post(
            BUCKET, "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"],
                                                      ["content-length-range", 1, 2 << 20]],
            ExpiresIn=300)
        code, head, body = post_curl(post, write(os.path.join(self.dir, "rgw.bin"), data))
        self.assertEqual(code, 204, body)
        self.assertEqual(self.rgw.get(BUCKET, "uploads/rgw.bin"), data)
        # a part after the file: the PUT to RGW started, and was aborted
        args = []
        for k, v in post["fields"].items():
            args += ["--form-string", f"{k}={v}"]
        args += ["-F", f"file=@{write(os.path.join(self.dir, 'late.bin'), data)}",
                 "--form-string", "submit=Upload"]
        p = curl("-o", "-", "-w", "\n%{http_code}", *args, post["url"])
        out, _, code = p.stdout.rpartition(b"\n")
        self.assertEqual(code, b"400", out)
        self.assertIn(b"<Code>MalformedPOSTRequest</Code>", out)
        self.assertIsNone(self.rgw.get(BUCKET, "uploads/late.bin"))
        self.assertEqual(self.rgw.uploads(BUCKET), [])


# ---------------------------------------------------------------------------
# the real browser: headless Chromium over its DevTools protocol
# ---------------------------------------------------------------------------
class DevTools:
    """A minimal client of Chrome's DevTools protocol over its WebSocket
    (RFC 6455: masked text frames out, unmasked frames in); no library."""

    def __init__(self, ws_url):
        import socket
        from urllib.parse import urlparse
        u = urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))
        self.next_id = 0
        self.events = []

    def _read(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError("devtools closed")
            b += chunk
        return b

    def _frame(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            msg += self._read(n)
            if b0 & 0x80:
                return msg

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        data = json.dumps({"id": mid, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))
        while True:
            m = json.loads(self._frame())
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Partner upload</title></head>
<body style="font-family: sans-serif">
<h1>Partner upload page</h1>
<p>served from <span id="origin"></span>, uploading to s3warden</p>
<pre id="result"></pre>
<script id="cfg" type="application/json">CFG</script>
<script>
const cfg = JSON.parse(document.getElementById("cfg").textContent);
document.getElementById("origin").textContent = location.origin;
(async () => {
  const out = document.getElementById("result");
  try {
    const form = new FormData();
    for (const [k, v] of Object.entries(cfg.post.fields)) form.append(k, v);
    form.append("file", new Blob([cfg.content], {type: "text/plain"}), cfg.filename);
    let r = await fetch(cfg.post.url, {method: "POST", body: form});
    const up = `upload ${r.status} etag ${r.headers.get("ETag")}`;
    /* a header of the page's own: the browser preflights this GET */
    r = await fetch(cfg.get, {headers: {"x-partner-page": "1"}});
    out.textContent = `${up}; download ${r.status}: ${await r.text()}`;
  } catch (e) {
    out.textContent = "blocked: " + e;
  }
})();
</script></body></html>
"""


@unittest.skipUnless(shutil.which("chromium"), "chromium is not installed (deploy/install-deps.sh)")
class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tmpdir("browser")
        cls.site = os.path.join(cls.dir, "site")
        os.makedirs(cls.site, exist_ok=True)
        cls.port = free_port()
        cls.web = subprocess.Popen([sys.executable, "-m", "http.server", str(cls.port), "--bind",
                                    "127.0.0.1", "--directory", cls.site],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        on_cleanup(lambda: (cls.web.terminate(), cls.web.wait(10)))
        profile = os.path.join(cls.dir, "profile")
        cls.chrome = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                                       "--no-first-run", "--no-proxy-server", "--remote-debugging-port=0",
                                       f"--user-data-dir={profile}", "--window-size=900,500",
                                       "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        on_cleanup(lambda: (cls.chrome.terminate(), cls.chrome.wait(20)))
        active = os.path.join(profile, "DevToolsActivePort")
        def read_active():
            with open(active) as f:
                return f.read()
        wait_until(lambda: os.path.exists(active) and read_active().count("\n") >= 1, timeout=30)
        dport = int(read_active().split()[0])
        wait_until(lambda: curl(f"http://127.0.0.1:{cls.port}/").returncode == 0, timeout=10)
        pages = json.loads(curl(f"http://127.0.0.1:{dport}/json/list").stdout)
        page = [p for p in pages if p.get("type") == "page"][0]
        cls.dt = DevTools(page["webSocketDebuggerUrl"])
        on_cleanup(cls.dt.sock.close)
        cls.dt.call("Page.enable")
        cls.dt.call("Runtime.enable")
        cls.dt.call("Network.enable")

    def open_page(self, name, origin_host, key, content):
        post = presigned(key, conditions=[["content-length-range", 1, 10000]])
        get = PX.client(UPLOADER).generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": key.replace("${filename}", "browser.txt")})
        cfg = {"post": post, "get": get, "content": content, "filename": "browser.txt"}
        with open(os.path.join(self.site, name), "w") as f:
            f.write(PAGE.replace("CFG", json.dumps(cfg).replace("</", "<\\/")))
        self.dt.call("Page.navigate", url=f"http://{origin_host}:{self.port}/{name}")
        result = {}

        def done():
            r = self.dt.call("Runtime.evaluate", returnByValue=True,
                             expression="document.getElementById('result') ? "
                                        "document.getElementById('result').textContent : ''")
            result["text"] = r.get("result", {}).get("value") or ""
            return result["text"]
        wait_until(done, timeout=30, step=0.3)
        shot = self.dt.call("Page.captureScreenshot", format="png")
        path = os.path.join(self.dir, name.replace(".html", ".png"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        keep = os.environ.get("S3W_SCREENSHOT_DIR")  # the tmp dir goes at the end
        if keep:
            shutil.copy(path, keep)
        print(f"screenshot: {path}", file=sys.stderr)
        return result["text"]

    def test_upload_and_download_from_another_origin(self):
        content = "uploaded by a real browser " + os.urandom(8).hex()
        text = self.open_page("upload.html", "127.0.0.1", "uploads/browser/${filename}", content)
        etag = hashlib.md5(content.encode()).hexdigest()
        self.assertEqual(text, f'upload 204 etag "{etag}"; download 200: {content}')
        self.assertEqual(UP.get(BUCKET, "uploads/browser/browser.txt"), content.encode())
        self.assertTrue(PX.audit_where(lambda r: r.get("eventName") == "PostObject" and
                                       r.get("requestParameters", {}).get("key") == "uploads/browser/browser.txt"))

    def test_disallowed_origin_refused_by_the_browser(self):
        # http://localhost:PORT is another origin than http://127.0.0.1:*,
        # which the bucket's CORS rules allow
        self.dt.events.clear()
        text = self.open_page("elsewhere.html", "localhost", "uploads/elsewhere/${filename}", "nope")
        self.assertEqual(text, "blocked: TypeError: Failed to fetch")
        # and it is CORS that refused it, not the network
        cors = [e["params"]["corsErrorStatus"] for e in self.dt.events
                if e.get("method") == "Network.loadingFailed" and "corsErrorStatus" in e["params"]]
        self.assertTrue(cors, "no CORS failure among the browser's network events")
        self.assertEqual(cors[0]["corsError"], "MissingAllowOriginHeader", cors)


if __name__ == "__main__":
    main()
