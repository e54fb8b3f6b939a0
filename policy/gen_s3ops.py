#!/usr/bin/env python3
"""Generates policy/s3ops_table.c: the S3 operation table of s3map.

Inputs (build-time only; s3warden has no runtime dependency on Python):
  - botocore's S3 API model, botocore/data/s3/2006-03-01/service-2.json.gz
    (HTTP method, request URI with its literal query subresources, required
    query members, every query member name);
  - tests/testdata/s3-operations/s3-operations.json (IAM actions,
    conditional actions, condition keys per action, resource type).

Usage:  python3 policy/gen_s3ops.py [--requests] [--check]   (from the repository root)
        (default) writes policy/s3ops_table.c;
        --requests writes tests/unit/policy/test_s3map_botocore.c: one request
          per operation as botocore serialises it, which s3map must identify;
        --check: exit 1 if the file is not what this would write.

The generator refuses (exit 2) rather than guess: a conditional action it
does not know how to recognise, two reachable operations with the same wire
shape, or disagreement between the two inputs all stop it.
"""
import gzip
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_JSON = os.path.join(ROOT, "tests/testdata/s3-operations/s3-operations.json")
OUT = os.path.join(ROOT, "policy/s3ops_table.c")

# IAM action prefixes s3warden authorizes. The others in the json (s3tables:,
# iam:PassRole, kms:) are checked by those services when S3 calls them with
# the proxy's upstream credentials, against resources named in the body; a
# bucket/identity policy evaluated here cannot decide them.
AUTHORIZED_PREFIXES = ("s3:", "s3express:", "s3-object-lambda:")

# Conditional actions -> s3map extras bit, recognised by (action, text in
# "when"). Anything not matched here or in IGNORED stops the generator.
EXTRA_RULES = [
    ("s3:PutObjectAcl", "x-amz-acl", "S3MAP_X_OBJECT_ACL"),
    ("s3:PutObjectTagging", "x-amz-tagging", "S3MAP_X_OBJECT_TAGGING"),
    ("s3:PutObjectRetention", "x-amz-object-lock-mode", "S3MAP_X_RETENTION"),
    ("s3:PutObjectLegalHold", "x-amz-object-lock-legal-hold", "S3MAP_X_LEGAL_HOLD"),
    ("s3:BypassGovernanceRetention", "x-amz-bypass-governance-retention",
     "S3MAP_X_BYPASS_GOVERNANCE"),
    ("s3:GetObject", "x-amz-copy-source", "S3MAP_X_COPY_SOURCE"),
    ("s3:GetObjectVersion", "x-amz-copy-source contains ?versionId", "S3MAP_X_COPY_SOURCE"),
    ("s3:PutBucketAcl", "x-amz-acl", "S3MAP_X_BUCKET_ACL"),
    ("s3:PutBucketObjectLockConfiguration", "x-amz-bucket-object-lock-enabled",
     "S3MAP_X_BUCKET_LOCK"),
    ("s3:PutBucketVersioning", "x-amz-bucket-object-lock-enabled", "S3MAP_X_BUCKET_LOCK"),
    ("s3:PutBucketOwnershipControls", "x-amz-object-ownership", "S3MAP_X_OWNERSHIP"),
    ("s3:DeleteObjectVersion", "per <Object> in the XML body", "S3MAP_X_DELETE_BODY"),
]

# (operation, action) -> why it is not enforced here.
IGNORED = {
    ("CopyObject", "s3:GetObjectTagging"):
        "iam-dataset only, not in AWS's CopyObject row; not required",
    ("CreateSession", "s3express:CreateSession"):
        "same action as the primary one (session mode is a condition key)",
}
IGNORED_PREFIX_REASON = "not an S3 action: enforced by its own service upstream"

# Version actions the operations json does not give. GetObjectTorrent: the
# model has no versionId, but IAM's Service Authorization Reference has
# s3:GetObjectVersionTorrent, "Grants permission to return torrent files
# about a different version using the torrent subresource" (the json's own
# source note says so): without it ?torrent&versionId= was authorized as
# s3:GetObjectTorrent alone (probe 29).
VERSION_OVERRIDES = {
    "GetObjectTorrent": ["s3:GetObjectVersionTorrent"],
}

