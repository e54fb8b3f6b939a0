#!/usr/bin/env python3
"""Web identity federation through s3warden's local STS (issue 15):
AssumeRoleWithWebIdentity with OpenID Connect ID tokens, end to end.

The issuer is real: nginx (Debian's) serves a discovery document and a JWKS
over HTTPS with a certificate of a test CA made here with openssl; s3warden
fetches them itself (oidc_providers[].ca_file). Tokens are RS256 JWTs
signed here with python's `cryptography`. Clients: the aws cli
(`sts assume-role-with-web-identity --endpoint-url`), and boto3 and the aws
cli picking web identity credentials up on their own from AWS_ROLE_ARN +
AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ENDPOINT_URL_STS pointing at s3warden,
then S3 calls allowed or denied by a bucket policy keyed on aws:userid.
Trust policies with StringEquals on :sub admit a Kubernetes service account
and a GitHub Actions branch and refuse others; the issuer rotates its key
(old tokens refused, new ones accepted without a restart); with the issuer
down the cached keys keep working. GetSessionToken: `aws sts
get-session-token` for an IAM user, whose temporary keys act with the
user's own policies. One prefix per user: a role whose permission policy
names ${HOST/PATH:sub} and tests aws:FederatedProvider, as AWS keeps the web
identity's keys in the session's later requests; boto3 with its session
reads and writes its own prefix and is refused another's. The JS SDK v3's
fromTokenFile does the same from the
environment, its STS client pointed at s3warden with clientConfig.endpoint
(tests/integration/js/web_identity.mjs; the SDK is installed from npm at
test time). Upstream: moto_server with auth on.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

A = "111111111111"
BUCKET = "fed-data"
K8S_SUB = "system:serviceaccount:team-a:uploader"
GH_SUB = "repo:acme/site:ref:refs/heads/main"
K8S_ROLE_ID = "AROAK8SUPLOADER00001"
GH_ROLE_ID = "AROAGHDEPLOY00000001"

NGINX_PORT = free_port()
ISSUER = f"https://127.0.0.1:{NGINX_PORT}/id/cluster1"
HOST_PATH = ISSUER[len("https://"):]
PROVIDER_ARN = f"arn:aws:iam::{A}:oidc-provider/{HOST_PATH}"
K8S_ROLE = role_arn(A, "k8s-uploader")
GH_ROLE = role_arn(A, "gh-deploy")

DIR = tmpdir("oidc")
WWW = os.path.join(DIR, "www")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def new_key(kid):
    return kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(kid, key):
    n = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64u(n.e.to_bytes(3, "big"))}


def token(kidkey, sub, aud="sts.amazonaws.com", lifetime=600, **claims):
    kid, key = kidkey
    now = int(time.time())
    body = {"iss": ISSUER, "sub": sub, "aud": aud, "iat": now, "exp": now + lifetime}
    body.update(claims)
    h = b64u(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    p = b64u(json.dumps(body).encode())
    sig = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{h}.{p}.{b64u(sig)}"


def publish(*kidkeys):
    """The issuer's documents: discovery and the JWKS with these keys."""
    d = os.path.join(WWW, "id", "cluster1", ".well-known")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "openid-configuration"), "w") as f:
        json.dump({"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys",
                   "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                   "id_token_signing_alg_values_supported": ["RS256"]}, f)
    with open(os.path.join(WWW, "id", "cluster1", "keys"), "w") as f:
        json.dump({"keys": [jwk(k, key) for k, key in kidkeys]}, f)


def make_ca():
    """A test CA and a certificate for 127.0.0.1 it signs (openssl)."""
    run = lambda *a: subprocess.run(["openssl"] + list(a), cwd=DIR, check=True,
                                    capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=s3warden oidc test CA", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=127.0.0.1")
    with open(os.path.join(DIR, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")


class Nginx:
    def __init__(self):
        self.proc = None

    def start(self):
        conf = os.path.join(DIR, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process off; worker_processes 1;
pid {DIR}/nginx.pid; error_log {DIR}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log {DIR}/nginx-access.log;
  client_body_temp_path {DIR}/tmp; proxy_temp_path {DIR}/tmp; fastcgi_temp_path {DIR}/tmp;
  uwsgi_temp_path {DIR}/tmp; scgi_temp_path {DIR}/tmp;
  server {{
    listen 127.0.0.1:{NGINX_PORT} ssl;
    ssl_certificate {DIR}/srv.pem; ssl_certificate_key {DIR}/srv.key;
    root {WWW};
    default_type application/json;
    add_header Cache-Control "max-age=3600";
  }}
}}
""")
        os.makedirs(os.path.join(DIR, "tmp"), exist_ok=True)
        self.proc = subprocess.Popen(["nginx", "-p", DIR, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        on_cleanup(self.stop)
        ok = wait_until(lambda: curl("--cacert", os.path.join(DIR, "ca.pem"), "-o", "/dev/null",
                                     "-w", "%{http_code}",
                                     f"{ISSUER}/.well-known/openid-configuration").stdout == b"200",
                        timeout=10)
        assert ok, "nginx did not serve the discovery document"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def trust(sub, extra=None):
    st = {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
          "Action": "sts:AssumeRoleWithWebIdentity",
          "Condition": {"StringEquals": {f"{HOST_PATH}:sub": sub,
                                         f"{HOST_PATH}:aud": "sts.amazonaws.com"}}}
    if extra:
        st.update(extra)
    return policy(st)


W = World()
W.account(A)
W.bucket(BUCKET, A, policy=policy(
    {"Sid": "UploaderSessions", "Effect": "Allow", "Principal": "*",
     "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*",
     "Condition": {"StringLike": {"aws:userid": f"{K8S_ROLE_ID}:*"}}},
    {"Sid": "DenyOthers", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
     "Condition": {"StringNotLike": {"aws:userid": [f"{K8S_ROLE_ID}:*"]}}}))
W.role(A, "k8s-uploader", K8S_ROLE_ID, trust(K8S_SUB))
W.role(A, "gh-deploy", GH_ROLE_ID, trust(GH_SUB), policies=[policy(allow("s3:*", "*"))])
# One prefix per user ("Identifying users with web identity federation"):
# ${HOST/PATH:sub} in the role's permission policy, aws:FederatedProvider
# in a condition; no bucket policy (same account: the role's policy decides)
HOME = W.bucket("fed-home", A)
SUB_VAR = "${" + HOST_PATH + ":sub}"
PER_USER_ROLE = W.role(A, "per-user", "AROAPERUSER000000001", policy(
    {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
     "Action": "sts:AssumeRoleWithWebIdentity",
     "Condition": {"StringLike": {f"{HOST_PATH}:sub": "user-*"},
                   "StringEquals": {f"{HOST_PATH}:aud": "sts.amazonaws.com"}}}),
    policies=[policy(
        {"Sid": "OwnPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{HOME}/{SUB_VAR}/*"},
        {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{HOME}",
         "Condition": {"StringLike": {"s3:prefix": f"{SUB_VAR}/*"}}},
        {"Sid": "SharedForFederated", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{HOME}/shared/*",
         "Condition": {"StringEquals": {"aws:FederatedProvider": PROVIDER_ARN}}})])
# GetSessionToken: a user whose own policy reads one bucket
GST_BUCKET = W.bucket("gst-data", A)
DEV = W.user(A, "dev", "AIDADEV0000000000001",
             policies=[policy(allow("s3:GetObject", f"arn:aws:s3:::{GST_BUCKET}/*"))])

UP = PX = NGX = None
KEY1 = new_key("key-2026-1")
KEY2 = new_key("key-2026-2")


def config(port, audit):
    cfg = render_config(W, UP, port, audit)
    cfg["oidc_providers"] = [{"account": A, "url": ISSUER, "client_ids": ["sts.amazonaws.com"],
                              "ca_file": os.path.join(DIR, "ca.pem"), "leeway_seconds": 30}]
    return cfg


def setUpModule():
    global UP, PX, NGX
    if not shutil.which("nginx"):
        raise unittest.SkipTest("nginx is not installed (deploy/install-deps.sh installs it)")
    make_ca()
    publish(KEY1)
    NGX = Nginx().start()
    UP = Moto(auth=True, buckets=[BUCKET, GST_BUCKET, HOME]).start()
    UP.put(BUCKET, "hello.txt", b"hello from the bucket")
    for k in ("user-alice/notes.txt", "user-bob/notes.txt", "shared/readme.txt"):
        UP.put(HOME, k, k.encode())
    UP.put(GST_BUCKET, "report.csv", b"a,b\n1,2\n")
    PX = Proxy(config, "oidc").start()
    # the fetcher starts at once; wait for its first success
    assert wait_until(lambda: "signing keys fetched" in PX.log_text(), timeout=15), PX.log_tail()


def tearDownModule():
    cleanup_all()


def sts_unsigned():
    return boto3.client("sts", endpoint_url=PX.endpoint, region_name=REGION,
                        config=Config(signature_version=botocore.UNSIGNED,
                                      retries={"max_attempts": 1}))


def wi(role, tok, session="s1", client=None):
    return (client or sts_unsigned()).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName=session, WebIdentityToken=tok)


def cli_wi(role, tok, session="cli1"):
    return aws(PX.endpoint, None, "sts", "assume-role-with-web-identity", "--role-arn", role,
               "--role-session-name", session, "--web-identity-token", tok)


def token_file(tok):
    path = os.path.join(DIR, f"token-{time.time_ns()}")
    with open(path, "w") as f:
        f.write(tok)
    return path


class WebIdentity(Case):
    def test_cli_assume_role_with_web_identity_then_s3(self):
        r = self.assertCliOk(cli_wi(K8S_ROLE, token(KEY1, K8S_SUB)))
        out = json.loads(r.out)
        self.assertEqual(out["SubjectFromWebIdentityToken"], K8S_SUB)
        self.assertEqual(out["Audience"], "sts.amazonaws.com")
        self.assertEqual(out["Provider"], HOST_PATH)
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], f"{K8S_ROLE_ID}:cli1")
        self.assertEqual(out["AssumedRoleUser"]["Arn"], session_arn(A, "k8s-uploader", "cli1"))
        c = out["Credentials"]
        s3 = PX.client((c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read(),
                         b"hello from the bucket")
        # the audit record names the provider, sub and aud - never the token
        recs = PX.audit_where(lambda a: a.get("eventName") == "sts" and
                              a["userIdentity"].get("webIdFederationData"))
        self.assertTrue(recs, PX.audit()[-3:])
        self.assertEqual(recs[-1]["userIdentity"]["webIdFederationData"],
                         {"federatedProvider": PROVIDER_ARN,
                          "attributes": {"sub": K8S_SUB, "aud": "sts.amazonaws.com"}})
        with open(PX.audit_path) as f:
            self.assertNotIn("eyJ", f.read())

    def test_sdk_and_cli_pick_up_web_identity_env(self):
        env_tok = token_file(token(KEY1, K8S_SUB))
        env = cli_env()
        env.update(AWS_ROLE_ARN=K8S_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=env_tok,
                   AWS_ROLE_SESSION_NAME="pod-7f9c", AWS_ENDPOINT_URL_STS=PX.endpoint)
        # the aws cli: allowed and denied by the bucket policy on aws:userid
        cmd = ["aws", "--endpoint-url", PX.endpoint, "s3api"]
        p = subprocess.run(cmd + ["get-object", "--bucket", BUCKET, "--key", "hello.txt",
                                  os.path.join(DIR, "got.txt")], env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(DIR, "got.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello from the bucket")
        p = subprocess.run(cmd + ["list-objects-v2", "--bucket", BUCKET], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("AccessDenied", p.stderr)
        # boto3 in a child with the same environment
        code = ("import boto3, sys\n"
                f"s3 = boto3.client('s3', endpoint_url='{PX.endpoint}', region_name='{REGION}')\n"
                f"s3.put_object(Bucket='{BUCKET}', Key='from-pod.txt', Body=b'pod data')\n"
                "print(boto3.client('sts').get_caller_identity()['UserId'])\n"
                "try:\n"
                f"    s3.delete_object(Bucket='{BUCKET}', Key='hello.txt')\n"
                "except Exception as e:\n"
                "    print(e.response['Error']['Code'])\n")
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), [f"{K8S_ROLE_ID}:pod-7f9c", "AccessDenied"])
        self.assertEqual(UP.get(BUCKET, "from-pod.txt"), b"pod data")

    def test_js_sdk_from_token_file(self):
        """The JS SDK v3's fromTokenFile, its STS client pointed at s3warden."""
        js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
        need = ["@aws-sdk/client-s3", "@aws-sdk/credential-providers"]
        if not all(os.path.isdir(os.path.join(js, "node_modules", n)) for n in need):
            p = subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund"] + need,
                               cwd=js, capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, "npm install failed: " + p.stderr[-2000:])
        env = cli_env()
        env.update(AWS_ROLE_ARN=K8S_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=token_file(token(KEY1, K8S_SUB)),
                   AWS_ROLE_SESSION_NAME="js-pod", AWS_REGION=REGION, S3W_ENDPOINT=PX.endpoint,
                   S3W_BUCKET=BUCKET, S3W_KEY="hello.txt", S3W_DENIED_KEY="hello.txt")
        p = subprocess.run(["node", os.path.join(js, "web_identity.mjs")], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["get"], {"ok": True,
                                      "body": base64.b64encode(b"hello from the bucket").decode()})
        arn = session_arn(A, "k8s-uploader", "js-pod")
        self.assertEqual(out["delete"], {
            "ok": False, "name": "AccessDenied", "code": "AccessDenied", "status": 403,
            "message": denied_message(arn, "s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/hello.txt",
                                      no_allow("identity-based", "s3:DeleteObject"))})
        self.assertEqual(UP.get(BUCKET, "hello.txt"), b"hello from the bucket")
        c = out["credentials"]
        self.assertTrue(c["ok"] and c["hasSessionToken"] and c["accessKeyId"].startswith("ASIA"), c)
        self.assertEqual(c["accountId"], A)
        # s3warden issued the session (not AWS): the JS SDK's own STS call is
        # audited with the web identity, and the S3 calls carry the
        # session's aws:userid
        sts = PX.audit_where(lambda a: a.get("eventName") == "sts" and
                             a["userIdentity"].get("webIdFederationData") and
                             (a.get("userAgent") or "").startswith("aws-sdk-js/"))
        self.assertTrue(sts, PX.audit()[-3:])
        self.assertEqual(sts[-1]["userIdentity"]["webIdFederationData"],
                         {"federatedProvider": PROVIDER_ARN,
                          "attributes": {"sub": K8S_SUB, "aud": "sts.amazonaws.com"}})
        for op, decision in (("GetObject", "Allowed"), ("DeleteObject", "ImplicitlyDenied")):
            recs = PX.audit_where(lambda a: a.get("eventName") == op and
                                  a["userIdentity"].get("accessKeyId") == c["accessKeyId"])
            self.assertTrue(recs, PX.audit()[-3:])
            ui = recs[-1]["userIdentity"]
            self.assertEqual((ui["principalId"], ui["arn"]), (f"{K8S_ROLE_ID}:js-pod", arn))
            self.assertEqual(recs[-1]["requestContext"]["aws:userid"], f"{K8S_ROLE_ID}:js-pod")
            self.assertEqual(recs[-1]["decision"], decision, recs[-1])

    def test_sub_admits_one_subject_refuses_another(self):
        self.assertEqual(wi(GH_ROLE, token(KEY1, GH_SUB))["AssumedRoleUser"]["AssumedRoleId"],
                         f"{GH_ROLE_ID}:s1")
        for role, sub in ((GH_ROLE, "repo:acme/site:ref:refs/heads/feature-x"),
                          (GH_ROLE, "repo:evil/site:ref:refs/heads/main"),
                          (K8S_ROLE, "system:serviceaccount:team-b:uploader"),
                          (K8S_ROLE, GH_SUB)):
            self.assertClientError(lambda: wi(role, token(KEY1, sub)), "AccessDenied",
                                   "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                                   status=403)
        # the session of the GitHub role is denied by the bucket's policy
        c = wi(GH_ROLE, token(KEY1, GH_SUB))["Credentials"]
        s3 = PX.client((c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        self.assertClientError(lambda: s3.get_object(Bucket=BUCKET, Key="hello.txt"),
                               "AccessDenied")

    def test_per_user_prefix_from_sub(self):
        """${HOST/PATH:sub} in the role's policy: each user's own prefix."""
        creds = {}
        for who in ("alice", "bob"):
            r = wi(PER_USER_ROLE, token(KEY1, f"user-{who}"), session=f"web-{who}")
            self.assertEqual(r["SubjectFromWebIdentityToken"], f"user-{who}")
            c = r["Credentials"]
            creds[who] = PX.client((c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
        alice = creds["alice"]
        self.assertEqual(alice.get_object(Bucket=HOME, Key="user-alice/notes.txt")["Body"].read(),
                         b"user-alice/notes.txt")
        alice.put_object(Bucket=HOME, Key="user-alice/new.txt", Body=b"alice wrote")
        self.assertEqual(UP.get(HOME, "user-alice/new.txt"), b"alice wrote")
        # (listing her own "user-alice/" is allowed too - config/test_sts_oidc
        # - but moto with auth on refuses any correctly signed prefix=dir/,
        # deploy/upstreams/moto.sh; another's prefix is refused before it)
        # aws:FederatedProvider in a condition
        self.assertEqual(alice.get_object(Bucket=HOME, Key="shared/readme.txt")["Body"].read(),
                         b"shared/readme.txt")
        # another user's prefix: refused, for reading, writing and listing
        arn = session_arn(A, "per-user", "web-alice")
        for fn, action, res in (
                (lambda: alice.get_object(Bucket=HOME, Key="user-bob/notes.txt"),
                 "s3:GetObject", f"arn:aws:s3:::{HOME}/user-bob/notes.txt"),
                (lambda: alice.put_object(Bucket=HOME, Key="user-bob/x.txt", Body=b"x"),
                 "s3:PutObject", f"arn:aws:s3:::{HOME}/user-bob/x.txt"),
                (lambda: alice.list_objects_v2(Bucket=HOME, Prefix="user-bob/"),
                 "s3:ListBucket", f"arn:aws:s3:::{HOME}")):
            self.assertClientError(fn, "AccessDenied",
                                   denied_message(arn, action, res, no_allow("identity-based", action)),
                                   status=403)
        self.assertIsNone(UP.get(HOME, "user-bob/x.txt"))
        # and bob reads his own, not alice's
        self.assertEqual(creds["bob"].get_object(Bucket=HOME, Key="user-bob/notes.txt")["Body"].read(),
                         b"user-bob/notes.txt")
        self.assertClientError(lambda: creds["bob"].get_object(Bucket=HOME, Key="user-alice/notes.txt"),
                               "AccessDenied", status=403)

    def test_token_refusals(self):
        self.assertClientError(lambda: wi(K8S_ROLE, token(KEY1, K8S_SUB, aud="other")),
                               "InvalidIdentityToken", "Incorrect token audience", status=400)
        self.assertClientError(lambda: wi(K8S_ROLE, token(KEY1, K8S_SUB, lifetime=-120)),
                               "ExpiredTokenException", "Token expired", status=400)
        forged = new_key("key-2026-1")  # the right kid, another key
        self.assertClientError(lambda: wi(K8S_ROLE, token(forged, K8S_SUB)),
                               "InvalidIdentityToken", "the token's signature does not verify")
        # a GET with the parameters in the query, unsigned, as STS takes it
        q = urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                    "RoleArn": K8S_ROLE, "RoleSessionName": "get1",
                                    "WebIdentityToken": token(KEY1, K8S_SUB)})
        p = curl("-i", f"{PX.endpoint}/?{q}")
        self.assertIn(b"200 OK", p.stdout.split(b"\r\n")[0])
        self.assertIn(f"<AssumedRoleId>{K8S_ROLE_ID}:get1</AssumedRoleId>".encode(), p.stdout)
        # unsigned, nothing else is answered
        p = curl("-X", "POST", "-d", f"Action=AssumeRole&RoleArn={K8S_ROLE}&RoleSessionName=x1",
                 f"{PX.endpoint}/")
        self.assertIn(b"<Code>MissingAuthenticationToken</Code>", p.stdout)

    def test_y_rotation_right_after_the_scheduled_fetch(self):
        # a key rotated in at the issuer a moment after s3warden's
        # scheduled fetch (here: its first, at start): the token naming it
        # is answered IDPCommunicationError, retryable, and the fetch for it
        # comes once OIDC_KID_WAIT has passed since the last one, not
        # refused as unknown until the next scheduled fetch
        stranger = new_key("key-2026-9")  # a kid the issuer never publishes
        px = Proxy(config, "oidc-fresh")
        # made before s3warden starts (a client takes a while to make), and
        # with no retry: botocore retries IDPCommunicationError for STS, and
        # "max_attempts": 1 is one retry, which could land past the window
        sts = boto3.client("sts", endpoint_url=px.endpoint, region_name=REGION,
                           config=Config(signature_version=botocore.UNSIGNED,
                                         retries={"total_max_attempts": 1}))
        px.start()
        self.assertTrue(wait_until(lambda: "signing keys fetched" in px.log_text(), 15), px.log_tail())
        started = time.time()  # a moment after the first fetch ended
        try:
            publish(KEY1, KEY2)
            e = self.assertClientError(lambda: wi(K8S_ROLE, token(KEY2, K8S_SUB), client=sts),
                                       "IDPCommunicationError", status=400)
            # well within the first fetch's window (else the old rule, a
            # fetch at once, answers the same and this shows nothing)
            self.assertLess(time.time() - started, OIDC_KID_REFETCH_S - 1, e.response)
            got = wait_until(lambda: (lambda r: r if "Credentials" in r else None)(
                self.try_wi(sts)), OIDC_KID_WAIT + 5, step=0.5)
            self.assertIsNotNone(got, px.log_tail())
            # the fetch for it waited for the window: no sooner than 5 s
            # after the first ended (less the moment before `started`)
            self.assertGreater(time.time() - started, OIDC_KID_REFETCH_S - 1.5)
            # and within the window of that kid fetch, an unknown kid is
            # refused as unknown, not made to wait for another fetch
            self.assertClientError(lambda: wi(K8S_ROLE, token(stranger, K8S_SUB), client=sts),
                                   "InvalidIdentityToken",
                                   "no signing key of the provider matches the token's kid", 400)
        finally:
            publish(KEY1)
            px.stop()

    def try_wi(self, client):
        try:
            return wi(K8S_ROLE, token(KEY2, K8S_SUB), client=client)
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "IDPCommunicationError", e.response)
            return {}

    def test_z_rotation_then_issuer_down(self):
        old = token(KEY1, K8S_SUB)
        wi(K8S_ROLE, old)
        # the issuer rotates: key 2 only. A token of the new key names a kid
        # s3warden lacks: it fetches again (the SDK's retry of
        # IDPCommunicationError then succeeds), without a restart
        publish(KEY2)
        new = token(KEY2, K8S_SUB)
        sts = boto3.client("sts", endpoint_url=PX.endpoint, region_name=REGION,
                           config=Config(signature_version=botocore.UNSIGNED,
                                         retries={"max_attempts": 5, "mode": "standard"}))
        got = None
        for _ in range(20):
            try:
                got = wi(K8S_ROLE, new, client=sts)
                break
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "IDPCommunicationError")
                time.sleep(0.5)
        self.assertIsNotNone(got, PX.log_tail())
        # the old key is gone: old tokens are refused (after the rate limit,
        # as unknown; before it, as retryable)
        time.sleep(OIDC_KID_WAIT)
        err = None
        for _ in range(3):
            try:
                wi(K8S_ROLE, old)
            except ClientError as e:
                err = e.response["Error"]
                if err["Code"] == "InvalidIdentityToken":
                    break
                time.sleep(OIDC_KID_WAIT)
        self.assertEqual(err["Code"], "InvalidIdentityToken", err)
        self.assertEqual(err["Message"], "no signing key of the provider matches the token's kid")
        # the issuer goes down: the cached keys keep working
        NGX.stop()
        self.assertEqual(wi(K8S_ROLE, token(KEY2, K8S_SUB))["SubjectFromWebIdentityToken"],
                         K8S_SUB)


class SessionToken(Case):
    def test_get_session_token_acts_as_the_user(self):
        r = self.assertCliOk(aws(PX.endpoint, DEV, "sts", "get-session-token",
                                 "--duration-seconds", "900"))
        c = json.loads(r.out)["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"), c)
        key, tok = (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]
        s3 = PX.client(key, tok)
        self.assertEqual(s3.get_object(Bucket=GST_BUCKET, Key="report.csv")["Body"].read(),
                         b"a,b\n1,2\n")
        # the user's own policies: no PutObject
        self.assertClientError(lambda: s3.put_object(Bucket=GST_BUCKET, Key="x", Body=b"x"),
                               "AccessDenied")
        sts = boto3.client("sts", endpoint_url=PX.endpoint, region_name=REGION,
                           aws_access_key_id=key[0], aws_secret_access_key=key[1],
                           aws_session_token=tok, config=Config(retries={"max_attempts": 1}))
        self.assertEqual(sts.get_caller_identity()["Arn"], user_arn(A, "dev"))
        self.assertClientError(lambda: sts.get_session_token(), "AccessDenied",
                               "Cannot call GetSessionToken with session credentials", status=403)
        self.assertCliError(aws(PX.endpoint, DEV, "sts", "get-session-token", "--duration-seconds",
                                "129601"), "ValidationError",
                            "1 validation error detected: Value '129601' at 'durationSeconds' "
                            "failed to satisfy constraint: Member must have value less than or "
                            "equal to 129600")


OIDC_KID_REFETCH_S = 5.0  # proxy/oidc_schedule.h OIDC_KID_REFETCH_MS
OIDC_KID_WAIT = OIDC_KID_REFETCH_S + 0.5  # and a margin


class NoKeys(Case):
    def test_no_jwks_ever_is_idp_communication_error(self):
        """A provider whose issuer never answered: no keys at all."""
        port = free_port()
        issuer = f"https://127.0.0.1:{port}/nobody"
        hp = issuer[len("https://"):]

        def cfg(p, audit):
            c = config(p, audit)
            c["oidc_providers"].append({"account": A, "url": issuer,
                                        "client_ids": ["sts.amazonaws.com"],
                                        "ca_file": os.path.join(DIR, "ca.pem")})
            c["roles"].append({"account": A, "name": "nobody-role", "unique_id": "AROANOBODY0000000001",
                               "trust_policy": policy({
                                   "Effect": "Allow",
                                   "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/{hp}"},
                                   "Action": "sts:AssumeRoleWithWebIdentity",
                                   "Condition": {"StringEquals": {f"{hp}:sub": "x"}}})})
            return c
        px = Proxy(cfg, "oidc-nokeys").start()
        kid, key = KEY1
        now = int(time.time())
        body = {"iss": issuer, "sub": "x", "aud": "sts.amazonaws.com", "iat": now, "exp": now + 600}
        h = b64u(json.dumps({"alg": "RS256", "kid": kid}).encode())
        p = b64u(json.dumps(body).encode())
        sig = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
        tok = f"{h}.{p}.{b64u(sig)}"
        sts = boto3.client("sts", endpoint_url=px.endpoint, region_name=REGION,
                           config=Config(signature_version=botocore.UNSIGNED,
                                         retries={"max_attempts": 1}))
        self.assertClientError(
            lambda: sts.assume_role_with_web_identity(
                RoleArn=role_arn(A, "nobody-role"), RoleSessionName="s1", WebIdentityToken=tok),
            "IDPCommunicationError",
            "Couldn't retrieve verification key from your identity provider, please reference "
            "AssumeRoleWithWebIdentity documentation for requirements", status=400)
        px.stop()


if __name__ == "__main__":
    main()
