#!/usr/bin/env python3
"""Writes the invalid-config fixtures and EXPECTED.tsv (fixture, path,
message). Each fixture is a valid base config with one mistake; the expected
error is written by hand here from the rules in config/load.c's contract
(config.h, README) and the policy engine's documented messages - never taken
from a run of the loader. Re-run after changing a case:
    python3 tests/unit/config/bad/generate.py
"""
import copy, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "sts:AssumeRole"}]}
BASE = {
    "listeners": [{"address": "127.0.0.1", "port": 8080}],
    "upstream": {"endpoint": "http://127.0.0.1:5000", "region": "us-east-1"},
    "accounts": [{"id": "111111111111"}, {"id": "333333333333"}],
    "users": [{"account": "333333333333", "name": "Dave", "unique_id": "AIDADAVE0000000001",
               "access_keys": [{"id": "AKIADAVE000000000001", "secret": "davesecretdavesecretdavesecretdave000001"}]}],
    "roles": [{"account": "111111111111", "name": "examplerole", "unique_id": "AROAEXAMPLE00000001", "trust_policy": TRUST}],
    "buckets": [{"name": "examplebucket", "account": "111111111111"}],
    "sts": {"enabled": True, "keys": [{"id": "k1", "key": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "active": True}]},
}
SESSION = {"access_key_id": "AKIASESSION000000001", "secret": "sessionsecretsessionsecretsessionsecret1",
           "role_arn": "arn:aws:iam::111111111111:role/examplerole", "session_name": "i-0123456789"}
cases = []  # (name, text, path, message)

def case(name, mutate, path, message):
    c = copy.deepcopy(BASE)
    mutate(c)
    cases.append((name, json.dumps(c), path, message))

def raw(name, text, path, message):
    cases.append((name, text, path, message))

def key0(c):
    return c["users"][0]["access_keys"][0]

raw("json-syntax", '{"listeners": [}', "", "invalid JSON at line 1, column 16")
raw("json-not-object", "[1, 2]", "", "the config must be a JSON object, not an array")
base_text = json.dumps(BASE)
raw("json-trailing-data", base_text + " x", "", "invalid JSON at line 1, column %d: data after the document" % (len(base_text) + 2))
case("unknown-top-field", lambda c: c.update(listener=[]), "listener", "unknown field")
case("unknown-nested-field", lambda c: c["users"][0].update(acess_keys=[]), "users[0].acess_keys", "unknown field")
raw("duplicate-field", base_text.replace('"region": "us-east-1"', '"region": "us-east-1", "region": "eu-west-1"'),
    "upstream.region", "duplicate field")
case("listeners-missing", lambda c: c.pop("listeners"), "listeners", "is required")
case("listeners-empty", lambda c: c.update(listeners=[]), "listeners", "at least one listener is required")
case("listeners-two", lambda c: c["listeners"].append({"address": "127.0.0.1", "port": 8081}), "listeners",
     "2 listeners given, but s3warden serves exactly one (listeners[0]); remove the others or run one "
     "s3warden per listener")
case("listener-port-zero", lambda c: c["listeners"][0].update(port=0), "listeners[0].port", "must be an integer in 1..65535")
case("listener-port-string", lambda c: c["listeners"][0].update(port="80"), "listeners[0].port", "must be an integer in 1..65535")
case("listener-tls-no-key", lambda c: c["listeners"][0].update(tls={"cert_file": "c.pem"}), "listeners[0].tls.key_file", "is required")
case("upstream-missing", lambda c: c.pop("upstream"), "upstream", "is required")
case("upstream-endpoint-scheme", lambda c: c["upstream"].update(endpoint="ftp://x"), "upstream.endpoint", "must be an http:// or https:// URL")
case("upstream-addressing", lambda c: c["upstream"].update(addressing="vhost"), "upstream.addressing", 'must be "path" or "virtual"')
case("upstream-tls-verify-string", lambda c: c["upstream"].update(tls_verify="yes"), "upstream.tls_verify", "must be a boolean, not a string")
case("upstream-timeout-zero", lambda c: c["upstream"].update(connect_timeout_ms=0), "upstream.connect_timeout_ms", "must be an integer in 1..600000")
case("upstream-region-empty", lambda c: c["upstream"].update(region=""), "upstream.region", "must not be empty")
case("upstream-operations-unknown", lambda c: c["upstream"].update(operations=["GetObject", "GetObjects"]),
     "upstream.operations[1]", '"GetObjects" names no S3 operation (names as in the S3 API reference, e.g. "GetObject", or patterns such as "Get*")')