# Actions the extras bits add, so their condition keys are part of the op's.
EXTRA_ACTIONS = {
    "S3MAP_X_OBJECT_ACL": ["s3:PutObjectAcl"],
    "S3MAP_X_OBJECT_TAGGING": ["s3:PutObjectTagging"],
    "S3MAP_X_RETENTION": ["s3:PutObjectRetention"],
    "S3MAP_X_LEGAL_HOLD": ["s3:PutObjectLegalHold"],
    "S3MAP_X_BYPASS_GOVERNANCE": ["s3:BypassGovernanceRetention"],
    "S3MAP_X_COPY_SOURCE": ["s3:GetObject", "s3:GetObjectVersion"],
    "S3MAP_X_BUCKET_ACL": ["s3:PutBucketAcl"],
    "S3MAP_X_BUCKET_LOCK": ["s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"],
    "S3MAP_X_OWNERSHIP": ["s3:PutBucketOwnershipControls"],
    "S3MAP_X_DELETE_BODY": ["s3:DeleteObjectVersion"],
    "S3MAP_X_BODY_KEYS": [],
}

BODY_KEY_ACTIONS = {"s3:PutObjectTagging", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
                    "s3:CreateBucket"}

# Condition keys s3map fills from a request -> bit name (s3map.h S3MAP_K_*).
KEY_BITS = {
    "s3:prefix": "S3MAP_K_PREFIX",
    "s3:delimiter": "S3MAP_K_DELIMITER",
    "s3:max-keys": "S3MAP_K_MAX_KEYS",
    "s3:x-amz-acl": "S3MAP_K_ACL",
    "s3:x-amz-grant-read": "S3MAP_K_GRANT_READ",
    "s3:x-amz-grant-write": "S3MAP_K_GRANT_WRITE",
    "s3:x-amz-grant-read-acp": "S3MAP_K_GRANT_READ_ACP",
    "s3:x-amz-grant-write-acp": "S3MAP_K_GRANT_WRITE_ACP",
    "s3:x-amz-grant-full-control": "S3MAP_K_GRANT_FULL_CONTROL",
    "s3:x-amz-copy-source": "S3MAP_K_COPY_SOURCE",
    "s3:x-amz-server-side-encryption": "S3MAP_K_SSE",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "S3MAP_K_SSE_KMS_KEY_ID",
    "s3:x-amz-server-side-encryption-customer-algorithm": "S3MAP_K_SSE_CUSTOMER_ALGORITHM",
    "s3:x-amz-storage-class": "S3MAP_K_STORAGE_CLASS",
    "s3:x-amz-metadata-directive": "S3MAP_K_METADATA_DIRECTIVE",
    "s3:x-amz-website-redirect-location": "S3MAP_K_WEBSITE_REDIRECT",
    "s3:x-amz-object-ownership": "S3MAP_K_OBJECT_OWNERSHIP",
    "s3:versionid": "S3MAP_K_VERSIONID",
    "s3:RequestObjectTag/<key>": "S3MAP_K_REQUEST_OBJECT_TAG",
    "s3:RequestObjectTagKeys": "S3MAP_K_REQUEST_OBJECT_TAG_KEYS",
    "s3:x-amz-content-sha256": "S3MAP_K_CONTENT_SHA256",
    "s3:authType": "S3MAP_K_AUTH_TYPE",
    "s3:signatureversion": "S3MAP_K_SIGNATURE_VERSION",
    "s3:signatureAge": "S3MAP_K_SIGNATURE_AGE",
    "s3:TlsVersion": "S3MAP_K_TLS_VERSION",
    "s3:ResourceAccount": "S3MAP_K_RESOURCE_ACCOUNT",
    "s3:object-lock-mode": "S3MAP_K_LOCK_MODE",
    "s3:object-lock-retain-until-date": "S3MAP_K_LOCK_RETAIN_UNTIL",
    "s3:object-lock-legal-hold": "S3MAP_K_LOCK_LEGAL_HOLD",
    "s3:object-lock-remaining-retention-days": "S3MAP_K_LOCK_REMAINING_DAYS",
    "s3:if-match": "S3MAP_K_IF_MATCH",
    "s3:if-none-match": "S3MAP_K_IF_NONE_MATCH",
    "s3:locationconstraint": "S3MAP_K_LOCATION_CONSTRAINT",
}

# Operations that exist in the model but are never reached through the S3
# REST endpoint s3warden fronts, with the operation the same request is.
UNROUTED = {
    "ListDirectoryBuckets": ("served by the s3express-control endpoint; GET / on S3 is ListBuckets",
                             "ListBuckets"),
    "WriteGetObjectResponse": ("served by the S3 Object Lambda endpoint ({RequestRoute}. host prefix)",
                               None),
}

