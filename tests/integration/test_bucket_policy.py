#!/usr/bin/env python3
"""The bucket policy API through s3warden with the aws cli (and boto3):
get-bucket-policy answers the policy s3warden enforces (config
buckets[].policy), put-bucket-policy and delete-bucket-policy never change
the upstream bucket's own policy (review L8), in S3's order (S3 API
Reference, GetBucketPolicy / PutBucketPolicy / DeleteBucketPolicy,
"Permissions"): 403 AccessDenied without the permission, 405
MethodNotAllowed for an identity outside the bucket owner's account (the
seed-001 partner role allowed by the bucket policy), then the operation.
The owner's root user reads the policy even when the policy denies it
(AWS's lockout rule). get-bucket-policy-status answers whether the
configured policy is public by S3's rule (policy/public.c), in the same
order, with NoSuchBucketPolicy where there is none; it never reaches the
store (moto answered it with the bucket's listing).

A store that does not know an operation answers another one (probe 24):
moto answers GetObjectRetention and GetObjectTorrent with the object and
GetBucketRequestPayment and GetBucketAnalyticsConfiguration with the
bucket's listing, to a caller allowed only the narrow action - even one
denied s3:GetObject. s3warden passes on no 2xx answer that is not its
operation's: 502 BadGateway, none of its bytes. And moto runs writes it
does not know as others (a configuration PUT with x-amz-acl as
CreateBucket's ACL, a PUT with x-amz-copy-source as a copy, a body-less
operation's body as PutObject, a POST with a form as a browser upload):
s3warden refuses a write with a header, body or form its operation does
not take, and nothing reaches the store. A configuration DELETE moto
does not know runs as DeleteBucket, and nothing tells it apart: an
upstream's "operations" names what the store implements, and the others
are refused 501 before they reach it.

Upstream: moto_server, auth off (the check here is what reaches it). Each
upstream bucket carries a policy of its own, set straight on moto: it must
never be shown through s3warden, nor changed or deleted.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

A, B = "111111111111", "222222222222"
EC2_TRUST = policy({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole"})


def res(bucket):
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


W = World()
W.account(A)
W.account(B)

# seed 001's setup: account A's bucket shared with account B's EC2 role
SHARED = "mybucket2share"
ROLE = "ec2role2accessmybucket2share"
W.role(B, ROLE, "AROAEC2ROLE000000001", EC2_TRUST,
       policies=[policy(allow("s3:*", res(SHARED) + res("bp-nopolicy")))])
PARTNER = W.session(ROLE, "i-0b10b10b10b10b10b")
SHARED_POLICY = policy({"Sid": "PartnerRole", "Effect": "Allow",
                        "Principal": {"AWS": [role_arn(B, ROLE)]}, "Action": ["s3:*"],
                        "Resource": res(SHARED)})
W.bucket(SHARED, A, SHARED_POLICY)
# every root user is denied s3:* here; the owner's root may still read the
# policy (lockout recovery)
LOCKED = "bp-lockedout"
LOCKED_POLICY = policy({"Sid": "NoRootUsers", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                        "Resource": res(LOCKED),
                        "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}}})
W.bucket(LOCKED, A, LOCKED_POLICY)
W.bucket("bp-nopolicy", A)
# public by S3's rule ("The meaning of 'public'"): {"AWS": "*"} whose only
# condition is negated (it grants to every account but one), which does not
# limit it to fixed values
PUBLIC = "bp-public"
PUBLIC_POLICY = policy({"Sid": "NotARestriction", "Effect": "Allow", "Principal": {"AWS": "*"},
                        "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{PUBLIC}",
                        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": B}}})
W.bucket(PUBLIC, A, PUBLIC_POLICY)
VICTIM = "bp-empty-victim"  # an empty bucket a configuration DELETE could delete
W.bucket(VICTIM, A)
ADMIN = W.user(A, "admin", "AIDAADMINA0000000001", policies=[policy(allow("s3:*", "*"))])
LISTER = W.user(A, "lister", "AIDALISTERA000000001",
                policies=[policy(allow("s3:ListBucket", res(SHARED)))])
STATUS = W.user(A, "status", "AIDASTATUSA000000001",
                policies=[policy(allow("s3:GetBucketPolicyStatus",
                                       res(SHARED) + res(PUBLIC) + res("bp-nopolicy")))])
ROOT_A = W.root(A)
EXPRESS = W.user(A, "express", "AIDAEXPRESSA00000001",
                 policies=[policy(allow(["s3:*", "s3express:*"], "*"))])
# allowed the narrow reads only, and denied s3:GetObject outright
NARROW_ACTIONS = ["s3:GetObjectRetention", "s3:GetObjectTorrent", "s3:GetBucketRequestPayment",
                  "s3:GetAnalyticsConfiguration", "s3:GetObjectTagging", "s3:GetBucketVersioning"]
NARROW = W.user(A, "narrow", "AIDANARROWA000000001",
                policies=[policy(allow(NARROW_ACTIONS, res(SHARED)),
                                 {"Effect": "Deny", "Action": "s3:GetObject",
                                  "Resource": f"arn:aws:s3:::{SHARED}/*"})])

# the upstream buckets' own policies: what a forwarded call would touch
UPSTREAM_POLICY = json.dumps(policy({"Sid": "UpstreamOnly", "Effect": "Allow",
                                     "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                                     "Action": "s3:GetObject",
                                     "Resource": f"arn:aws:s3:::{SHARED}/upstream-only/*"}))

# S3's answer (API Reference, GetBucketPolicyStatus, "Response Syntax")
STATUS_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<PolicyStatus '
              'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsPublic>%s</IsPublic></PolicyStatus>')
MSG_405 = "The specified method is not allowed against this resource."
MSG_501 = ("s3warden enforces the bucket policy from its configuration (buckets[].policy); "
           "change it there and reload with SIGHUP.")

UP = PX = None


def setUpModule():
    global UP, PX
    UP = Moto(auth=False, buckets=list(W.buckets)).start()
    UP.s3().put_bucket_policy(Bucket=SHARED, Policy=UPSTREAM_POLICY)
    PX = Proxy(lambda port, audit: render_config(W, UP, port, audit), "bucket-policy").start()


def tearDownModule():
    cleanup_all()


def compact(doc):
    """The inline policy as s3warden keeps it: the config's JSON object
    without whitespace, keys in the order written (render_config writes
    them in this order)."""
    return json.dumps(doc, separators=(",", ":"))


def policy_file(doc):
    p = os.path.join(tmpdir("bp-files"), "policy.json")
    with open(p, "w") as f:
        json.dump(doc, f)
    return p


class BucketPolicyCase(Case):
    def assertUpstreamPolicyUnchanged(self):
        self.assertEqual(UP.s3().get_bucket_policy(Bucket=SHARED)["Policy"], UPSTREAM_POLICY)

    def test_owner_gets_the_enforced_policy(self):
        r = self.assertCliOk(aws(PX.endpoint, ADMIN, "s3api", "get-bucket-policy", "--bucket", SHARED))
        self.assertEqual(json.loads(r.out)["Policy"], compact(SHARED_POLICY))
        self.assertNotIn("UpstreamOnly", r.out)
        # boto3: the same document, byte for byte
        got = PX.client(ADMIN).get_bucket_policy(Bucket=SHARED)["Policy"]
        self.assertEqual(got, compact(SHARED_POLICY))

    def test_no_policy_is_404(self):
        r = aws(PX.endpoint, ADMIN, "s3api", "get-bucket-policy", "--bucket", "bp-nopolicy")
        self.assertCliError(r, "NoSuchBucketPolicy", "The bucket policy does not exist")

    def test_put_and_delete_never_reach_the_upstream(self):
        opened = policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                         "Resource": res(SHARED)})
        r = aws(PX.endpoint, ADMIN, "s3api", "put-bucket-policy", "--bucket", SHARED,
                "--policy", f"file://{policy_file(opened)}")
        self.assertCliError(r, "NotImplemented", MSG_501)
        self.assertUpstreamPolicyUnchanged()
        r = aws(PX.endpoint, ADMIN, "s3api", "delete-bucket-policy", "--bucket", SHARED)
        self.assertCliError(r, "NotImplemented", MSG_501)
        self.assertUpstreamPolicyUnchanged()
        # and s3warden still enforces (and shows) its own
        r = self.assertCliOk(aws(PX.endpoint, ADMIN, "s3api", "get-bucket-policy", "--bucket", SHARED))
        self.assertEqual(json.loads(r.out)["Policy"], compact(SHARED_POLICY))

    def test_policy_status_answers_the_enforced_policy(self):
        """GetBucketPolicyStatus is answered from buckets[].policy, never
        forwarded: probe 22 - forwarded, it described the upstream bucket's
        policy, and moto, which does not know ?policyStatus, answered a
        caller allowed only s3:GetBucketPolicyStatus with the bucket's
        listing."""
        UP.put(SHARED, "secret/payroll.csv", b"salaries")
        c = PX.client(STATUS)
        # seed 001's policy names the partner role's ARN: a fixed principal
        r = c.get_bucket_policy_status(Bucket=SHARED)
        self.assertEqual(r["PolicyStatus"], {"IsPublic": False})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertNotIn("payroll", str(r))
        # "*" without a limiting condition; a StringNotEquals does not limit
        self.assertEqual(c.get_bucket_policy_status(Bucket=PUBLIC)["PolicyStatus"],
                         {"IsPublic": True})
        # the wire: S3's document, byte for byte
        for bucket, public in ((SHARED, "false"), (PUBLIC, "true")):
            path = f"/{bucket}?policyStatus"
            w = raw(PX.endpoint, "GET", path, sign("GET", PX.endpoint + path, STATUS))
            self.assertEqual((w.status, w.headers.get("Content-Type"), w.body.decode()),
                             (200, "application/xml", STATUS_XML % public), w)
        # no configured policy: S3's 404 (the upstream bucket's own policy
        # is not looked at)
        self.assertClientError(lambda: c.get_bucket_policy_status(Bucket="bp-nopolicy"),
                               "NoSuchBucketPolicy", "The bucket policy does not exist",
                               status=404)
        r = aws(PX.endpoint, STATUS, "s3api", "get-bucket-policy-status", "--bucket", "bp-nopolicy")
        self.assertCliError(r, "NoSuchBucketPolicy", "The bucket policy does not exist")
        # x-amz-expected-bucket-owner compared with the configured owner
        self.assertEqual(c.get_bucket_policy_status(Bucket=PUBLIC, ExpectedBucketOwner=A)
                         ["PolicyStatus"], {"IsPublic": True})
        self.assertClientError(lambda: c.get_bucket_policy_status(Bucket=PUBLIC,
                                                                  ExpectedBucketOwner=B),
                               "AccessDenied", "Access Denied", status=403)
        self.assertUpstreamPolicyUnchanged()

    def test_policy_status_order(self):
        """S3's order, as for GetBucketPolicy: 403 without the permission,
        405 for an identity outside the owner's account, then the answer;
        the listing never leaks."""
        UP.put(SHARED, "secret/payroll.csv", b"salaries")
        r = aws(PX.endpoint, LISTER, "s3api", "get-bucket-policy-status", "--bucket", SHARED)
        self.assertCliError(r, "AccessDenied", denied_message(
            user_arn(A, "lister"), "s3:GetBucketPolicyStatus", f"arn:aws:s3:::{SHARED}",
            no_allow("identity-based", "s3:GetBucketPolicyStatus")))
        self.assertNotIn("payroll", r.out + r.err)
        # the partner role is allowed s3:* on the bucket by both policies
        self.assertClientError(lambda: PX.client(PARTNER).get_bucket_policy_status(Bucket=SHARED),
                               "MethodNotAllowed", MSG_405, status=405)
        # the owner's root exemption is the policy operations' only: the
        # lockout policy denies every root user s3:*
        self.assertClientError(lambda: PX.client(ROOT_A).get_bucket_policy_status(Bucket=LOCKED),
                               "AccessDenied", denied_message(
                                   f"arn:aws:iam::{A}:root", "s3:GetBucketPolicyStatus",
                                   f"arn:aws:s3:::{LOCKED}", explicit("resource-based")),
                               status=403)
        # the admin (s3:* in its own policy) reads the lockout policy's status
        self.assertEqual(PX.client(ADMIN).get_bucket_policy_status(Bucket=LOCKED)["PolicyStatus"],
                         {"IsPublic": False})

    def test_no_permission_is_403_first(self):
        arn = user_arn(A, "lister")
        for op, action in (("get-bucket-policy", "s3:GetBucketPolicy"),
                           ("delete-bucket-policy", "s3:DeleteBucketPolicy")):
            r = aws(PX.endpoint, LISTER, "s3api", op, "--bucket", SHARED)
            self.assertCliError(r, "AccessDenied", denied_message(
                arn, action, f"arn:aws:s3:::{SHARED}", no_allow("identity-based", action)))
        self.assertUpstreamPolicyUnchanged()

    def test_partner_allowed_by_bucket_policy_gets_405(self):
        """seed 001's partner role: the bucket policy grants it s3:* on the
        bucket, its own policy too - S3 still answers 405 to an identity
        outside the owner's account."""
        # the grant is real: the partner reads and writes objects
        self.assertCliOk(aws(PX.endpoint, PARTNER, "s3api", "list-objects-v2", "--bucket", SHARED))
        r = aws(PX.endpoint, PARTNER, "s3api", "get-bucket-policy", "--bucket", SHARED)
        self.assertCliError(r, "MethodNotAllowed", MSG_405)
        self.assertNotIn("PartnerRole", r.out + r.err)
        r = aws(PX.endpoint, PARTNER, "s3api", "put-bucket-policy", "--bucket", SHARED,
                "--policy", f"file://{policy_file(SHARED_POLICY)}")
        self.assertCliError(r, "MethodNotAllowed", MSG_405)
        r = aws(PX.endpoint, PARTNER, "s3api", "delete-bucket-policy", "--bucket", SHARED)
        self.assertCliError(r, "MethodNotAllowed", MSG_405)
        self.assertUpstreamPolicyUnchanged()
        # without a bucket policy grant the partner gets 403, not 405
        r = aws(PX.endpoint, PARTNER, "s3api", "get-bucket-policy", "--bucket", "bp-nopolicy")
        self.assertCliError(r, "AccessDenied")

    def test_owner_root_reads_a_policy_that_denies_it(self):
        r = self.assertCliOk(aws(PX.endpoint, ROOT_A, "s3api", "get-bucket-policy", "--bucket", LOCKED))
        self.assertEqual(json.loads(r.out)["Policy"], compact(LOCKED_POLICY))
        # the policy still binds the root for everything else
        r = aws(PX.endpoint, ROOT_A, "s3api", "list-objects-v2", "--bucket", LOCKED)
        self.assertCliError(r, "AccessDenied", denied_message(
            f"arn:aws:iam::{A}:root", "s3:ListBucket", f"arn:aws:s3:::{LOCKED}",
            explicit("resource-based")))
        # and an IAM user of the owner's account has no such exemption
        r = aws(PX.endpoint, ADMIN, "s3api", "get-bucket-policy", "--bucket", LOCKED)
        self.assertCliOk(r)  # admin is no root user: NoRootUsers does not apply
        r = aws(PX.endpoint, ROOT_A, "s3api", "delete-bucket-policy", "--bucket", LOCKED)
        self.assertCliError(r, "NotImplemented", MSG_501)