case("upstream-operations-empty", lambda c: c["upstream"].update(operations=[]),
     "upstream.operations", "must name at least one operation (leave it out for all of them)")
case("upstream-operations-number", lambda c: c["upstream"].update(operations=["Get*", 7]),
     "upstream.operations[1]", "must be a string, not a number")
case("upstream-operations-string", lambda c: c["upstream"].update(operations="all"),
     "upstream.operations", "must be an array, not a string")
case("account-id-short", lambda c: c["accounts"].append({"id": "12345678901"}), "accounts[2].id", "must be a 12-digit account id")
case("account-duplicate", lambda c: c["accounts"].append({"id": "111111111111"}), "accounts[2].id", "duplicate account 111111111111")
case("user-unknown-account", lambda c: c["users"][0].update(account="444444444444"), "users[0].account", "unknown account 444444444444 (not in accounts)")
case("user-unique-id-prefix", lambda c: c["users"][0].update(unique_id="AROADAVE0000000001"), "users[0].unique_id",
     "must be AIDA followed by upper-case letters and digits (8..128 characters)")
case("user-name-space", lambda c: c["users"][0].update(name="Dave Smith"), "users[0].name", "must be 1..64 characters of [A-Za-z0-9+=,.@_-]")
case("user-duplicate-name-case", lambda c: c["users"].append({"account": "333333333333", "name": "dave", "unique_id": "AIDADAVE0000000002"}),
     "users[1].name", "duplicate user dave in account 333333333333")
case("access-key-lowercase", lambda c: key0(c).update(id="akiadave000000000001"), "users[0].access_keys[0].id", "must be 16..128 characters of A-Z and 0-9")
case("access-key-asia", lambda c: key0(c).update(id="ASIADAVE000000000001"), "users[0].access_keys[0].id",
     "the ASIA prefix is reserved for temporary keys minted by the local STS")
case("access-key-duplicate", lambda c: c.update(role_sessions=[dict(SESSION, access_key_id="AKIADAVE000000000001")]),
     "role_sessions[0].access_key_id", "duplicate access key id AKIADAVE000000000001")
case("secret-two-sources", lambda c: key0(c).update(secret_env="X"), "users[0].access_keys[0].secret",
     "exactly one of secret, secret_file, secret_env is required")
case("secret-none", lambda c: key0(c).pop("secret"), "users[0].access_keys[0].secret",
     "exactly one of secret, secret_file, secret_env is required")
case("secret-env-unset", lambda c: (key0(c).pop("secret"), key0(c).update(secret_env="S3W_TEST_UNSET_VARIABLE")),
     "users[0].access_keys[0].secret_env", "environment variable S3W_TEST_UNSET_VARIABLE is not set")
case("secret-file-missing", lambda c: (key0(c).pop("secret"), key0(c).update(secret_file="no-such-secret")),
     "users[0].access_keys[0].secret_file", "cannot read file 'no-such-secret': No such file or directory")
case("secret-too-short", lambda c: key0(c).update(secret="short"), "users[0].access_keys[0].secret",
     "a secret access key must be 16..128 printable characters without spaces")
case("access-key-status", lambda c: key0(c).update(status="Disabled"), "users[0].access_keys[0].status", 'must be "Active" or "Inactive"')
case("access-keys-three", lambda c: c["users"][0]["access_keys"].extend([
        {"id": "AKIADAVE000000000002", "secret": "davesecretdavesecretdavesecretdave000002"},
        {"id": "AKIADAVE000000000003", "secret": "davesecretdavesecretdavesecretdave000003"}]),
     "users[0].access_keys", "at most 2 access keys")
case("tag-value-number", lambda c: c["users"][0].update(tags={"team": 7}), "users[0].tags.team", "must be a string, not a number")
case("tag-key-duplicate-case", lambda c: c["users"][0].update(tags={"team": "a", "Team": "b"}), "users[0].tags.Team",
     "duplicate tag key (tag keys are case-insensitive)")
case("user-path-no-slash", lambda c: c["users"][0].update(path="/eng"), "users[0].path",
     "must begin and end with '/' (e.g. \"/\" or \"/division/\")")