# The root element of each operation's 2xx XML answer: S3's name (S3 API
# reference, each operation's "Response Syntax") first, then other stores'
# spellings (moto's GetObjectAttributesOutput; the generator adds
# <Operation>Response to each, the name moto's serializer gives an answer
# it has no root name for: ListPartsResponse, GetBucketVersioningResponse -
# a name no other operation's answer has). Every operation whose model
# output has an XML body must be here: a store that does not know a
# subresource answers another operation (moto answers GET ?retention on a
# key with the object, GET ?analytics on a bucket with its listing), and
# the proxy passes on no 2xx answer whose root is not its operation's.
# "Error" is S3's 200 that failed after it began (CopyObject,
# UploadPartCopy, CompleteMultipartUpload: "a 200 OK response can contain
# valid or invalid XML").
ANSWER_ROOTS = {
    "CompleteMultipartUpload": ["CompleteMultipartUploadResult", "Error"],
    "CopyObject": ["CopyObjectResult", "Error"],
    "CreateMultipartUpload": ["InitiateMultipartUploadResult"],
    "CreateSession": ["CreateSessionResult"],
    "DeleteObjects": ["DeleteResult"],
    "GetBucketAbac": ["AbacStatus"],
    "GetBucketAccelerateConfiguration": ["AccelerateConfiguration"],
    "GetBucketAcl": ["AccessControlPolicy"],
    "GetBucketAnalyticsConfiguration": ["AnalyticsConfiguration"],
    "GetBucketCors": ["CORSConfiguration"],
    "GetBucketEncryption": ["ServerSideEncryptionConfiguration"],
    "GetBucketIntelligentTieringConfiguration": ["IntelligentTieringConfiguration"],
    "GetBucketInventoryConfiguration": ["InventoryConfiguration"],
    "GetBucketLifecycle": ["LifecycleConfiguration"],
    "GetBucketLifecycleConfiguration": ["LifecycleConfiguration"],
    "GetBucketLocation": ["LocationConstraint"],
    "GetBucketLogging": ["BucketLoggingStatus"],
    "GetBucketMetadataConfiguration": ["GetBucketMetadataConfigurationResult"],
    "GetBucketMetadataTableConfiguration": ["GetBucketMetadataTableConfigurationResult"],
    "GetBucketMetricsConfiguration": ["MetricsConfiguration"],
    "GetBucketNotification": ["NotificationConfiguration"],
    "GetBucketNotificationConfiguration": ["NotificationConfiguration"],
    "GetBucketOwnershipControls": ["OwnershipControls"],
    "GetBucketPolicyStatus": ["PolicyStatus"],
    "GetBucketReplication": ["ReplicationConfiguration"],
    "GetBucketRequestPayment": ["RequestPaymentConfiguration"],
    "GetBucketTagging": ["Tagging"],
    "GetBucketVersioning": ["VersioningConfiguration"],
    "GetBucketWebsite": ["WebsiteConfiguration"],
    "GetObjectAcl": ["AccessControlPolicy"],
    "GetObjectAttributes": ["GetObjectAttributesResponse", "GetObjectAttributesOutput"],
    "GetObjectLegalHold": ["LegalHold"],
    "GetObjectLockConfiguration": ["ObjectLockConfiguration"],
    "GetObjectRetention": ["Retention"],
    "GetObjectTagging": ["Tagging"],
    "GetPublicAccessBlock": ["PublicAccessBlockConfiguration"],
    "ListBucketAnalyticsConfigurations": ["ListBucketAnalyticsConfigurationResult"],
    "ListBucketIntelligentTieringConfigurations": ["ListBucketIntelligentTieringConfigurationsOutput"],
    "ListBucketInventoryConfigurations": ["ListInventoryConfigurationsResult"],
    "ListBucketMetricsConfigurations": ["ListMetricsConfigurationsResult"],
    "ListBuckets": ["ListAllMyBucketsResult"],
    "ListDirectoryBuckets": ["ListAllMyDirectoryBucketsResult"],
    "ListMultipartUploads": ["ListMultipartUploadsResult"],
    "ListObjectVersions": ["ListVersionsResult"],
    "ListObjects": ["ListBucketResult"],
    "ListObjectsV2": ["ListBucketResult"],
    "ListParts": ["ListPartsResult"],
    "UploadPartCopy": ["CopyPartResult", "Error"],
}
# Operations whose 2xx body is not XML, and how it is checked (s3ops.h
# enum s3map_answer); S3MAP_A_ANY: the object itself, or answered here.
ANSWER_OTHER = {
    "GetObject": "S3MAP_A_ANY",
    "GetBucketPolicy": "S3MAP_A_ANY",  # answered by s3warden (local_ops.c)
    "GetObjectTorrent": "S3MAP_A_TORRENT",
    "SelectObjectContent": "S3MAP_A_EVENTS",
}

