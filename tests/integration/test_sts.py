#!/usr/bin/env python3
"""Local STS through real clients: `aws sts assume-role --endpoint-url` and
boto3 against s3warden, then S3 calls with the temporary credentials - the
seed 003 walkthrough (S3 developer guide, Example 4): user Dave in account C
assumes examplerole in account A (trust: account C; Dave's policy:
sts:AssumeRole on it) and reads objects in A's examplebucket; anything else
is denied. Upstream: moto_server with auth on.
"""
import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A, C, X = "111111111111", "333333333333", "444455556666"
BUCKET = "examplebucket"
ROLE = role_arn(A, "examplerole")
ROLE_ID = "AROAEXAMPLEROLE00001"

W = World()
for acct in (A, C, X):
    W.account(acct)
W.bucket(BUCKET, A)
W.role(A, "examplerole", ROLE_ID,
       policy({"Sid": "", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{C}:root"},
               "Action": "sts:AssumeRole"}),
       policies=[policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*"))])
W.role(A, "untrusted-role", "AROAUNTRUSTED0000001",
       policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{X}:root"}, "Action": "sts:AssumeRole"}),
       policies=[policy(allow("s3:*", "*"))])
DAVE = W.user(C, "Dave", "AIDADAVE000000000001", policies=[policy(allow(
    ["sts:AssumeRole"], [ROLE, role_arn(A, "untrusted-role")]))])
EVE = W.user(C, "Eve", "AIDAEVE0000000000001")
# role chaining with session tags: two roles of account A that read the
# bucket unless the session is tagged restricted=yes
NO_RESTRICTED = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/restricted": "yes"}}}
for name, rid in (("chain-1", "AROACHAIN1000000001"), ("chain-2", "AROACHAIN2000000001")):
    W.role(A, name, rid,
           policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                   "Action": ["sts:AssumeRole", "sts:TagSession"]}),
           policies=[policy(allow(["sts:AssumeRole", "sts:TagSession"], "*"),
                            allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*"), NO_RESTRICTED)])
TAGGER = W.user(A, "tagger", "AIDATAGGER0000000001", policies=[policy(
    allow(["sts:AssumeRole", "sts:TagSession"], "*"))])

UP = PX = None
PENDING = {}
DATA = os.urandom(4321)


def setUpModule():
    global UP, PX
    UP = Moto(auth=True, buckets=[BUCKET]).start()
    UP.put(BUCKET, "HappyFace.jpg", DATA)
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit), "sts").start()


def tearDownModule():
    cleanup_all()


def sts_client(key, token=None):
    if isinstance(key, Key):
        key = (key.id, key.secret)
    return boto3.client("sts", endpoint_url=PX.endpoint, region_name=REGION,
                        aws_access_key_id=key[0], aws_secret_access_key=key[1],
                        aws_session_token=token, config=Config(retries={"max_attempts": 1}))


def assume(session="test", **kw):
    c = sts_client(DAVE).assume_role(RoleArn=ROLE, RoleSessionName=session, **kw)["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]


class Walkthrough(Case):
    def test_cli_assume_role_then_s3(self):
        r = self.assertCliOk(aws(PX.endpoint, DAVE, "sts", "assume-role", "--role-arn", ROLE,
                                 "--role-session-name", "test"))
        out = json.loads(r.out)
        cred = out["Credentials"]
        self.assertTrue(cred["AccessKeyId"].startswith("ASIA"), cred["AccessKeyId"])
        self.assertEqual(out["AssumedRoleUser"]["Arn"], session_arn(A, "examplerole", "test"))
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], f"{ROLE_ID}:test")
        key = (cred["AccessKeyId"], cred["SecretAccessKey"])
        tok = cred["SessionToken"]
        d = tmpdir("sts-cli")
        dst = os.path.join(d, "SaveFileAs.jpg")
        self.assertCliOk(aws(PX.endpoint, key, "s3api", "get-object", "--bucket", BUCKET,
                             "--key", "HappyFace.jpg", dst, token=tok))
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), DATA)
        # "If you try any other action - for example, get-object-acl - you
        # will get permission denied because the role is not allowed that action."
        r = aws(PX.endpoint, key, "s3api", "get-object-acl", "--bucket", BUCKET, "--key", "HappyFace.jpg",
                token=tok)
        self.assertCliError(r, "AccessDenied", denied_message(
            session_arn(A, "examplerole", "test"), "s3:GetObjectAcl",
            f"arn:aws:s3:::{BUCKET}/HappyFace.jpg", no_allow("identity-based", "s3:GetObjectAcl")))
        before = UP.snapshot(BUCKET)
        src = os.path.join(d, "x")
        with open(src, "wb") as f:
            f.write(b"x")
        r = aws(PX.endpoint, key, "s3api", "put-object", "--bucket", BUCKET, "--key", "new", "--body", src,
                token=tok)
        self.assertCliError(r, "AccessDenied", denied_message(
            session_arn(A, "examplerole", "test"), "s3:PutObject", f"arn:aws:s3:::{BUCKET}/new",
            no_allow("identity-based", "s3:PutObject")))
        self.assertUnchanged(UP, BUCKET, before)

    def test_boto3_assume_role_then_s3_and_caller_identity(self):
        key, tok = assume("boto-session")
        s3 = PX.client(key, token=tok)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="HappyFace.jpg")["Body"].read(), DATA)
        who = sts_client(key, tok).get_caller_identity()
        self.assertEqual(who["Arn"], session_arn(A, "examplerole", "boto-session"))
        self.assertEqual(who["Account"], A)
        self.assertEqual(who["UserId"], f"{ROLE_ID}:boto-session")

    def test_caller_identity_of_user(self):
        who = sts_client(DAVE).get_caller_identity()
        self.assertEqual((who["Arn"], who["Account"], who["UserId"]),
                         (user_arn(C, "Dave"), C, "AIDADAVE000000000001"))

    def test_session_policy_narrows(self):
        sp = json.dumps(policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/other/*")))
        key, tok = assume("narrow", Policy=sp)
        self.assertClientError(lambda: PX.client(key, token=tok).get_object(Bucket=BUCKET, Key="HappyFace.jpg"),
                               "AccessDenied", denied_message(
                                   session_arn(A, "examplerole", "narrow"), "s3:GetObject",
                                   f"arn:aws:s3:::{BUCKET}/HappyFace.jpg",
                                   no_allow("session", "s3:GetObject")), 403)


def caller_arn(r):
    """The <Arn> of a GetCallerIdentity answer (None in an error)."""
    import re
    m = re.search(rb"<GetCallerIdentityResult>.*<Arn>([^<]*)</Arn>", r.body, re.S)
    return m.group(1).decode() if m else None


def sts_error(r):
    """(status, code) of an STS error answer (<ErrorResponse><Error>)."""
    import re
    m = re.search(rb"<Error>.*<Code>([^<]*)</Code>", r.body, re.S)
    return r.status, m.group(1).decode() if m else None


class QueryGet(Case):
    """The STS Query API over GET, signed for sts: a presigned URL (what
    `aws eks get-token` makes, and aws-iam-authenticator checks by sending
    it to STS, its x-k8s-aws-id header signed) or a header-signed GET. They
    were taken for S3 and refused (400 AuthorizationQueryParametersError:
    the scope's service)."""

    def get(self, url, headers=None):
        u = urllib.parse.urlparse(url)
        h = {"Host": u.netloc}
        h.update(headers or {})
        return raw(PX.endpoint, "GET", f"{u.path}?{u.query}", h)

    def test_eks_get_token(self):
        # the aws cli's own command; AWS_ENDPOINT_URL_STS points its STS client here
        env = cli_env(DAVE)
        env["AWS_ENDPOINT_URL_STS"] = PX.endpoint
        p = subprocess.run([os.path.join(PYBIN, "aws"), "eks", "get-token", "--cluster-name", "demo",
                            "--region", REGION], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        tok = json.loads(p.stdout)["status"]["token"]
        self.assertTrue(tok.startswith("k8s-aws-v1."), tok)
        b64 = tok[len("k8s-aws-v1."):]
        url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
        self.assertTrue(url.startswith(PX.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15&"), url)
        self.assertIn("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id", url)
        # what aws-iam-authenticator sends: the URL with the cluster's header
        r = self.get(url, {"x-k8s-aws-id": "demo"})
        self.assertEqual((r.status, caller_arn(r)), (200, user_arn(C, "Dave")), r)
        # the header is signed: another cluster's name, or none, is refused
        for h in ({"x-k8s-aws-id": "other"}, {}):
            self.assertEqual(sts_error(self.get(url, h)), (403, "SignatureDoesNotMatch"), h)

    def test_presigned_session_and_tampering(self):
        key, tok = assume("presigned")
        url = sts_client(key, tok).generate_presigned_url("get_caller_identity", ExpiresIn=60,
                                                          HttpMethod="GET")
        r = self.get(url)
        self.assertEqual((r.status, caller_arn(r)), (200, session_arn(A, "examplerole", "presigned")), r)
        # another action under the same signature
        self.assertEqual(sts_error(self.get(url.replace("Action=GetCallerIdentity", "Action=GetSessionToken"))),
                         (403, "SignatureDoesNotMatch"))
        # expired: X-Amz-Expires=1
        old = sts_client(key, tok).generate_presigned_url("get_caller_identity", ExpiresIn=1,
                                                          HttpMethod="GET")
        time.sleep(2)
        r = self.get(old)
        self.assertEqual(sts_error(r), (403, "AccessDenied"), r)
        self.assertIn(b"Request has expired", r.body)
        # signed for POST (boto3's default for STS), sent as a GET
        r = self.get(sts_client(key, tok).generate_presigned_url("get_caller_identity", ExpiresIn=60))
        self.assertEqual(sts_error(r), (403, "SignatureDoesNotMatch"), r)

    def test_header_signed_get(self):
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        url = f"{PX.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15"
        req = AWSRequest(method="GET", url=url)
        SigV4Auth(Credentials(DAVE.id, DAVE.secret), "sts", REGION).add_auth(req)
        r = self.get(url, dict(req.headers.items()))
        self.assertEqual((r.status, caller_arn(r)), (200, user_arn(C, "Dave")), r)
        # signed for s3 instead: an S3 request, whose query parameter
        # Action s3warden does not know (as before)
        req = AWSRequest(method="GET", url=url)
        S3SigV4Auth(Credentials(DAVE.id, DAVE.secret), "s3", REGION).add_auth(req)
        r = self.get(url, dict(req.headers.items()))
        self.assertEqual((r.status, r.code, r.message), (
            501, "NotImplemented", "s3warden does not know the query parameter 'Action', and refuses "
            "the request rather than guess which operation it selects."), r)


class RoleChainTags(Case):
    """IAM User Guide, "Chaining roles with session tags": a transitive tag
    persists through the chain and cannot be passed anew; before, the
    second session shed it, and the Deny keyed on it with it."""

    def s3_of(self, cred):
        return PX.client((cred["AccessKeyId"], cred["SecretAccessKey"]), token=cred["SessionToken"])

    def test_transitive_tag_survives_chaining(self):
        first = sts_client(TAGGER).assume_role(
            RoleArn=role_arn(A, "chain-1"), RoleSessionName="s1",
            Tags=[{"Key": "restricted", "Value": "yes"}, {"Key": "dept", "Value": "eng"}],
            TransitiveTagKeys=["restricted"])["Credentials"]
        denied = denied_message(session_arn(A, "chain-1", "s1"), "s3:GetObject",
                                f"arn:aws:s3:::{BUCKET}/HappyFace.jpg",
                                explicit("identity-based"))
        self.assertClientError(lambda: self.s3_of(first).get_object(Bucket=BUCKET, Key="HappyFace.jpg"),
                               "AccessDenied", denied, 403)
        sts1 = sts_client((first["AccessKeyId"], first["SecretAccessKey"]), first["SessionToken"])
        second = sts1.assume_role(RoleArn=role_arn(A, "chain-2"), RoleSessionName="s2")["Credentials"]
        self.assertClientError(
            lambda: self.s3_of(second).get_object(Bucket=BUCKET, Key="HappyFace.jpg"), "AccessDenied",
            denied.replace(session_arn(A, "chain-1", "s1"), session_arn(A, "chain-2", "s2")), 403)
        # the tag may not be passed anew down the chain
        sts2 = sts_client((second["AccessKeyId"], second["SecretAccessKey"]), second["SessionToken"])
        with self.assertRaises(ClientError) as cm:
            sts2.assume_role(RoleArn=role_arn(A, "chain-1"), RoleSessionName="s3",
                             Tags=[{"Key": "restricted", "Value": "no"}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValue")
        # a tag that is not transitive stays behind: chained from a session
        # tagged restricted=yes without TransitiveTagKeys, the read is allowed
        plain = sts_client(TAGGER).assume_role(
            RoleArn=role_arn(A, "chain-1"), RoleSessionName="s4",
            Tags=[{"Key": "restricted", "Value": "yes"}])["Credentials"]
        sts4 = sts_client((plain["AccessKeyId"], plain["SecretAccessKey"]), plain["SessionToken"])
        free = sts4.assume_role(RoleArn=role_arn(A, "chain-2"), RoleSessionName="s5")["Credentials"]
        self.assertEqual(self.s3_of(free).get_object(Bucket=BUCKET, Key="HappyFace.jpg")["Body"].read(), DATA)


class IssuedTokens(Case):
    def test_issued_token_not_left_in_memory(self):
        # s3warden keeps nothing of a session it issues (the token carries
        # it, sealed): once the answer is sent, no copy of the token may be
        # left in the process. A probe found one whole in freed memory, the
        # base64 of token_seal, freed without a wipe.
        tokens = [assume(f"left-{i}")[1] for i in range(3)]  # never used
        time.sleep(0.3)  # the exchanges end (and wipe) after the client has its answer
        self.assertEqual(scan_memory(PX.proc.pid, [t.encode() for t in tokens]), [])
        # and the scan sees what is there: a token in a request head it is
        # still reading
        s = socket.create_connection(("127.0.0.1", PX.port), timeout=10)
        try:
            s.sendall(f"GET /{BUCKET}/x HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: {tokens[0]}\r\n".encode())
            self.assertTrue(wait_until(lambda: scan_memory(PX.proc.pid, [tokens[0].encode()]), 5),
                            "the scan did not find a token s3warden holds")
        finally:
            s.close()


class ZNoSecretsLogged(Case):
    """Last (unittest runs classes by name): every credential issued by the
    tests above has passed through the logs by now."""
    def test_z_no_session_secret_or_token_in_logs(self):
        # runs last in the module: every issued credential so far is checked
        key, tok = assume("audit-check")
        PX.client(key, token=tok).get_object(Bucket=BUCKET, Key="HappyFace.jpg")

        def text():
            with open(PX.audit_path) as f:
                return f.read() + PX.log_text()
        # the writer's batch reaches the file a moment later
        wait_until(lambda: key[0] in text(), 10)
        text = text()
        self.assertIn(key[0], text, "the session's access key id belongs in the audit log")
        for secret in (key[1], tok, DAVE.secret, EVE.secret, UP.secret_key, STS_KEY_HEX):
            self.assertNotIn(secret, text)
        self.assertNotIn("X-Amz-Security-Token", text)


class Refusals(Case):
    def test_identity_policy_missing(self):
        e = self.assertClientError(lambda: sts_client(EVE).assume_role(RoleArn=ROLE, RoleSessionName="eve"),
                                   "AccessDenied", status=403)
        self.assertTrue(e.response["Error"]["Message"].startswith(
            f"User: {user_arn(C, 'Eve')} is not authorized to perform: sts:AssumeRole on resource: {ROLE}"),
            e.response["Error"])

    def test_refusal_codes_are_audited(self):
        # the audit record's errorCode is STS's code (it was null for every
        # STS error: the ninth probe)
        e = self.assertClientError(lambda: sts_client(EVE).assume_role(RoleArn=ROLE, RoleSessionName="x" * 65),
                                   "ValidationError", status=400)
        rid = e.response["ResponseMetadata"]["RequestId"]
        rec = PX.audit_where(lambda r: r.get("requestID") == rid)[-1]
        self.assertEqual((rec["eventName"], rec["errorCode"], rec["httpStatus"]), ("sts", "ValidationError", 400))
        e = self.assertClientError(lambda: sts_client(EVE).assume_role(RoleArn=ROLE, RoleSessionName="eve"),
                                   "AccessDenied", status=403)
        rid = e.response["ResponseMetadata"]["RequestId"]
        rec = PX.audit_where(lambda r: r.get("requestID") == rid)[-1]
        self.assertEqual((rec["errorCode"], rec["httpStatus"]), ("AccessDenied", 403))

    def test_audit_links_sessions_to_their_callers(self):
        # probe 25: the STS records named neither the role nor the session
        # nor the key issued, so a session's requests could not be traced
        # to who took it (the session name is the caller's choice)
        key, tok = assume("bob")
        PX.client(key, token=tok).get_object(Bucket=BUCKET, Key="HappyFace.jpg")
        issued = PX.audit_where(lambda r: (r.get("responseElements") or {}).get("accessKeyId") == key[0])
        self.assertEqual(len(issued), 1, issued)
        rec = issued[0]
        self.assertEqual((rec["eventName"], rec["actions"], rec["resources"]),
                         ("sts", ["sts:AssumeRole"], [ROLE]))
        self.assertEqual(rec["requestParameters"]["roleSessionName"], "bob")
        self.assertEqual((rec["userIdentity"]["arn"], rec["httpStatus"]), (user_arn(C, "Dave"), 200))
        used = PX.audit_where(lambda r: r["userIdentity"].get("accessKeyId") == key[0]
                              and r["eventName"] == "GetObject")
        self.assertEqual(used[0]["userIdentity"]["arn"], session_arn(A, "examplerole", "bob"))
        # a refusal names the role it was for, and issued nothing
        e = self.assertClientError(lambda: sts_client(EVE).assume_role(RoleArn=ROLE, RoleSessionName="eve"),
                                   "AccessDenied", status=403)
        rid = e.response["ResponseMetadata"]["RequestId"]
        rec = PX.audit_where(lambda r: r.get("requestID") == rid)[-1]
        self.assertEqual((rec["actions"], rec["resources"], rec["requestParameters"]["roleSessionName"]),
                         (["sts:AssumeRole"], [ROLE], "eve"))
        self.assertNotIn("responseElements", rec)

    def test_trust_policy_missing(self):
        e = self.assertClientError(lambda: sts_client(DAVE).assume_role(
            RoleArn=role_arn(A, "untrusted-role"), RoleSessionName="dave"), "AccessDenied", status=403)
        self.assertTrue(e.response["Error"]["Message"].startswith(
            f"User: {user_arn(C, 'Dave')} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role_arn(A, 'untrusted-role')}"), e.response["Error"])

    def test_bad_session_name(self):
        self.assertClientError(lambda: sts_client(DAVE).assume_role(RoleArn=ROLE, RoleSessionName="bad name!"),
                               "ValidationError", status=400)

    def test_forged_token(self):
        key, tok = assume("forge")
        mid = len(tok) // 2
        forged = tok[:mid] + ("A" if tok[mid] != "A" else "B") + tok[mid + 1:]
        self.assertClientError(lambda: PX.client(key, token=forged).get_object(Bucket=BUCKET, Key="HappyFace.jpg"),
                               "InvalidToken", status=400)

    def test_token_missing(self):
        key, _ = assume("notoken")
        self.assertClientError(lambda: PX.client(key).get_object(Bucket=BUCKET, Key="HappyFace.jpg"),
                               "InvalidAccessKeyId", status=403)



def reload_with_sts_keys(keys):
    """Rewrites the running server's config with these sts.keys and sends
    SIGHUP; returns once the server logged the reload as done."""
    cfg = render_config(W, UP, PX.port, PX.audit_path)
    cfg["sts"]["keys"] = keys
    done_before = PX.log_text().count("reload done")
    with open(PX.config_path, "w") as f:
        json.dump(cfg, f)
    PX.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        if PX.log_text().count("reload done") > done_before:
            return
        time.sleep(0.05)
    raise AssertionError("the reload was not applied:\n" + PX.log_tail())


class ZKeyRotation(Case):
    """Token keys rotate without shared state (issue 4): tokens sealed with
    the old key keep working while it is still listed, and are refused once
    it is removed. Runs last (Z) and restores the original keys."""

    def cli_assume(self, session):
        r = self.assertCliOk(aws(PX.endpoint, DAVE, "sts", "assume-role", "--role-arn", ROLE,
                                 "--role-session-name", session))
        c = json.loads(r.out)["Credentials"]
        return (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]

    def get(self, key, tok):
        return PX.client(key, token=tok).get_object(Bucket=BUCKET, Key="HappyFace.jpg")["Body"].read()

    def test_rotation_through_sighup(self):
        old = {"id": "it1", "key": STS_KEY_HEX, "active": True}
        new_hex = hashlib.sha256(b"s3w-it sts key 2").hexdigest()
        try:
            key1, tok1 = self.cli_assume("before-rotation")
            self.assertEqual(self.get(key1, tok1), DATA)
            # step 1: a new active key; the old one is still accepted
            reload_with_sts_keys([{"id": "it2", "key": new_hex, "active": True},
                                  dict(old, active=False)])
            key2, tok2 = self.cli_assume("after-rotation")
            self.assertNotEqual(tok1, tok2)
            self.assertEqual(self.get(key2, tok2), DATA)
            self.assertEqual(self.get(key1, tok1), DATA)
            # step 2: the old key is removed; its tokens are refused
            reload_with_sts_keys([{"id": "it2", "key": new_hex, "active": True}])
            self.assertClientError(lambda: self.get(key1, tok1), "InvalidToken", status=400)
            self.assertEqual(self.get(key2, tok2), DATA)
        finally:
            reload_with_sts_keys([old])

if __name__ == "__main__":
    main(PENDING)