case("role-trust-missing", lambda c: c["roles"][0].pop("trust_policy"), "roles[0].trust_policy", "trust_policy or trust_policy_file is required")
case("role-trust-both", lambda c: c["roles"][0].update(trust_policy_file="t.json"), "roles[0].trust_policy",
     "only one of trust_policy, trust_policy_file may be set")
case("role-trust-resource", lambda c: c["roles"][0]["trust_policy"]["Statement"][0].update(Resource="*"), "roles[0].trust_policy.Statement[0]",
     "a trust policy has no Resource or NotResource (the role is the resource)")
case("role-trust-no-principal", lambda c: c["roles"][0]["trust_policy"]["Statement"][0].pop("Principal"), "roles[0].trust_policy.Statement[0]",
     "missing required field Principal (a trust policy statement must name who may assume the role)")
case("role-trust-notprincipal", lambda c: c["roles"][0]["trust_policy"]["Statement"][0].update(
        NotPrincipal=c["roles"][0]["trust_policy"]["Statement"][0].pop("Principal")), "roles[0].trust_policy.Statement[0]",
     "NotPrincipal is not allowed in a trust policy")
case("role-trust-bad-effect", lambda c: c["roles"][0]["trust_policy"]["Statement"][0].update(Effect="Permit"),
     "roles[0].trust_policy.Statement[0].Effect", 'invalid effect "Permit" (must be "Allow" or "Deny")')
case("role-max-session", lambda c: c["roles"][0].update(max_session_duration=100), "roles[0].max_session_duration", "must be an integer in 3600..43200")
case("role-unique-id-duplicate", lambda c: c["roles"].append({"account": "111111111111", "name": "other", "unique_id": "AROAEXAMPLE00000001", "trust_policy": TRUST}),
     "roles[1].unique_id", "duplicate unique id AROAEXAMPLE00000001 (already used by a role)")
case("role-session-unknown-role", lambda c: c.update(role_sessions=[dict(SESSION, role_arn="arn:aws:iam::111111111111:role/nope")]),
     "role_sessions[0].role_arn", "unknown role arn:aws:iam::111111111111:role/nope (not in roles)")
case("role-session-name-short", lambda c: c.update(role_sessions=[dict(SESSION, session_name="i")]),
     "role_sessions[0].session_name", "must be 2..64 characters of [A-Za-z0-9+=,.@_-]")
case("bucket-name-upper", lambda c: c["buckets"][0].update(name="ExampleBucket"), "buckets[0].name",
     "invalid bucket name (3..63 of a-z, 0-9, '.', '-'; starting and ending with a letter or digit)")
case("bucket-upstream-shared", lambda c: c["buckets"].append({"name": "alias", "account": "333333333333", "upstream_name": "examplebucket"}),
     "buckets[1].upstream_name",
     "upstream bucket examplebucket is already used by bucket examplebucket (buckets[0]): each upstream bucket has one owner and one bucket policy")
case("bucket-upstream-shared-default", lambda c: c["buckets"].insert(0, {"name": "alias", "account": "333333333333", "upstream_name": "examplebucket"}),
     "buckets[1].name",
     "upstream bucket examplebucket is already used by bucket alias (buckets[0]): each upstream bucket has one owner and one bucket policy")
case("bucket-duplicate", lambda c: c["buckets"].append({"name": "examplebucket", "account": "111111111111"}), "buckets[1].name",
     "duplicate bucket examplebucket")
case("bucket-policy-bad-effect", lambda c: c["buckets"][0].update(policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Permit", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::examplebucket/*"}]}),
     "buckets[0].policy.Statement[0].Effect", 'invalid effect "Permit" (must be "Allow" or "Deny")')
case("bucket-policy-file-missing", lambda c: c["buckets"][0].update(policy_file="nope.json"), "buckets[0].policy_file",
     "cannot read file 'nope.json': No such file or directory")
case("identity-policy-principal", lambda c: c["users"][0].update(policies=[{"name": "p", "document": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}}]),
     "users[0].policies[0].document.Statement[0].Principal", "not allowed in identity-based policies")
case("policy-name-duplicate", lambda c: c["users"][0].update(policies=[
        {"name": "p", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}},
        {"name": "p", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}]),
     "users[0].policies[1].name", "duplicate policy name p")
case("policy-document-string", lambda c: c["users"][0].update(policies=[{"name": "p", "document": "{}"}]),
     "users[0].policies[0].document", "must be a policy document (a JSON object), not a string")