# Headers that change what a write does. A request may carry one only when
# its operation's input takes it (the model's input shape): a store that
# does not know the operation may take the request for another that does
# (probe 24: moto ran PUT ?requestPayment with x-amz-acl as CreateBucket's
# ACL, PUT ?encryption with x-amz-copy-source as a copy). s3map checks the
# ones it tracks (s3map.c hdr_names). Not the copy directives
# (x-amz-metadata-directive, x-amz-tagging-directive): nothing applies them
# without x-amz-copy-source, and s3cmd sends them on CreateMultipartUpload
# for a multipart copy.
EFFECT_HEADERS = [
    "x-amz-copy-source", "x-amz-tagging", "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
    "x-amz-bypass-governance-retention", "x-amz-bucket-object-lock-enabled",
    "x-amz-object-ownership", "x-amz-acl", "x-amz-grant-read", "x-amz-grant-write",
    "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
    "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm", "x-amz-storage-class",
    "x-amz-website-redirect-location",
]

# x-id carries the operation name in newer SDKs' URIs; S3 ignores it.
EXTRA_QUERY_NAMES = ["x-id"]


def die(msg):
    sys.stderr.write("gen_s3ops: " + msg + "\n")
    sys.exit(2)


def botocore_model_path():
    import botocore  # noqa: build-time only
    return os.path.join(os.path.dirname(botocore.__file__),
                        "data/s3/2006-03-01/service-2.json.gz"), botocore.__version__


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_list(name, items):
    return "static const char *const %s[] = { %s };" % (
        name, ", ".join([c_str(i) for i in items] + ["NULL"]))