RARE_MSG = ("s3warden does not send %s to this bucket's storage service: few stores other than "
            "AWS S3 implement it, and one that does not may run the request as another "
            "operation. Name it in the upstream's \"operations\" in s3warden's configuration if "
            "the store implements it.")


class LaxStoreAnswers(Case):
    """2xx answers that are another operation's are not passed on."""

    def test_other_operations_answers_refused(self):
        UP.put(SHARED, "secret/payroll.csv", b"salaries-of-everyone")
        c = s3_client(PX.endpoint, NARROW.id, NARROW.secret)
        self.assertClientError(lambda: c.get_object(Bucket=SHARED, Key="secret/payroll.csv"),
                               "AccessDenied", status=403)
        calls = {
            "GetObjectRetention": lambda: c.get_object_retention(Bucket=SHARED, Key="secret/payroll.csv"),
            "GetObjectTorrent": lambda: c.get_object_torrent(Bucket=SHARED, Key="secret/payroll.csv")["Body"].read(),
            "GetBucketRequestPayment": lambda: c.get_bucket_request_payment(Bucket=SHARED),
            "GetBucketAnalyticsConfiguration": lambda: c.get_bucket_analytics_configuration(Bucket=SHARED, Id="a1"),
        }
        for op, fn in calls.items():
            with self.subTest(op=op):
                e = self.assertClientError(fn, "BadGateway", status=502, message=(
                    f"The upstream storage service did not answer {op} with its result (it may not "
                    "support the operation); s3warden passes on none of its answer."))
                self.assertNotIn("salaries", str(e.response))
        # asking for the torrent's type: a store that does not know
        # ?torrent but honours response-content-type would pass the check
        path = f"/{SHARED}/secret/payroll.csv?torrent&response-content-type=application%2Fx-bittorrent"
        r = raw(PX.endpoint, "GET", path, sign("GET", PX.endpoint + path, NARROW))
        self.assertEqual((r.status, r.code, r.message), (400, "InvalidArgument",
                         "The GetObjectTorrent operation does not take the response-content-type "
                         "parameter."), r)
        recs = PX.audit_where(lambda r: r.get("eventName") in calls and r["httpStatus"] == 502,
                              n=len(calls))
        self.assertEqual(sorted(r["eventName"] for r in recs), sorted(calls))
        for r in recs:
            self.assertEqual((r["httpStatus"], r["errorCode"]), (502, "BadGateway"), r)
        # the operations moto knows still answer, under its own root names
        UP.s3().put_object_tagging(Bucket=SHARED, Key="secret/payroll.csv",
                                   Tagging={"TagSet": [{"Key": "team", "Value": "hr"}]})
        self.assertEqual(c.get_object_tagging(Bucket=SHARED, Key="secret/payroll.csv")["TagSet"],
                         [{"Key": "team", "Value": "hr"}])
        self.assertEqual(c.get_bucket_versioning(Bucket=SHARED)["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_writes_another_operation_could_apply_refused(self):
        UP.put(SHARED, "secret/payroll.csv", b"salaries-of-everyone")
        before_acl = UP.s3().get_bucket_acl(Bucket=SHARED)["Grants"]
        cases = [
            ("PUT", f"/{SHARED}?requestPayment", {"x-amz-acl": "public-read-write"},
             b"<RequestPaymentConfiguration><Payer>Requester</Payer></RequestPaymentConfiguration>",
             400, "InvalidArgument",
             "The PutBucketRequestPayment operation does not take the x-amz-acl header."),
            ("PUT", f"/{SHARED}/stolen.txt?encryption", {"x-amz-copy-source": f"/{SHARED}/secret/payroll.csv"},
             b"", 400, "InvalidArgument",
             "The UpdateObjectEncryption operation does not take the x-amz-copy-source header."),
            ("PUT", f"/{SHARED}/secret/payroll.csv?renameObject", {}, b"OVERWRITTEN", 400,
             "InvalidRequest", "The RenameObject operation does not take a request body."),
            # moto ran these as a browser upload and as a PutObject that
            # empties the object: writes few stores implement, not sent to
            # one other than AWS S3 unless its "operations" names them
            ("POST", f"/{SHARED}?metadataTable",
             {"Content-Type": "application/x-www-form-urlencoded"},
             b"key=secret/planted.txt&acl=public-read", 501, "NotImplemented",
             RARE_MSG % "CreateBucketMetadataTableConfiguration"),
            ("PUT", f"/{SHARED}/secret/payroll.csv?renameObject",
             {"x-amz-rename-source": f"/{SHARED}/secret/other", "x-amz-meta-pwned": "yes"}, b"",
             501, "NotImplemented", RARE_MSG % "RenameObject"),
        ]
        for method, path, hdrs, body, status, code, msg in cases:
            with self.subTest(path=path):
                who = EXPRESS if "renameObject" in path else ADMIN  # RenameObject: s3express:
                h = sign(method, PX.endpoint + path, who, headers=hdrs, body=body)
                h["Content-Length"] = str(len(body))
                r = raw(PX.endpoint, method, path, h, body)
                self.assertEqual((r.status, r.code, r.message), (status, code, msg), r)
        self.assertEqual(UP.get(SHARED, "secret/payroll.csv"), b"salaries-of-everyone")
        self.assertIsNone(UP.get(SHARED, "stolen.txt"))
        self.assertIsNone(UP.get(SHARED, "secret/planted.txt"))
        self.assertEqual(UP.s3().get_bucket_acl(Bucket=SHARED)["Grants"], before_acl)

    def test_operations_the_store_lacks_not_sent(self):
        # moto runs DELETE ?metrics&id= (DeleteBucketMetricsConfiguration)
        # as DeleteBucket: on the proxy without "operations" the bucket goes
        def with_ops(port, audit):
            cfg = render_config(W, UP, port, audit)
            ups = [cfg["upstream"]] if "upstream" in cfg else cfg["upstreams"]
            for u in ups:
                u["operations"] = ["Get*", "Put*", "List*", "Head*", "*Object", "*Objects",
                                   "*MultipartUpload", "UploadPart*", "CreateBucket", "DeleteBucket"]
            return cfg
        px = Proxy(with_ops, "bucket-policy-ops").start()
        c = s3_client(px.endpoint, ADMIN.id, ADMIN.secret)
        self.assertClientError(
            lambda: c.delete_bucket_metrics_configuration(Bucket=VICTIM, Id="m1"), "NotImplemented",
            "The storage service behind this bucket does not implement "
            "DeleteBucketMetricsConfiguration; s3warden does not send it there (the upstream's "
            "\"operations\" in its configuration).", status=501)
        self.assertIn(VICTIM, [b["Name"] for b in UP.s3().list_buckets()["Buckets"]])
        # the operations it names still go
        c.put_object(Bucket=VICTIM, Key="k", Body=b"v")
        self.assertEqual(c.get_object(Bucket=VICTIM, Key="k")["Body"].read(), b"v")
        c.delete_object(Bucket=VICTIM, Key="k")


if __name__ == "__main__":
    main()