case("audit-output-empty", lambda c: c.update(audit={"output": ""}), "audit.output", "must not be empty")
case("limits-header-bytes", lambda c: c.update(limits={"max_header_bytes": 10}), "limits.max_header_bytes", "must be an integer in 1024..1048576")
case("sts-no-keys", lambda c: c["sts"].pop("keys"), "sts.keys", "is required when sts is enabled")
case("sts-key-short", lambda c: c["sts"]["keys"][0].update(key="0011"), "sts.keys[0].key",
     "must be 32 random bytes as 64 hex digits (e.g. from `openssl rand -hex 32`)")
case("sts-two-active", lambda c: c["sts"]["keys"].append({"id": "k2", "key": "ff" * 32, "active": True}), "sts.keys",
     "exactly one key must be active (found 2)")
case("sts-key-id-duplicate", lambda c: c["sts"]["keys"].append({"id": "k1", "key": "ff" * 32}), "sts.keys[1].id", "duplicate key id k1")
case("credentials-unknown-type", lambda c: c.update(credentials={"chain": [{"type": "instance"}]}), "credentials.chain[0].type",
     "must be one of static, env, profile, imds, ecs, web_identity")
case("credentials-static-no-secret", lambda c: c.update(credentials={"chain": [{"type": "static", "access_key_id": "AKIAPROXY00000000001"}]}),
     "credentials.chain[0].secret", "exactly one of secret, secret_file, secret_env is required")
case("credentials-assume-role-arn", lambda c: c.update(credentials={"chain": [{"type": "env"}], "assume_role": {"role_arn": "arn:aws:iam::1:user/x"}}),
     "credentials.assume_role.role_arn", "must be a role ARN, arn:aws:iam::ACCOUNT:role/NAME")
case("vhost-domain-upper", lambda c: c.update(virtual_host_domains=["S3.Local"]), "virtual_host_domains[0]",
     "must be a lower-case DNS name, e.g. \"s3.example.com\"")
# issue 6 (operations): admin listener, shutdown drain, log level
case("admin-not-object", lambda c: c.update(admin=9090), "admin", "must be an object, not a number")
case("admin-unknown-field", lambda c: c.update(admin={"port": 9091, "listen": "127.0.0.1"}), "admin.listen", "unknown field")
case("admin-address-hostname", lambda c: c.update(admin={"address": "localhost"}), "admin.address",
     'must be an IPv4 or IPv6 address literal, e.g. "127.0.0.1" or "::1"')
case("admin-address-empty", lambda c: c.update(admin={"address": ""}), "admin.address", "must not be empty")
case("admin-port-range", lambda c: c.update(admin={"port": 65536}), "admin.port", "must be an integer in 0..65535")
case("admin-port-negative", lambda c: c.update(admin={"port": -1}), "admin.port", "must be an integer in 0..65535")
case("admin-port-string", lambda c: c.update(admin={"port": "9090"}), "admin.port", "must be an integer in 0..65535")
case("admin-window-zero", lambda c: c.update(admin={"upstream_ready_window_seconds": 0}), "admin.upstream_ready_window_seconds",
     "must be an integer in 1..86400")
case("admin-window-over", lambda c: c.update(admin={"upstream_ready_window_seconds": 86401}), "admin.upstream_ready_window_seconds",
     "must be an integer in 1..86400")
case("admin-port-clash", lambda c: c.update(admin={"port": 8080}), "admin.port",
     "127.0.0.1:8080 clashes with listeners[0] (127.0.0.1:8080): the admin listener needs a port of its own")
case("admin-port-clash-wildcard", lambda c: (c["listeners"][0].update(address="0.0.0.0"), c.update(admin={"address": "10.1.2.3", "port": 8080})),
     "admin.port", "10.1.2.3:8080 clashes with listeners[0] (0.0.0.0:8080): the admin listener needs a port of its own")
case("limits-shutdown-timeout", lambda c: c.update(limits={"shutdown_timeout_ms": 3600001}), "limits.shutdown_timeout_ms",
     "must be an integer in 0..3600000")
case("log-level-unknown", lambda c: c.update(log={"level": "verbose"}), "log.level", 'must be "debug", "info", "warn" or "error"')
case("log-level-upper", lambda c: c.update(log={"level": "INFO"}), "log.level", 'must be "debug", "info", "warn" or "error"')
case("log-unknown-field", lambda c: c.update(log={"format": "json"}), "log.format", "unknown field")
case("log-not-object", lambda c: c.update(log="info"), "log", "must be an object, not a string")