def main():
    check = "--check" in sys.argv[1:]
    model_path, bc_version = botocore_model_path()
    raw_model = gzip.open(model_path).read()
    model = json.loads(raw_model)
    raw_ops = open(OPS_JSON, "rb").read()
    rows = json.loads(raw_ops)
    shapes = model["shapes"]
    mops = model["operations"]

    names = [r["operation"] for r in rows]
    if sorted(names) != sorted(mops):
        die("operation sets differ: %s" % sorted(set(names) ^ set(mops)))

    all_query_names = set(EXTRA_QUERY_NAMES)
    ops = []
    for r in rows:
        name = r["operation"]
        mo = mops[name]
        method = mo["http"]["method"]
        if method != r["http_method"]:
            die("%s: method %s vs %s" % (name, method, r["http_method"]))
        uri = mo["http"]["requestUri"]
        path, _, lit = uri.partition("?")
        target = {"/": "S3MAP_T_SERVICE", "/{Bucket}": "S3MAP_T_BUCKET",
                  "/{Bucket}/{Key+}": "S3MAP_T_OBJECT"}.get(path)
        if target is None and name not in UNROUTED:
            die("%s: unknown path shape %s" % (name, path))
        selectors = [s for s in lit.split("&") if s]
        shape = shapes[mo["input"]["shape"]] if "input" in mo else {"members": {}}
        required = set(shape.get("required", []))
        qmembers = []
        hrequired = []
        for mname, mm in shape["members"].items():
            if mm.get("location") == "querystring":
                all_query_names.add(mm["locationName"])
                qmembers.append(mm["locationName"])
                if mname in required:
                    selectors.append(mm["locationName"])
            if mm.get("location") == "header" and mname in required:
                hrequired.append(mm["locationName"].lower())
        # cross-check against the json's routing
        jsel = set()
        for q in r["routing"]["query"]:
            if q.startswith("(") or "optional" in q:
                continue
            jsel.add(q)
        if jsel != set(selectors) and name not in UNROUTED:
            die("%s: selectors %s vs json %s" % (name, selectors, sorted(jsel)))
        copy = 1 if "x-amz-copy-source" in hrequired else 0
        # what the request itself carries, from the model's input shape
        wire = set()
        if any(mm.get("location") == "header" and mm["locationName"].lower() == "x-amz-acl"
               for mm in shape["members"].values()):
            wire.add("S3MAP_W_CANNED_ACL")
        takes = sorted(mm["locationName"].lower() for mm in shape["members"].values()
                       if mm.get("location") == "header" and
                       mm["locationName"].lower() in EFFECT_HEADERS)
        if not shape.get("payload") and not any("location" not in mm
                                                for mm in shape["members"].values()):
            wire.add("S3MAP_W_NO_BODY")
        hdr_names = set(mm["locationName"].lower() for mm in shape["members"].values()
                        if mm.get("location") in ("header", "headers"))
        if "x-amz-meta-" in hdr_names and "content-type" in hdr_names:
            wire.add("S3MAP_W_OBJECT_HEADERS")
        if "range" in hdr_names:
            wire.add("S3MAP_W_RANGE")
        if any(h.startswith("if-") for h in hdr_names):
            wire.add("S3MAP_W_CONDITIONS")
        if "response-content-type" in qmembers:
            wire.add("S3MAP_W_RESPONSE_OVERRIDES")
        if "versionId" in qmembers or name in VERSION_OVERRIDES:
            wire.add("S3MAP_W_VERSION_ID")
        payload = shape["members"].get(shape.get("payload", ""), {})
        if payload.get("streaming") or shapes.get(payload.get("shape", ""), {}).get("streaming"):
            wire.add("S3MAP_W_STREAMING_BODY")
        # what its 2xx answer is (ANSWER_ROOTS)
        oshape = shapes[mo["output"]["shape"]] if "output" in mo else {"members": {}}
        opay = oshape.get("payload")
        xml_body = any("location" not in mm for mm in oshape["members"].values())
        if opay:
            xml_body = shapes[oshape["members"][opay]["shape"]]["type"] == "structure"
        if name in ANSWER_OTHER:
            answer = ANSWER_OTHER[name]
        elif xml_body:
            if name not in ANSWER_ROOTS:
                die("%s: its answer is XML, and ANSWER_ROOTS does not name its root" % name)
            answer = "S3MAP_A_XML"
        else:
            answer = None
        if (answer == "S3MAP_A_XML") != (name in ANSWER_ROOTS):
            die("%s: ANSWER_ROOTS names a root for an answer that is not XML" % name)
        actions = [a for a in r["actions"] if a.startswith(AUTHORIZED_PREFIXES)]
        dropped = [a for a in r["actions"] if not a.startswith(AUTHORIZED_PREFIXES)]
        if not actions:
            die("%s: no S3 action" % name)
        version_actions = []
        extras = set()
        ignored = []
        for ca in r["conditional_actions"]:
            a, when = ca["action"], ca["when"]
            if when == "query versionId present":
                version_actions.append(a)
                continue
            if not a.startswith(AUTHORIZED_PREFIXES):
                ignored.append("%s (%s)" % (a, IGNORED_PREFIX_REASON))
                continue
            if (name, a) in IGNORED:
                ignored.append("%s (%s)" % (a, IGNORED[(name, a)]))
                continue
            for ra, rwhen, bit in EXTRA_RULES:
                if a == ra and rwhen in when:
                    extras.add(bit)
                    break
            else:
                die("%s: unrecognised conditional action %s when %r" % (name, a, when))
        if name in VERSION_OVERRIDES:
            if version_actions:
                die("%s: the json gives version actions now: drop its VERSION_OVERRIDES entry" % name)
            version_actions = list(VERSION_OVERRIDES[name])
        # Operations whose condition keys come from the XML body: tags
        # (PutObjectTagging), retention mode/date (PutObjectRetention), legal
        # hold (PutObjectLegalHold), location constraint (CreateBucket). The
        # proxy buffers such bodies and calls s3map_body_context().
        if set(actions) & BODY_KEY_ACTIONS:
            extras.add("S3MAP_X_BODY_KEYS")
        keys = set()
        for a in actions + version_actions + [x for b in extras for x in EXTRA_ACTIONS[b]]:
            for k in r["condition_keys"].get(a, []):
                if k in KEY_BITS:
                    keys.add(KEY_BITS[k])
        if name in VERSION_OVERRIDES:
            # the json has no keys for the version action; every version
            # action it does give has s3:versionid
            keys.add(KEY_BITS["s3:versionid"])
        ops.append(dict(name=name, method=method, target=target, selectors=selectors,
                        qmembers=qmembers, copy=copy, actions=actions,
                        version_actions=version_actions, extras=extras, keys=keys, wire=wire,
                        dropped=dropped, ignored=ignored, deprecated=r["deprecated"],
                        rtype={"object": "S3MAP_R_OBJECT", "bucket": "S3MAP_R_BUCKET",
                               "none": "S3MAP_R_NONE"}[r["resource_type"]],
                        basis=r["mapping_basis"], unrouted=None, routed_as=None,
                        answer=answer, takes=takes,
                        roots=ANSWER_ROOTS[name] + [name + "Response"] if name in ANSWER_ROOTS
                        else []))

    selector_names = set()
    for o in ops:
        for s in o["selectors"]:
            selector_names.add(s.split("=")[0])
    # optional selectors: query members of the op that are selectors elsewhere
    for o in ops:
        base = set(s.split("=")[0] for s in o["selectors"])
        o["optional"] = sorted(q for q in o["qmembers"] if q in selector_names and q not in base)

    sel_index = {n: i for i, n in enumerate(sorted(selector_names))}
    if len(sel_index) > 64:
        die("more than 64 selector names: the masks are 64-bit")

    def mask(names):
        m = 0
        for n in names:
            m |= 1 << sel_index[n.split("=")[0]]
        return "0x%016xull" % m

    def shape_of(o):
        return (o["method"], o["target"], tuple(sorted(o["selectors"])))

    by_shape = {}
    for o in ops:
        if o["name"] in UNROUTED:
            o["unrouted"], o["routed_as"] = UNROUTED[o["name"]]
            continue
        by_shape.setdefault(shape_of(o), []).append(o)
    for sh, group in by_shape.items():
        copiers = [o for o in group if o["copy"] == 1]
        for o in group:
            if copiers and o["copy"] == 0:
                o["copy"] = -1  # e.g. PutObject: without x-amz-copy-source
        live = [o for o in group if not o["deprecated"]]
        dead = [o for o in group if o["deprecated"]]
        if len(set(o["copy"] for o in live)) != len(live):
            die("ambiguous wire shape %s: %s" % (sh, [o["name"] for o in live]))
        for o in dead:
            twins = [x for x in live if x["copy"] == o["copy"]]
            if len(twins) != 1:
                die("deprecated %s has no single live twin" % o["name"])
            if twins[0]["actions"] != o["actions"]:
                die("deprecated %s authorizes differently from %s" % (o["name"], twins[0]["name"]))
            o["unrouted"] = "deprecated; the same request is %s" % twins[0]["name"]
            o["routed_as"] = twins[0]["name"]

    # condition keys known to S3 (for the policy validator)
    known, families = set(), set()
    for r in rows:
        for a, ks in r["condition_keys"].items():
            if not a.startswith("s3:"):
                continue
            for k in ks:
                if not k.startswith("s3:"):
                    continue
                if k.endswith("/<key>") or k.endswith("/${TagKey}"):
                    families.add(k[: k.index("/") + 1])
                else:
                    known.add(k)

    out = []
    w = out.append
    w("/*")
    w(" * s3ops_table.c - GENERATED by policy/gen_s3ops.py; do not edit.")
    w(" *")
    w(" * From botocore %s s3/2006-03-01/service-2.json.gz" % bc_version)
    w(" *   sha256 %s" % hashlib.sha256(raw_model).hexdigest())
    w(" * and tests/testdata/s3-operations/s3-operations.json")
    w(" *   sha256 %s" % hashlib.sha256(raw_ops).hexdigest())
    w(" */")
    w('#include "s3ops.h"')
    w("")
    for i, o in enumerate(ops):
        w("/* %s (%s) */" % (o["name"], o["basis"]))
        for d in o["dropped"]:
            w("/*   not authorized here: %s (%s) */" % (d, IGNORED_PREFIX_REASON))
        for d in o["ignored"]:
            w("/*   conditional, not authorized here: %s */" % d)
        w(c_list("sel_%d" % i, o["selectors"]))
        w(c_list("opt_%d" % i, o["optional"]))
        w(c_list("act_%d" % i, o["actions"]))
        if o["version_actions"]:
            w(c_list("ver_%d" % i, o["version_actions"]))
        if o["roots"]:
            w(c_list("ans_%d" % i, o["roots"]))
        if o["takes"]:
            w(c_list("hdr_%d" % i, o["takes"]))
    w("")
    w("static const struct s3map_op ops[] = {")
    for i, o in enumerate(ops):
        w("    { .name = %s, .method = %s," % (c_str(o["name"]), c_str(o["method"])))
        w("      .target = %s, .resource_type = %s, .deprecated = %s," % (
            o["target"] or "S3MAP_T_BUCKET", o["rtype"], "true" if o["deprecated"] else "false"))
        if o["unrouted"]:
            w("      .unrouted_reason = %s, .routed_as = %s," % (
                c_str(o["unrouted"]), c_str(o["routed_as"]) if o["routed_as"] else "NULL"))
        w("      .selectors = sel_%d, .optional = opt_%d, .copy_source = %d," % (i, i, o["copy"]))
        w("      .selector_mask = %s, .optional_mask = %s," % (mask(o["selectors"]), mask(o["optional"])))
        w("      .actions = act_%d, .version_actions = %s," % (
            i, ("ver_%d" % i) if o["version_actions"] else "NULL"))
        w("      .extras = %s," % (" | ".join(sorted(o["extras"])) or "0"))
        if o["wire"]:
            w("      .wire = %s," % " | ".join(sorted(o["wire"])))
        if o["takes"]:
            w("      .effect_headers = hdr_%d," % i)
        if o["roots"]:
            w("      .answer = S3MAP_A_XML, .answer_roots = ans_%d," % i)
        elif o["answer"] and o["answer"] != "S3MAP_A_ANY":
            w("      .answer = %s," % o["answer"])
        w("      .keys = %s }," % (" | ".join(sorted(o["keys"])) or "0"))
    w("};")
    w("")
    w("/* config.h's upstream \"operations\" keeps a bit per operation in 128 */")
    w("_Static_assert(sizeof ops / sizeof ops[0] <= 128, \"more operations than config_upstream.ops holds\");")
    w("const struct s3map_op *const s3map_ops_table = ops;")
    w("const size_t s3map_ops_count = sizeof ops / sizeof ops[0];")
    w("")
    w("/* Query parameter names some operation of the model takes. */")
    w("const char *const s3map_known_query_names[] = {")
    for q in sorted(all_query_names):
        w("    %s," % c_str(q))
    w("    NULL,")
    w("};")
    w("")
    w("/* Names that select an operation (a request may carry only the ones")
    w(" * its operation takes). Bit i of the masks above is entry i. */")
    w("const char *const s3map_selector_names[] = {")
    for q in sorted(selector_names):
        w("    %s," % c_str(q))
    w("    NULL,")
    w("};")
    w("")
    w("/* S3 condition keys of AWS's service authorization reference. */")
    w("const char *const s3map_condition_keys[] = {")
    for k in sorted(known, key=str.lower):
        w("    %s," % c_str(k))
    w("    NULL,")
    w("};")
    w("")
    w("/* Tag-key families: the prefix, followed by a non-empty tag key. */")
    w("const char *const s3map_condition_key_families[] = {")
    for k in sorted(families):
        w("    %s," % c_str(k))
    w("    NULL,")
    w("};")
    text = "\n".join(out) + "\n"
    if check:
        cur = open(OUT).read() if os.path.exists(OUT) else ""
        if cur != text:
            sys.stderr.write("gen_s3ops: %s is stale; rerun policy/gen_s3ops.py\n" % OUT)
            sys.exit(1)
        return
    with open(OUT, "w") as f:
        f.write(text)


