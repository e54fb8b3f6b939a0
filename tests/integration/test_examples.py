#!/usr/bin/env python3
"""The seed example configs as shipped (deploy/examples/seed*.json) through
real clients: each example runs in its own s3warden in front of one moto
(auth off; every example bucket created there), with only what a deployment
changes rewritten: the listener port, the upstream endpoint (region
us-east-1, which the clients sign with), the proxy's own upstream key and
the audit file. Identities, keys and policies are the example's own.

The expected outcomes below are worked out by hand from the seeds (shared/
seeds/) and AWS's evaluation logic (IAM-SEMANTICS.md), never taken from
s3warden: "allow", or ("deny", "explicit" | "implicit").
"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

EXAMPLES = os.path.join(ROOT, "deploy", "examples")
ALLOW, EXPLICIT, IMPLICIT = "allow", "explicit", "implicit"

# (example file, access key id, operation, bucket, key, expected)
CASES = {
    "seed000-ec2-instance-role.json": [
        # role id pattern "AROAROLEAEXAMPLE0001:*": any instance of RoleA
        ("AKIAINSTANCEA0000001", "put", "bucket-b-by-role-id", "i1.txt", ALLOW),
        ("AKIAINSTANCEA0000002", "put", "bucket-b-by-role-id", "i2.txt", ALLOW),
        ("AKIAINSTANCEA0000002", "list", "bucket-b-by-role-id", "", ALLOW),
        # instance id pattern "*:i-0a1b2c3d4e5f60001": only that instance
        ("AKIAINSTANCEA0000001", "get", "bucket-b-by-instance-id", "x.txt", ALLOW),
        ("AKIAINSTANCEA0000002", "get", "bucket-b-by-instance-id", "x.txt", IMPLICIT),
        # Deny NotPrincipal [role, session ...0001, account]: session 0002 is
        # not exempt (NotPrincipal needs the assumed-role ARN, seed 002)
        ("AKIAINSTANCEA0000001", "put", "bucket-b-deny-except-role", "ok.txt", ALLOW),
        ("AKIAINSTANCEA0000002", "put", "bucket-b-deny-except-role", "no.txt", EXPLICIT),
    ],
    "seed001-cross-account-role.json": [
        ("AKIAEC2INSTANCEB0001", "put", "mybucket2share", "mytestfile.txt", ALLOW),
        ("AKIAEC2INSTANCEB0001", "list", "mybucket2share", "", ALLOW),
        ("AKIAEC2INSTANCEB0001", "get", "mybucket2share", "mytestfile.txt", ALLOW),
    ],
    "seed002-restrict-to-role.json": [
        # Deny unless aws:userId is AROAEXAMPLEID:*, AIDAEXAMPLEID or the account
        ("AKIAADMIN00000000001", "get", "myexamplebucket", "k.txt", EXPLICIT),
        ("AKIAADMIN00000000001", "put", "myexamplebucket", "k2.txt", EXPLICIT),
        ("AKIAADMIN00000000001", "put", "otherbucket", "k.txt", ALLOW),
        ("AKIAALLOWEDUSER00001", "put", "myexamplebucket", "user.txt", ALLOW),
        ("AKIAROLESESSION00001", "put", "myexamplebucket", "role.txt", ALLOW),
        ("AKIAROLESESSION00001", "list", "myexamplebucket", "", ALLOW),
        ("AKIAROOT111111111111", "get", "myexamplebucket", "role.txt", ALLOW),
    ],
    "seed003-assume-role-cross-account.json": [
        # Sid 112: AccountBadmin's PutObject without the full-control grant
        ("AKIAACCOUNTBADMIN001", "put", "examplebucket", "NoGrant.jpg", EXPLICIT),
        ("AKIAACCOUNTAADMIN001", "put", "examplebucket", "HappyFace.jpg", ALLOW),
    ],
    "seed004-delegate-to-account.json": [
        ("AKIALISTEREXAMPLE001", "list", "mybucket", "", ALLOW),
        ("AKIALISTEREXAMPLE001", "get", "mybucket", "doc.txt", IMPLICIT),
        ("AKIAWRITEREXAMPLE001", "put", "mybucket", "w.txt", ALLOW),
        ("AKIAWRITEREXAMPLE001", "put", "mybucket-denied", "w.txt", EXPLICIT),
        ("AKIAWRITEREXAMPLE001", "get", "mybucket-denied", "doc.txt", EXPLICIT),
    ],
}
PENDING = {}
UP = None


def setUpModule():
    global UP
    buckets = set()
    for path in glob.glob(os.path.join(EXAMPLES, "seed*.json")):
        with open(path) as f:
            buckets |= {b.get("upstream_name", b["name"]) for b in json.load(f).get("buckets", [])}
    UP = Moto(auth=False, buckets=sorted(buckets)).start()


def tearDownModule():
    cleanup_all()


def load_example(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return json.load(f)


def keys_of(cfg):
    """access key id -> secret, for every kind of identity in the example."""
    out = {}
    for a in cfg.get("accounts", []):
        out.update({k["id"]: k.get("secret") for k in a.get("access_keys", [])})
    for u in cfg.get("users", []):
        out.update({k["id"]: k.get("secret") for k in u.get("access_keys", [])})
    for s in cfg.get("role_sessions", []):
        out[s["access_key_id"]] = s.get("secret")
    return out


def deployed(cfg, port, audit):
    cfg = json.loads(json.dumps(cfg))
    cfg["listeners"] = [{"address": "127.0.0.1", "port": port}]
    cfg["upstream"] = dict(cfg["upstream"], endpoint=UP.endpoint, region=REGION)
    cfg["credentials"] = {"chain": [{"type": "static", "access_key_id": UP.access_key, "secret": UP.secret_key}]}
    cfg["audit"] = {"output": audit}
    return cfg


class Examples(Case):
    def run_example(self, name):
        cfg = load_example(name)
        self.assertEqual(sorted(os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "seed*.json"))),
                         sorted(CASES), "every seed example has cases here")
        px = Proxy(lambda port, audit: deployed(cfg, port, audit), name.split("-")[0]).start()
        keys = keys_of(cfg)
        try:
            for akid, op, bucket, key, expect in CASES[name]:
                with self.subTest(key_id=akid, op=op, bucket=bucket, key=key, expect=expect):
                    self.assertIn(akid, keys, "the example no longer has this key")
                    s3 = px.client((akid, keys[akid]))
                    if op == "get":
                        UP.put(bucket, key, b"example " + key.encode())
                    before = UP.snapshot(bucket)
                    data = os.urandom(256)
                    call = {"put": lambda: s3.put_object(Bucket=bucket, Key=key, Body=data),
                            "get": lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                            "list": lambda: s3.list_objects_v2(Bucket=bucket)}[op]
                    if expect == ALLOW:
                        got = call()
                        if op == "put":
                            self.assertStored(UP, bucket, key, data)
                        elif op == "get":
                            self.assertEqual(got, b"example " + key.encode())
                    else:
                        e = self.assertClientError(call, "AccessDenied", status=403)
                        msg = e.response["Error"]["Message"]
                        if msg != "Access Denied":  # S3's detail is optional cross-account
                            self.assertIn("with an explicit deny in" if expect == EXPLICIT else "because no ", msg)
                        self.assertUnchanged(UP, bucket, before)
        finally:
            px.stop()

    def test_seed000(self):
        self.run_example("seed000-ec2-instance-role.json")

    def test_seed001(self):
        self.run_example("seed001-cross-account-role.json")

    def test_seed002(self):
        self.run_example("seed002-restrict-to-role.json")

    def test_seed003(self):
        self.run_example("seed003-assume-role-cross-account.json")

    def test_seed004(self):
        self.run_example("seed004-delegate-to-account.json")


if __name__ == "__main__":
    main(PENDING)