# CORS (buckets[].cors) and audit (issue 13): these fixtures were written
# by hand beside this script; kept here so that a re-run keeps them
def cors(c, v):
    c["buckets"][0]["cors"] = v
def rule(**kw):
    r = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    r.update(kw)
    return {"CORSRules": [r]}
case("cors-not-object", lambda c: cors(c, [{"AllowedOrigins": ["*"]}]), "buckets[0].cors",
     'must be an object {"CORSRules": [...]} (as aws s3api get-bucket-cors prints)')
case("cors-no-rules", lambda c: cors(c, {"CORSRules": []}), "buckets[0].cors.CORSRules",
     "required: an array of 1 to 100 CORSRule objects")
case("cors-unknown-field", lambda c: cors(c, rule(AllowedOrigin="x")), "buckets[0].cors.CORSRules[0].AllowedOrigin", "unknown field")
case("cors-no-origins", lambda c: cors(c, {"CORSRules": [{"AllowedMethods": ["GET"]}]}), "buckets[0].cors.CORSRules[0].AllowedOrigins",
     "required (at least one origin)")
case("cors-two-wildcards", lambda c: cors(c, rule(AllowedOrigins=["https://*.example.*"])), "buckets[0].cors.CORSRules[0].AllowedOrigins[0]",
     "may hold at most one '*' wildcard")
case("cors-bad-method", lambda c: cors(c, rule(AllowedMethods=["GET", "get"])), "buckets[0].cors.CORSRules[0].AllowedMethods[1]",
     "unsupported HTTP method in CORS config (one of GET, PUT, POST, DELETE, HEAD, in capitals)")
case("cors-expose-wildcard", lambda c: cors(c, rule(ExposeHeaders=["x-amz-*"])), "buckets[0].cors.CORSRules[0].ExposeHeaders[0]",
     "may not hold a '*' wildcard")
case("cors-max-age", lambda c: cors(c, rule(MaxAgeSeconds=-1)), "buckets[0].cors.CORSRules[0].MaxAgeSeconds",
     "must be an integer from 0 to 2147483647")
case("cors-header-crlf", lambda c: cors(c, rule(AllowedHeaders=["a\r\nb"])), "buckets[0].cors.CORSRules[0].AllowedHeaders[0]",
     "must be printable ASCII of at most 1024 characters")
case("audit-backlog-small", lambda c: c.update(audit={"output": "stdout", "backlog_records": 1000}),
     "audit.backlog_records", "must be an integer in 1024..1048576")
case("audit-on-backlog-bad", lambda c: c.update(audit={"output": "stdout", "on_backlog": "wait"}), "audit.on_backlog",
     'must be "refuse" or "drop"')
case("audit-format-bad", lambda c: c.update(audit={"format": "ocsf"}), "audit.format", 'must be "s3warden" or "cloudtrail"')
case("audit-account-bad", lambda c: c.update(audit={"format": "cloudtrail", "account_id": "12345"}), "audit.account_id",
     "must be a 12-digit account id")

# issue 14: several upstreams. MULTI: two named upstreams, the top-level
# credentials, one credential set; each case one mistake in it.
MULTI = copy.deepcopy(BASE)
MULTI.pop("upstream")
MULTI.update(
    upstreams=[{"name": "rgw", "endpoint": "http://127.0.0.1:7480", "region": "us-east-1"},
               {"name": "moto", "endpoint": "http://127.0.0.1:5000", "region": "eu-west-1",
                "credentials": "partner-role", "readiness": "optional"}],
    credentials={"chain": [{"type": "env"}]},
    credential_sets=[{"name": "partner-role", "chain": [{"type": "env"}],
                      "assume_role": {"role_arn": "arn:aws:iam::222222222222:role/s3warden"}}],
    default_upstream="rgw",
    buckets=[{"name": "examplebucket", "account": "111111111111"},
             {"name": "sharedbucket", "account": "111111111111", "upstream": "moto"}])
S3_SINK = {"type": "s3", "bucket": "audit-logs", "spool_dir": "spool"}

def mcase(name, mutate, path, message):
    c = copy.deepcopy(MULTI)
    mutate(c)
    cases.append((name, json.dumps(c), path, message))