# ---- --requests: real botocore requests as a unit test ----------------------
REQ_OUT = os.path.join(ROOT, "tests/unit/policy/test_s3map_botocore.c")


def botocore_requests():
    """Serialises one request per operation with botocore itself (path-style,
    nothing sent: a before-send hook captures it) - what boto3/aws cli put on
    the wire, including every optional header and query member."""
    import urllib.parse
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config
    from botocore.utils import ArgumentGenerator

    sess = botocore.session.get_session()
    cli = sess.create_client(
        "s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x" * 40, endpoint_url="http://127.0.0.1:9",
        config=Config(parameter_validation=False, s3={"addressing_style": "path"},
                      retries={"max_attempts": 0}))
    captured = []

    class Raw:
        def stream(self, **kw):
            return iter([b""])

        def read(self, *a, **k):
            return b""

    def before_send(request, **kw):
        captured.append(request)
        return AWSResponse(request.url, 200, {}, Raw())

    cli.meta.events.register("before-send.s3", before_send)
    model = cli.meta.service_model
    gen = ArgumentGenerator(use_member_names=True)
    cases = []
    for name in model.operation_names:
        op = model.operation_model(name)
        params = gen.generate_skeleton(op.input_shape) if op.input_shape else {}
        for k in list(params):
            if k == "ContentMD5" or k.startswith("Checksum"):
                del params[k]  # would make botocore compute checksums of nothing
            elif params[k] == "":
                params[k] = "v" + k
            elif k == "ACL":
                params[k] = "private"  # an enum: s3map refuses any other value (S3 does)
            elif k == "PartNumber":
                params[k] = 1  # 1..10000: s3map refuses 0 (S3 does)
        params.update({k: v for k, v in (("Bucket", "examplebucket"), ("Key", "dir/a b+c.txt"),
                                         ("Body", b"hello"),
                                         ("CopySource", "srcbucket/src key.txt?versionId=v1"),
                                         ("VersionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"))
                       if k in params})
        captured.clear()
        try:
            getattr(cli, botocore.xform_name(name))(**params)
        except Exception:
            pass  # the fake response does not parse; the request is what counts
        if not captured:
            die("botocore sent no request for %s" % name)
        r = captured[-1]
        u = urllib.parse.urlsplit(r.url)
        path = urllib.parse.unquote(u.path)
        bucket, _, key = path.lstrip("/").partition("/")
        hdrs = []
        for k, v in r.headers.items():
            v = v.decode() if isinstance(v, bytes) else v
            if k.lower().startswith(("x-amz-", "if-")) and k.lower() not in (
                    "x-amz-date", "x-amz-content-sha256"):
                hdrs += [k, v]
        cases.append((name, r.method, bucket, key, u.query, hdrs))
    return cases


