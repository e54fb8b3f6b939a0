#!/usr/bin/env python3
"""Every seed scenario (../shared/seeds/; deploy/examples/ ships them as configs,
exercised by test_examples.py) allowed
and denied through real clients (aws cli, boto3), s3warden in front of
moto_server (auth off, see setUpModule).

Accounts: 111111111111 (A), 222222222222 (B), 333333333333 (C) as in the
seeds; 111122223333 is seed 004's "account B", 444455556666 the owner of its
bucket. Unique ids are made up in AWS's shapes (AIDA.../AROA...).

Each test names its seed and section. After each allowed write the object is
read straight from moto; after each denial the bucket listing on moto is
compared with the one taken before. Denial messages are AWS's S3 form
(IAM-SEMANTICS.md 7.3); S3 gives that detail only within an account, so a
cross-account denial may also be the generic "Access Denied".
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A, B, C = "111111111111", "222222222222", "333333333333"
P4, O4 = "111122223333", "444455556666"
EC2_TRUST = policy({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole"})


def res(bucket):
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


W = World()
for acct in (A, B, C, P4, O4):
    W.account(acct)

# ---- seed 000: aws:userid = role-id:instance-id in a bucket policy -------------
S0_ROLE_ID, S0_OTHER_ID = "AROAAPPROLE000000001", "AROAOTHERAPP00000001"
S0_INSTANCE = "i-0aaaabbbbccccdddd"
W.role(A, "app-role", S0_ROLE_ID, EC2_TRUST,
       policies=[policy(allow("s3:*", res("seed000-shared") + res("seed000-locked")))])
W.role(A, "other-app", S0_OTHER_ID, EC2_TRUST,
       policies=[policy(allow("s3:*", res("seed000-shared") + res("seed000-locked")))])
S0_APP = W.session("app-role", "i-0123456789abcdef0")
S0_OTHER_ON_INSTANCE = W.session("other-app", S0_INSTANCE)
S0_OTHER = W.session("other-app", "i-0eeeeffff00001111")
W.bucket("seed000-shared", B, policy(
    {"Sid": "SID123", "Effect": "Allow", "Principal": "*",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": res("seed000-shared"),
     "Condition": {"StringLike": {"aws:userid": [f"{S0_ROLE_ID}:*"]}}},
    {"Sid": "ByInstance", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
     "Resource": res("seed000-shared"),
     "Condition": {"StringLike": {"aws:userid": [f"*:{S0_INSTANCE}"]}}}))
W.bucket("seed000-locked", A, policy(
    {"Sid": "RestrictedAccess", "Effect": "Deny",
     "NotPrincipal": {"AWS": [role_arn(A, "app-role"),
                              session_arn(A, "app-role", "i-0123456789abcdef0"),
                              f"arn:aws:iam::{A}:root"]},
     "Action": "s3:*", "Resource": res("seed000-locked")}))

# ---- seed 001: cross-account bucket access via an EC2 role ---------------------
S1_BUCKET = "mybucket2share"
S1_ROLE = "ec2role2accessmybucket2share"
W.role(B, S1_ROLE, "AROAEC2ROLE000000001", EC2_TRUST, policies=[policy(allow(
    "s3:*", res(S1_BUCKET) + res("mybucket2share-objonly") + res("mybucket2share-typo")))])
W.role(B, "ec2role-nopolicy", "AROANOPOLICY00000001", EC2_TRUST)
S1_EC2 = W.session(S1_ROLE, "i-0b10b10b10b10b10b")
S1_NOPOL = W.session("ec2role-nopolicy", "i-0c20c20c20c20c20c")
W.bucket(S1_BUCKET, A, policy({"Effect": "Allow", "Principal": {"AWS": [
    role_arn(B, S1_ROLE), role_arn(B, "ec2role-nopolicy")]}, "Action": ["s3:*"],
    "Resource": res(S1_BUCKET)}))
# The blog's policy as printed (object ARN only): objects yes, listing no.
W.bucket("mybucket2share-objonly", A, policy({"Effect": "Allow", "Principal": {
    "AWS": role_arn(B, S1_ROLE)}, "Action": ["s3:*"], "Resource": ["arn:aws:s3:::mybucket2share-objonly/*"]}))
# Troubleshooting row 1: a typo in the role ARN.
W.bucket("mybucket2share-typo", A, policy({"Effect": "Allow", "Principal": {
    "AWS": role_arn(B, "ec2role2accessmybucket2shar")}, "Action": ["s3:*"],
    "Resource": res("mybucket2share-typo")}))

# ---- seed 002: restrict a bucket to one role (aws:userId deny) ----------------
S2_BUCKET = "myexamplebucket"
S2_ROLE_ID, S2_USER_ID, S2_LOCAL_ID = "AROAEXAMPLEID0000001", "AIDAEXAMPLEID0000001", "AROALOCALROLE0000001"
BLOG_IDENTITY = policy(allow(["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "*"),
                       allow("s3:ListBucket", f"arn:aws:s3:::{S2_BUCKET}"),
                       allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], f"arn:aws:s3:::{S2_BUCKET}/*"))
W.role(B, "ROLENAME", S2_ROLE_ID, policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                                          "Action": "sts:AssumeRole"}), policies=[BLOG_IDENTITY])
S2_ROLE = W.session("ROLENAME", "partner-app")
S2_USER = W.user(B, "USERNAME", S2_USER_ID, policies=[BLOG_IDENTITY])
W.role(B, "other-role", "AROAOTHERB0000000001", EC2_TRUST, policies=[policy(allow("s3:*", "*"))])
S2_OTHER_B = W.session("other-role", "i-0d30d30d30d30d30d")
S2_ADMIN = W.user(A, "admin", "AIDAADMINA0000000001", policies=[policy(allow("s3:*", "*"))])
W.role(A, "local-app", S2_LOCAL_ID, EC2_TRUST, policies=[policy(allow("s3:*", "*"))])
S2_LOCAL = W.session("local-app", "worker-1")
ROOT_A = W.root(A)
both = {"AWS": [role_arn(B, "ROLENAME"), user_arn(B, "USERNAME")]}
W.bucket(S2_BUCKET, A, policy(
    {"Effect": "Allow", "Principal": both, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{S2_BUCKET}"},
    {"Effect": "Allow", "Principal": both, "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
     "Resource": f"arn:aws:s3:::{S2_BUCKET}/*"},
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": res(S2_BUCKET),
     "Condition": {"StringNotLike": {"aws:userId": [f"{S2_ROLE_ID}:*", S2_USER_ID, f"{S2_LOCAL_ID}:*", A]}}}))

# ---- seed 003: bucket owner, object writer B, role for account C ---------------
S3_BUCKET = "examplebucket"
CANON_A = hashlib.sha256(b"canonical " + A.encode()).hexdigest()
# The walkthrough's policy grants only s3:PutObject, yet its upload carries
# x-amz-grant-full-control, and a PutObject with ACL headers also needs
# s3:PutObjectAcl (issue 3's action table; S3's "required permissions" for
# PutObject). So Sid 111 here grants both; examplebucket-literal keeps the
# seed's text, and the test shows what that text does today.
def s3_policy(bucket, actions):
    return policy(
        {"Sid": "111", "Effect": "Allow", "Principal": {"AWS": user_arn(B, "AccountBadmin")},
         "Action": actions, "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "112", "Effect": "Deny", "Principal": {"AWS": user_arn(B, "AccountBadmin")},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-grant-full-control": f"id={CANON_A}"}}})


W.bucket(S3_BUCKET, A, s3_policy(S3_BUCKET, ["s3:PutObject", "s3:PutObjectAcl"]))
W.bucket("examplebucket-literal", A, s3_policy("examplebucket-literal", "s3:PutObject"))
S3_BADMIN = W.user(B, "AccountBadmin", "AIDAACCOUNTBADMIN001", policies=[policy(allow("*", "*"))])

# ---- seed 004: account principal in a bucket policy; explicit deny on an account
W.bucket("mybucket", O4, policy({"Sid": "AccountBAccess1", "Effect": "Allow", "Principal": {"AWS": P4},
                                 "Action": "s3:*", "Resource": res("mybucket")}))
W.bucket("mybucket-denied", O4, policy(
    {"Sid": "AccountBAccess1", "Effect": "Allow", "Principal": {"AWS": P4}, "Action": "s3:*",
     "Resource": res("mybucket-denied")},
    {"Sid": "AccountBDeny", "Effect": "Deny", "Principal": {"AWS": P4}, "Action": "s3:*",
     "Resource": "arn:aws:s3:::mybucket-denied/*"}))
S4_LISTER = W.user(P4, "lister", "AIDALISTER0000000001",
                   policies=[policy(allow("s3:List*", res("mybucket")))])
S4_FULL = W.user(P4, "fulls3", "AIDAFULLS30000000001",
                 policies=[policy(allow("s3:*", ["arn:aws:s3:::mybucket/*", "arn:aws:s3:::mybucket-denied/*"]))])

UP = PX = None
PENDING = {}


def setUpModule():
    global UP, PX
    # auth off: the seeds use `aws s3 ls` (delimiter=/), which moto with auth
    # on refuses (README.md, "Known limits of moto"); re-signing is covered by
    # test_clients.py.
    UP = Moto(auth=False, buckets=list(W.buckets)).start()
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit), "seeds").start()


def tearDownModule():
    cleanup_all()


def body_file(name, data):
    p = os.path.join(tmpdir("seed-files"), name)
    with open(p, "wb") as f:
        f.write(data)
    return p


class SeedCase(Case):
    def assertDenied(self, fn, principal, action, resource, why, cross_account=False):
        """AccessDenied with AWS's S3-form message. Cross-account callers may
        get S3's generic 'Access Denied' instead (S3 gives the detail only
        inside an account, IAM-SEMANTICS.md 7.3)."""
        bucket = resource.split(":::", 1)[1].split("/", 1)[0]
        before = UP.snapshot(bucket)
        with self.assertRaises(ClientError) as cm:
            fn()
        self.assertUnchanged(UP, bucket, before)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDenied", cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        full = denied_message(principal, action, resource, why)
        if cross_account:
            self.assertIn(err.get("Message"), (full, "Access Denied"))
        else:
            self.assertEqual(err.get("Message"), full)

    def assertCliDenied(self, r, principal, action, resource, why, cross_account=False):
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(r.code, "AccessDenied", r)
        full = denied_message(principal, action, resource, why)
        if cross_account:
            self.assertIn(r.message, (full, "Access Denied"), r)
        else:
            self.assertEqual(r.message, full, r)


class Seed000UserIdPattern(SeedCase):
    """seed 000: 'use aws:userid!' - a bucket policy allowing Principal "*"
    when aws:userid is ROLE-ID:* (any instance of the role) or *:INSTANCE-ID."""

    def test_role_id_pattern_allows_put_get_list(self):
        data = os.urandom(3000)
        r = aws(PX.endpoint, S0_APP, "s3", "cp", body_file("s0", data), "s3://seed000-shared/from-a/obj")
        self.assertCliOk(r)
        self.assertStored(UP, "seed000-shared", "from-a/obj", data)
        r = self.assertCliOk(aws(PX.endpoint, S0_APP, "s3", "ls", "s3://seed000-shared/from-a/"))
        self.assertIn("obj", r.out)
        self.assertEqual(PX.client(S0_APP).get_object(Bucket="seed000-shared", Key="from-a/obj")["Body"].read(), data)

    def test_instance_id_pattern_allows_get_only(self):
        UP.put("seed000-shared", "inst/obj", b"by instance")
        s3 = PX.client(S0_OTHER_ON_INSTANCE)
        self.assertEqual(s3.get_object(Bucket="seed000-shared", Key="inst/obj")["Body"].read(), b"by instance")
        before = UP.snapshot("seed000-shared")
        self.assertDenied(lambda: s3.put_object(Bucket="seed000-shared", Key="inst/new", Body=b"x"),
                          session_arn(A, "other-app", S0_INSTANCE), "s3:PutObject",
                          "arn:aws:s3:::seed000-shared/inst/new", no_allow("resource-based", "s3:PutObject"),
                          cross_account=True)
        self.assertUnchanged(UP, "seed000-shared", before)

    def test_other_role_other_instance_denied(self):
        UP.put("seed000-shared", "inst/secret", b"no")
        before = UP.snapshot("seed000-shared")
        s3 = PX.client(S0_OTHER)
        arn = session_arn(A, "other-app", "i-0eeeeffff00001111")
        self.assertDenied(lambda: s3.get_object(Bucket="seed000-shared", Key="inst/secret"), arn,
                          "s3:GetObject", "arn:aws:s3:::seed000-shared/inst/secret",
                          no_allow("resource-based", "s3:GetObject"), cross_account=True)
        r = aws(PX.endpoint, S0_OTHER, "s3api", "put-object", "--bucket", "seed000-shared", "--key", "x",
                "--body", body_file("s0x", b"x"))
        self.assertCliDenied(r, arn, "s3:PutObject", "arn:aws:s3:::seed000-shared/x",
                             no_allow("resource-based", "s3:PutObject"), cross_account=True)
        self.assertUnchanged(UP, "seed000-shared", before)

    def test_notprincipal_deny_exception_for_role(self):
        """seed 000, 'Allowing EC2 instance to access bucket that has deny
        policy': the role (role ARN + session ARN + account) is in the Deny's
        NotPrincipal and has its own Allow; everyone else is denied."""
        data = b"locked bucket"
        PX.client(S0_APP).put_object(Bucket="seed000-locked", Key="k", Body=data)
        self.assertStored(UP, "seed000-locked", "k", data)
        before = UP.snapshot("seed000-locked")
        self.assertDenied(lambda: PX.client(S0_OTHER).get_object(Bucket="seed000-locked", Key="k"),
                          session_arn(A, "other-app", "i-0eeeeffff00001111"), "s3:GetObject",
                          "arn:aws:s3:::seed000-locked/k", explicit("resource-based"))
        self.assertUnchanged(UP, "seed000-locked", before)


class Seed001CrossAccountRole(SeedCase):
    """seed 001 (Arun's blog): role in account B, bucket in account A whose
    policy grants the role ARN; both sides must allow."""

    def test_walkthrough_cp_and_ls(self):
        data = b"test\n"
        self.assertCliOk(aws(PX.endpoint, S1_EC2, "s3", "cp", body_file("mytestfile.txt", data),
                             f"s3://{S1_BUCKET}/"))
        self.assertStored(UP, S1_BUCKET, "mytestfile.txt", data)
        r = self.assertCliOk(aws(PX.endpoint, S1_EC2, "s3", "ls", f"s3://{S1_BUCKET}/"))
        self.assertIn("mytestfile.txt", r.out)

    def test_troubleshooting_typo_in_role_arn(self):
        before = UP.snapshot("mybucket2share-typo")
        r = aws(PX.endpoint, S1_EC2, "s3api", "put-object", "--bucket", "mybucket2share-typo",
                "--key", "mytestfile.txt", "--body", body_file("t1", b"test\n"))
        self.assertCliDenied(r, session_arn(B, S1_ROLE, "i-0b10b10b10b10b10b"), "s3:PutObject",
                             "arn:aws:s3:::mybucket2share-typo/mytestfile.txt",
                             no_allow("resource-based", "s3:PutObject"), cross_account=True)
        self.assertUnchanged(UP, "mybucket2share-typo", before)

    def test_troubleshooting_object_arn_only_cannot_list(self):
        s3 = PX.client(S1_EC2)
        s3.put_object(Bucket="mybucket2share-objonly", Key="o", Body=b"o")
        self.assertStored(UP, "mybucket2share-objonly", "o", b"o")
        self.assertDenied(lambda: s3.list_objects_v2(Bucket="mybucket2share-objonly"),
                          session_arn(B, S1_ROLE, "i-0b10b10b10b10b10b"), "s3:ListBucket",
                          "arn:aws:s3:::mybucket2share-objonly", no_allow("resource-based", "s3:ListBucket"),
                          cross_account=True)

    def test_troubleshooting_identity_policy_missing(self):
        before = UP.snapshot(S1_BUCKET)
        self.assertDenied(lambda: PX.client(S1_NOPOL).put_object(Bucket=S1_BUCKET, Key="n", Body=b"n"),
                          session_arn(B, "ec2role-nopolicy", "i-0c20c20c20c20c20c"), "s3:PutObject",
                          f"arn:aws:s3:::{S1_BUCKET}/n", no_allow("identity-based", "s3:PutObject"),
                          cross_account=True)
        self.assertUnchanged(UP, S1_BUCKET, before)


class Seed002RestrictToRole(SeedCase):
    """seed 002 (AWS Security Blog): Deny Principal "*" unless aws:userId is
    the role's ROLE-ID:*, the user's AIDA id or the account; Allows for the
    cross-account role and user."""

    def test_cross_account_role_session_allowed(self):
        s3 = PX.client(S2_ROLE)
        data = os.urandom(1000)
        s3.put_object(Bucket=S2_BUCKET, Key="role/obj", Body=data)
        self.assertStored(UP, S2_BUCKET, "role/obj", data)
        self.assertEqual(s3.get_object(Bucket=S2_BUCKET, Key="role/obj")["Body"].read(), data)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=S2_BUCKET).get("Contents", [])]
        self.assertIn("role/obj", keys)
        s3.delete_object(Bucket=S2_BUCKET, Key="role/obj")
        self.assertIsNone(UP.get(S2_BUCKET, "role/obj"))

    def test_cross_account_user_allowed_with_cli(self):
        data = b"from USERNAME"
        self.assertCliOk(aws(PX.endpoint, S2_USER, "s3", "cp", body_file("u", data), f"s3://{S2_BUCKET}/user/obj"))
        self.assertStored(UP, S2_BUCKET, "user/obj", data)

    def test_same_account_admin_denied_despite_s3_star(self):
        UP.put(S2_BUCKET, "admin/obj", b"x")
        before = UP.snapshot(S2_BUCKET)
        s3 = PX.client(S2_ADMIN)
        arn = user_arn(A, "admin")
        self.assertDenied(lambda: s3.get_object(Bucket=S2_BUCKET, Key="admin/obj"), arn, "s3:GetObject",
                          f"arn:aws:s3:::{S2_BUCKET}/admin/obj", explicit("resource-based"))
        self.assertDenied(lambda: s3.delete_object(Bucket=S2_BUCKET, Key="admin/obj"), arn, "s3:DeleteObject",
                          f"arn:aws:s3:::{S2_BUCKET}/admin/obj", explicit("resource-based"))
        r = aws(PX.endpoint, S2_ADMIN, "s3api", "list-objects-v2", "--bucket", S2_BUCKET)
        self.assertCliDenied(r, arn, "s3:ListBucket", f"arn:aws:s3:::{S2_BUCKET}", explicit("resource-based"))
        self.assertUnchanged(UP, S2_BUCKET, before)

    def test_same_account_listed_role_and_root_allowed(self):
        PX.client(S2_LOCAL).put_object(Bucket=S2_BUCKET, Key="local/obj", Body=b"local")
        self.assertStored(UP, S2_BUCKET, "local/obj", b"local")
        self.assertEqual(PX.client(ROOT_A).get_object(Bucket=S2_BUCKET, Key="local/obj")["Body"].read(), b"local")

    def test_other_role_in_partner_account_denied(self):
        before = UP.snapshot(S2_BUCKET)
        self.assertDenied(lambda: PX.client(S2_OTHER_B).put_object(Bucket=S2_BUCKET, Key="o", Body=b"o"),
                          session_arn(B, "other-role", "i-0d30d30d30d30d30d"), "s3:PutObject",
                          f"arn:aws:s3:::{S2_BUCKET}/o", explicit("resource-based"), cross_account=True)
        self.assertUnchanged(UP, S2_BUCKET, before)


class Seed003ObjectWriter(SeedCase):
    """seed 003 step 1.2/2: account B's admin may upload only when granting
    the bucket owner full control (s3:x-amz-grant-full-control)."""

    def test_put_with_full_control_grant_allowed(self):
        data = b"HappyFace"
        self.assertCliOk(aws(PX.endpoint, S3_BADMIN, "s3api", "put-object", "--bucket", S3_BUCKET,
                             "--key", "HappyFace.jpg", "--body", body_file("HappyFace.jpg", data),
                             "--grant-full-control", f"id={CANON_A}"))
        self.assertStored(UP, S3_BUCKET, "HappyFace.jpg", data)

    def test_literal_seed_policy_lacks_put_object_acl(self):
        before = UP.snapshot("examplebucket-literal")
        r = aws(PX.endpoint, S3_BADMIN, "s3api", "put-object", "--bucket", "examplebucket-literal",
                "--key", "HappyFace.jpg", "--body", body_file("HappyFace2.jpg", b"x"),
                "--grant-full-control", f"id={CANON_A}")
        self.assertCliDenied(r, user_arn(B, "AccountBadmin"), "s3:PutObjectAcl",
                             "arn:aws:s3:::examplebucket-literal/HappyFace.jpg",
                             no_allow("resource-based", "s3:PutObjectAcl"), cross_account=True)
        self.assertUnchanged(UP, "examplebucket-literal", before)

    def test_put_without_grant_denied(self):
        before = UP.snapshot(S3_BUCKET)
        r = aws(PX.endpoint, S3_BADMIN, "s3api", "put-object", "--bucket", S3_BUCKET,
                "--key", "NoGrant.jpg", "--body", body_file("NoGrant.jpg", b"x"))
        self.assertCliDenied(r, user_arn(B, "AccountBadmin"), "s3:PutObject",
                             f"arn:aws:s3:::{S3_BUCKET}/NoGrant.jpg", explicit("resource-based"),
                             cross_account=True)
        self.assertUnchanged(UP, S3_BUCKET, before)


class Seed004AccountPrincipal(SeedCase):
    """seed 004: a bucket policy naming account 111122223333 delegates to that
    account, whose own policies decide; an explicit deny on the account cannot
    be escaped by its users."""

    def test_list_only_user(self):
        UP.put("mybucket", "doc.txt", b"doc")
        r = self.assertCliOk(aws(PX.endpoint, S4_LISTER, "s3", "ls", "s3://mybucket/"))
        self.assertIn("doc.txt", r.out)
        self.assertDenied(lambda: PX.client(S4_LISTER).get_object(Bucket="mybucket", Key="doc.txt"),
                          user_arn(P4, "lister"), "s3:GetObject", "arn:aws:s3:::mybucket/doc.txt",
                          no_allow("identity-based", "s3:GetObject"), cross_account=True)

    def test_full_user_allowed_on_delegated_bucket(self):
        data = os.urandom(512)
        PX.client(S4_FULL).put_object(Bucket="mybucket", Key="full.bin", Body=data)
        self.assertStored(UP, "mybucket", "full.bin", data)

    def test_explicit_deny_on_account_wins(self):
        UP.put("mybucket-denied", "k", b"k")
        before = UP.snapshot("mybucket-denied")
        s3 = PX.client(S4_FULL)
        arn = user_arn(P4, "fulls3")
        self.assertDenied(lambda: s3.get_object(Bucket="mybucket-denied", Key="k"), arn, "s3:GetObject",
                          "arn:aws:s3:::mybucket-denied/k", explicit("resource-based"), cross_account=True)
        r = aws(PX.endpoint, S4_FULL, "s3api", "put-object", "--bucket", "mybucket-denied", "--key", "k2",
                "--body", body_file("k2", b"k2"))
        self.assertCliDenied(r, arn, "s3:PutObject", "arn:aws:s3:::mybucket-denied/k2",
                             explicit("resource-based"), cross_account=True)
        self.assertUnchanged(UP, "mybucket-denied", before)


if __name__ == "__main__":
    main(PENDING)