def ups(c, i):
    return c["upstreams"][i]

mcase("upstreams-bucket-unknown", lambda c: c["buckets"][1].update(upstream="rgw2"), "buckets[1].upstream",
      'no upstream named "rgw2" (upstreams: rgw, moto)')
mcase("upstreams-bucket-upstream-number", lambda c: c["buckets"][1].update(upstream=2), "buckets[1].upstream",
      "must be a string, not a number")
mcase("upstreams-bucket-shared-same-upstream", lambda c: c["buckets"].append(
        {"name": "alias", "account": "333333333333", "upstream_name": "sharedbucket", "upstream": "moto"}),
      "buckets[2].upstream_name",
      "upstream bucket sharedbucket on upstream moto is already used by bucket sharedbucket (buckets[1]): "
      "each upstream bucket has one owner and one bucket policy")
mcase("upstreams-bucket-shared-default-upstream", lambda c: c["buckets"].append(
        {"name": "alias", "account": "333333333333", "upstream_name": "examplebucket", "upstream": "rgw"}),
      "buckets[2].upstream_name",
      "upstream bucket examplebucket on upstream rgw is already used by bucket examplebucket (buckets[0]): "
      "each upstream bucket has one owner and one bucket policy")
mcase("upstreams-name-duplicate", lambda c: (ups(c, 1).update(name="rgw"), c["buckets"][1].update(upstream="rgw")), "upstreams[1].name", "duplicate upstream rgw")
mcase("upstreams-name-default-legacy", lambda c: (c.update(upstream={"endpoint": "http://127.0.0.1:9000", "region": "us-east-1"}),
                                                  ups(c, 1).update(name="default"), c["buckets"][1].update(upstream="rgw")),
      "upstreams[1].name", 'duplicate upstream default (the "upstream" object is the upstream named default)')
mcase("upstreams-name-space", lambda c: (ups(c, 1).update(name="moto 2"), c["buckets"][1].pop("upstream")), "upstreams[1].name",
      "must be 1..64 characters of [A-Za-z0-9_.-]")
mcase("upstreams-name-long", lambda c: (ups(c, 1).update(name="m" * 65), c["buckets"][1].pop("upstream")), "upstreams[1].name",
      "must be 1..64 characters of [A-Za-z0-9_.-]")
mcase("upstreams-name-missing", lambda c: (ups(c, 1).pop("name"), c["buckets"][1].pop("upstream")), "upstreams[1].name", "is required")
mcase("upstreams-default-required", lambda c: c.pop("default_upstream"), "default_upstream",
      'is required: "upstreams" has 2 entries and there is no "upstream"')
mcase("upstreams-default-unknown", lambda c: c.update(default_upstream="aws"), "default_upstream",
      'no upstream named "aws" (upstreams: rgw, moto)')
# what the proxy keeps state for: 128 upstreams, 128 credential sets
mcase("upstreams-too-many", lambda c: c["upstreams"].extend(
          {"name": f"u{i}", "endpoint": f"http://127.0.0.1:{7000 + i}", "region": "us-east-1"}
          for i in range(127)), "upstreams", '129 upstreams given (with "upstream"); at most 128')
mcase("credential-sets-too-many", lambda c: c["credential_sets"].extend(
          {"name": f"set{i}", "chain": [{"type": "env"}]} for i in range(127)), "credential_sets",
      '129 credential sets given (with the top-level "credentials" and the upstreams\' own); '
      'at most 128')
mcase("upstreams-empty", lambda c: (c.update(upstreams=[]), c.pop("default_upstream"), c["buckets"].pop()),
      "upstreams", "at least one upstream is required")
mcase("upstreams-not-array", lambda c: (c.update(upstreams=ups(c, 0)), c.pop("default_upstream"), c["buckets"].pop()),
      "upstreams", "must be an array, not an object")
mcase("upstreams-entry-string", lambda c: (c["upstreams"].append("aws")), "upstreams[2]", "must be an object, not a string")
mcase("upstreams-readiness", lambda c: ups(c, 0).update(readiness="soft"), "upstreams[0].readiness",
      'must be "required" or "optional"')
mcase("upstreams-unknown-field", lambda c: ups(c, 0).update(credential="partner-role"), "upstreams[0].credential", "unknown field")
mcase("upstreams-endpoint-scheme", lambda c: ups(c, 1).update(endpoint="s3://x"), "upstreams[1].endpoint",
      "must be an http:// or https:// URL")