def write_requests(check):
    import botocore
    cases = botocore_requests()
    out = []
    w = out.append
    w("/*")
    w(" * test_s3map_botocore.c - GENERATED by policy/gen_s3ops.py --requests; do not edit.")
    w(" *")
    w(" * One request per S3 operation exactly as botocore %s serialises it" % botocore.__version__)
    w(" * (path-style; every optional header and query member filled), and the")
    w(" * operation s3map must name for it: the operation itself, the live twin of")
    w(" * a deprecated one, or NotImplemented for endpoints s3warden is not.")
    w(" */")
    w("#include <setjmp.h>\n#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>")
    w("#include <string.h>\n\n#include <cmocka.h>\n\n#include \"s3map.h\"\n")
    w("struct bcase {\n    const char *op, *method, *bucket, *key, *query;")
    w("    const char *const *headers; /* name, value, ..., NULL */\n};\n")
    for i, (name, method, bucket, key, query, hdrs) in enumerate(cases):
        w(c_list("h%d" % i, hdrs))
    w("\nstatic const struct bcase cases[] = {")
    for i, (name, method, bucket, key, query, hdrs) in enumerate(cases):
        w("    { %s, %s, %s, %s, %s, h%d }," % (c_str(name), c_str(method), c_str(bucket),
                                               c_str(key), c_str(query), i))
    w("};")
    w("""
static void test_botocore_requests(void **state)
{
    (void)state;
    static struct s3map_result res;
    static struct s3w_header h[128];
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        const struct bcase *c = &cases[i];
        size_t nh = 0;
        for (const char *const *p = c->headers; *p; p += 2, nh++) {
            h[nh].name = s3w_slice_cstr(p[0]);
            h[nh].value = s3w_slice_cstr(p[1]);
        }
        struct s3map_request req = { s3w_slice_cstr(c->method), s3w_slice_cstr(c->bucket),
                                     s3w_slice_cstr(c->key), s3w_slice_cstr(c->query), h, nh };
        const struct s3map_op *want = s3map_op_by_name(s3w_slice_cstr(c->op));
        assert_non_null(want);
        int rc = s3map_map(&req, &res);
        if (want->unrouted_reason && !want->routed_as) {
            if (rc != S3MAP_E_NOT_IMPLEMENTED)
                fail_msg("%s: want NotImplemented, got %d", c->op, rc);
            continue;
        }
        if (rc)
            fail_msg("%s: %s %s/%s?%s -> %d (%s)", c->op, c->method, c->bucket, c->key, c->query,
                     rc, res.detail ? res.detail : "");
        const char *expect = want->routed_as ? want->routed_as : want->name;
        if (strcmp(res.op->name, expect))
            fail_msg("%s: identified as %s, want %s", c->op, res.op->name, expect);
        if (res.nauthz == 0 && !(res.flags & S3MAP_F_DELETE_BODY))
            fail_msg("%s: no authorization", c->op);
    }
    assert_int_equal(n, s3map_op_count());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_botocore_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}""")
    text = "\n".join(out) + "\n"
    if check:
        if not os.path.exists(REQ_OUT) or open(REQ_OUT).read() != text:
            sys.stderr.write("gen_s3ops: %s is stale\n" % REQ_OUT)
            sys.exit(1)
        return
    with open(REQ_OUT, "w") as f:
        f.write(text)


if __name__ == "__main__":
    if "--requests" in sys.argv[1:]:
        write_requests("--check" in sys.argv[1:])
    else:
        main()