mcase("upstreams-region-missing", lambda c: ups(c, 1).pop("region"), "upstreams[1].region", "is required")
mcase("upstreams-timeout-zero", lambda c: ups(c, 1).update(idle_timeout_ms=0), "upstreams[1].idle_timeout_ms",
      "must be an integer in 1..3600000")
mcase("upstreams-credentials-unknown", lambda c: ups(c, 1).update(credentials="partner"), "upstreams[1].credentials",
      'no credential set named "partner" (credential sets: default, partner-role)')
mcase("upstreams-credentials-own-set-name", lambda c: (ups(c, 0).update(credentials={"chain": [{"type": "imds"}]}),
                                                       ups(c, 1).update(credentials="upstream:rgw")),
      "upstreams[1].credentials", 'no credential set named "upstream:rgw" (credential sets: default, partner-role)')
mcase("upstreams-credentials-number", lambda c: ups(c, 1).update(credentials=1), "upstreams[1].credentials",
      "must be an object (the upstream's own chain) or the name of a credential set, not a number")
mcase("upstreams-credentials-empty", lambda c: ups(c, 1).update(credentials=""), "upstreams[1].credentials", "must not be empty")
mcase("upstreams-credentials-absent", lambda c: c.pop("credentials"), "upstreams[0]",
      'has no "credentials" and there is no top-level "credentials" (give its own, or name a credential set)')
mcase("upstreams-credentials-own-bad", lambda c: ups(c, 0).update(credentials={"chain": [{"type": "instance"}]}),
      "upstreams[0].credentials.chain[0].type", "must be one of static, env, profile, imds, ecs, web_identity")
mcase("upstreams-credentials-own-name", lambda c: ups(c, 0).update(credentials={"name": "x", "chain": [{"type": "env"}]}),
      "upstreams[0].credentials.name", "unknown field")
mcase("credential-set-default", lambda c: c["credential_sets"].append({"name": "default", "chain": [{"type": "env"}]}),
      "credential_sets[1].name", '"default" is the name of the top-level "credentials"; choose another name')
mcase("credential-set-duplicate", lambda c: c["credential_sets"].append({"name": "partner-role", "chain": [{"type": "env"}]}),
      "credential_sets[1].name", "duplicate credential set partner-role")
mcase("credential-set-name-slash", lambda c: c["credential_sets"].append({"name": "team/a", "chain": [{"type": "env"}]}),
      "credential_sets[1].name", "must be 1..64 characters of [A-Za-z0-9_.-]")
mcase("credential-set-no-name", lambda c: c["credential_sets"].append({"chain": [{"type": "env"}]}),
      "credential_sets[1].name", "is required")
mcase("credential-set-no-chain", lambda c: c["credential_sets"][0].pop("chain"), "credential_sets[0].chain", "is required")
mcase("credential-set-unknown-field", lambda c: c["credential_sets"][0].update(upstream="moto"),
      "credential_sets[0].upstream", "unknown field")
mcase("credential-sets-not-array", lambda c: (c.update(credential_sets={"name": "partner-role"}), ups(c, 1).pop("credentials")),
      "credential_sets", "must be an array, not an object")
mcase("audit-sink-upstream-unknown", lambda c: c.update(audit={"format": "cloudtrail", "account_id": "111111111111",
                                                               "sinks": [dict(S3_SINK, upstream="archive")]}),
      "audit.sinks[0].upstream", 'no upstream named "archive" (upstreams: rgw, moto)')
mcase("audit-sink-syslog-upstream", lambda c: c.update(audit={"sinks": [{"type": "syslog", "address": "127.0.0.1",
                                                                          "spool_dir": "spool", "upstream": "moto"}]}),
      "audit.sinks[0].upstream", "unknown field")

case("audit-sink-syslog-max-message-small", lambda c: c.update(audit={"sinks": [{
    "type": "syslog", "address": "127.0.0.1", "spool_dir": "spool", "max_message_bytes": 480}]}),
     "audit.sinks[0].max_message_bytes", "must be an integer in 1024..65535")

with open(os.path.join(HERE, "EXPECTED.tsv"), "w") as tsv:
    for name, text, path, msg in cases:
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            f.write(text)
        tsv.write("%s.json\t%s\t%s\n" % (name, path, msg))
print(len(cases), "fixtures")
