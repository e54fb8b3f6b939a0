#!/usr/bin/env python3
"""`s3warden replay` of real traffic (issue 16): the aws cli and boto3 go
through `serve` with the demo config (deploy/examples/demo.json, only the
ports, upstream and audit file rewritten), and the audit log it writes is
decided again by `s3warden replay`:

- against the same config: zero flips (exit 0), every record replayable;
- against a candidate adding a guardrail that denies s3:PutObject outside
  incoming/: exactly the recorded PUTs outside incoming/ that were allowed
  are newly denied (exit 1), grouped by principal, action and bucket, the
  guardrail's Deny named as deciding;
- traffic recorded under that guardrail, replayed against the demo config
  (the guardrail's Deny removed): exactly those PUTs are newly allowed;
- role sessions from s3warden's STS, one with a session policy: its
  records carry the policy and replay decides them with it (no false
  "newly allowed"); records without the field are not replayable.

The expected sets come from what each client did, not from s3warden.
"""
import gzip
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

DEMO = os.path.join(ROOT, "deploy", "examples", "demo.json")
PENDING = {}
UP = None
BUCKET = "acme-shared"
GUARD = {"name": "puts-only-incoming", "document": {"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "PutsOnlyIncoming", "Effect": "Deny", "Action": "s3:PutObject",
     "NotResource": "arn:aws:s3:::acme-shared/incoming/*"}]}}


def setUpModule():
    global UP
    UP = Moto(auth=False, buckets=[BUCKET]).start()


def tearDownModule():
    cleanup_all()


def demo(guardrail=False):
    with open(DEMO) as f:
        cfg = json.load(f)
    if guardrail:
        cfg["guardrails"] = [GUARD]
    return cfg


def deployed(cfg, port, audit):
    cfg = json.loads(json.dumps(cfg))
    cfg["listeners"] = [{"address": "127.0.0.1", "port": port}]
    cfg["upstream"] = dict(cfg["upstream"], endpoint=UP.endpoint, region=REGION)
    cfg["credentials"] = {"chain": [{"type": "static", "access_key_id": UP.access_key,
                                     "secret": UP.secret_key}]}
    cfg["audit"] = {"output": audit}
    cfg.pop("admin", None)
    return cfg


def candidate(tmp, name, cfg):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(deployed(cfg, 1, os.path.join(tmp, "unused-audit.log")), f)
    return path


KEYS = {"admin": ("AKIADEMOACMEADMIN001", "demo-acme-admin-secret-not-for-production"),
        "intern": ("AKIADEMOPARTNERINT01", "demo-partner-intern-secret-not-for-prod"),
        "app": ("AKIADEMOPARTNERAPP01", "demo-partner-app-secret-not-for-production")}
ADMIN = user_arn("111111111111", "acme-admin")
APP = session_arn("222222222222", "partner-reader", "i-0123456789abcdef0")


def traffic(px, tag):
    """The same requests for each run; returns the keys of the PUTs outside
    incoming/ that the demo config allows (the acme admin's)."""
    d = tmpdir(f"replay-{tag}")
    src = os.path.join(d, "f.txt")
    with open(src, "w") as f:
        f.write("data\n")
    # aws cli as the partner app (a role session of partner-reader)
    app = Key("app")
    app.id, app.secret = KEYS["app"]
    aws(px.endpoint, app, "s3", "cp", src, f"s3://{BUCKET}/incoming/{tag}-app.txt")
    aws(px.endpoint, app, "s3", "ls", f"s3://{BUCKET}/incoming/")
    aws(px.endpoint, app, "s3", "cp", f"s3://{BUCKET}/incoming/{tag}-app.txt", "-")
    aws(px.endpoint, app, "s3api", "put-object", "--bucket", BUCKET, "--key",
        f"reports/{tag}-app.csv", "--body", src)  # denied by the bucket policy
    # boto3 as the acme admin (same account) and the partner intern
    admin = px.client(KEYS["admin"])
    outside = [f"reports/{tag}-1.csv", f"reports/{tag}-2.csv"]
    for k in outside + [f"incoming/{tag}-admin.txt"]:
        try:
            admin.put_object(Bucket=BUCKET, Key=k, Body=b"x")
        except Exception:  # noqa: BLE001 - denied under the guardrail
            pass
    admin.get_object(Bucket=BUCKET, Key=f"incoming/{tag}-app.txt")["Body"].read()
    admin.list_objects_v2(Bucket=BUCKET, Prefix="reports/")
    intern = px.client(KEYS["intern"])
    for call in (lambda: intern.get_object(Bucket=BUCKET, Key=f"incoming/{tag}-app.txt"),
                 lambda: intern.put_object(Bucket=BUCKET, Key=f"incoming/{tag}-intern.txt", Body=b"x")):
        try:
            call()
        except Exception:  # noqa: BLE001 - denied by DenyEveryoneElse
            pass
    return outside


def replay(config, *files, stdin=None):
    r = subprocess.run([BIN, "replay", "--config", config, "--json", *files], input=stdin,
                       capture_output=True, timeout=60)
    out = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, out, r.stderr.decode(errors="replace")


class Replay(Case):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir("replay")
        cls.demo_cfg = candidate(cls.tmp, "demo.json", demo())
        cls.guard_cfg = candidate(cls.tmp, "guardrail.json", demo(guardrail=True))
        # the demo config: the traffic, its audit log
        px = Proxy(lambda port, audit: deployed(demo(), port, audit), "replay-demo").start()
        cls.outside = traffic(px, "a")
        px.stop()  # the writer has flushed every record
        cls.records = px.audit()
        cls.log = px.audit_path
        # the same traffic under the guardrail
        px2 = Proxy(lambda port, audit: deployed(demo(guardrail=True), port, audit),
                    "replay-guard").start()
        cls.outside2 = traffic(px2, "b")
        px2.stop()
        cls.records2 = px2.audit()
        cls.log2 = px2.audit_path

    def test_records_carry_request_context(self):
        evaluated = [a for a in self.records if a.get("actions")]
        self.assertGreaterEqual(len(evaluated), 10)
        for a in evaluated:
            ctx = a.get("requestContext")
            self.assertIsNotNone(ctx, a)
            self.assertIn("aws:CurrentTime", ctx)
            self.assertIn("aws:SourceIp", ctx)
            self.assertNotIn("truncated", a)
            for k in ctx:
                self.assertNotRegex(k.lower(), "token$|signature$|secret", a)
        line = open(self.log).read()
        self.assertNotIn(KEYS["admin"][1], line)
        self.assertNotIn("Signature=", line)

    def test_same_config_no_flips(self):
        rc, out, err = replay(self.demo_cfg, self.log)
        self.assertEqual(rc, 0, (out, err))
        self.assertEqual(out["read"], len(self.records))
        self.assertEqual(out["newlyDenied"], 0)
        self.assertEqual(out["newlyAllowed"], 0)
        evaluated = [a for a in self.records if a.get("actions")]
        self.assertEqual(out["unchanged"], len(evaluated), out)
        self.assertEqual(out["notReplayable"], len(self.records) - len(evaluated), out)
        # denials were recorded too (the app outside incoming/, the intern)
        self.assertGreaterEqual(len([a for a in evaluated if a["decision"] != "Allowed"]), 3)

    def test_guardrail_denies_exactly_the_puts_outside_incoming(self):
        want = sorted(a["requestID"] for a in self.records
                      if a.get("eventName") == "PutObject" and a["decision"] == "Allowed"
                      and not a["requestParameters"]["key"].startswith("incoming/"))
        self.assertEqual(len(want), len(self.outside), "the admin's two PUTs outside incoming/")
        rc, out, err = replay(self.guard_cfg, self.log)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out["newlyDenied"], len(want), out)
        self.assertEqual(out["newlyAllowed"], 0, out)
        self.assertEqual(len(out["flips"]), 1, out)
        f = out["flips"][0]
        self.assertEqual((f["change"], f["principal"], f["action"], f["bucket"], f["count"]),
                         ("newlyDenied", ADMIN, "s3:PutObject", BUCKET, 2))
        self.assertEqual(f["deciding"], "puts-only-incoming:PutsOnlyIncoming")
        self.assertIn("with an explicit deny in a service control policy", f["message"])
        self.assertTrue(any(rid in f["example"] for rid in want), f)
        self.assertIn("reports/a-", f["example"])

    def test_removing_the_deny_allows_them_again(self):
        want = [a for a in self.records2 if a.get("eventName") == "PutObject"
                and a["userIdentity"].get("arn") == ADMIN and a["decision"] == "ExplicitlyDenied"]
        self.assertEqual(sorted(a["requestParameters"]["key"] for a in want), sorted(self.outside2))
        rc, out, err = replay(self.demo_cfg, self.log2)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual((out["newlyAllowed"], out["newlyDenied"]), (len(want), 0), out)
        f = out["flips"][0]
        self.assertEqual((f["change"], f["principal"], f["action"], f["bucket"], f["count"]),
                         ("newlyAllowed", ADMIN, "s3:PutObject", BUCKET, 2))
        self.assertEqual(f["deciding"], "s3-admin:Statement[0]")

    def test_gzip_stdin_and_text(self):
        gz = os.path.join(self.tmp, "audit.log.gz")
        with open(self.log, "rb") as f, gzip.open(gz, "wb") as g:
            shutil.copyfileobj(f, g)
        rc, out, _ = replay(self.guard_cfg, gz)
        self.assertEqual((rc, out["newlyDenied"]), (1, 2))
        with open(self.log, "rb") as f:
            rc, out, _ = replay(self.guard_cfg, "-", stdin=f.read())
        self.assertEqual((rc, out["newlyDenied"], out["read"]), (1, 2, len(self.records)))
        # both logs at once: the flips add up
        rc, out, _ = replay(self.guard_cfg, self.log, self.log2)
        self.assertEqual(out["read"], len(self.records) + len(self.records2))
        r = subprocess.run([BIN, "replay", "--config", self.guard_cfg, self.log], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("newly denied      2", r.stdout)
        self.assertIn(f"NEWLY DENIED   {ADMIN}  s3:PutObject  {BUCKET}  (2)", r.stdout)
        self.assertIn("deciding  puts-only-incoming:PutsOnlyIncoming", r.stdout)

    def test_gzip_cut_short_is_unreadable(self):
        # probe 21: an archive cut off at a line boundary (half copied) was
        # replayed as if whole, its last records missing, exit 0. It is
        # unreadable input: exit 2, and the reason.
        data = open(self.log, "rb").read()
        whole = gzip.compress(data)
        cut = os.path.join(self.tmp, "cut.log.gz")
        for keep in (len(whole) - 8, len(whole) // 2):  # the trailer gone; half the stream
            with open(cut, "wb") as f:
                f.write(whole[:keep])
            rc, out, err = replay(self.guard_cfg, cut)
            self.assertEqual(rc, 2, (keep, out, err))
            self.assertIn(f"s3warden: replay: {cut}: ", err)
        with open(cut, "wb") as f:
            f.write(whole)
        rc, out, err = replay(self.guard_cfg, cut)
        self.assertEqual((rc, out["read"]), (1, len(self.records)), err)

    def test_gzip_trailing_bytes_are_unreadable(self):
        # zlib ends quietly at bytes after a gzip member that do not begin
        # another: a plain log appended to an archive went uncounted, exit 1
        data = open(self.log, "rb").read()
        whole = gzip.compress(data)
        mixed = os.path.join(self.tmp, "appended.log.gz")
        with open(mixed, "wb") as f:
            f.write(whole + data)
        rc, out, err = replay(self.guard_cfg, mixed)
        self.assertEqual(rc, 2, (out, err))
        self.assertIn(f"s3warden: replay: {mixed}: bytes after the end of the gzip data at byte "
                      f"{len(whole)} are not gzip: not read", err)
        # two members (gzip's own way to append) are one stream: all read
        with open(mixed, "wb") as f:
            f.write(whole + whole)
        rc, out, err = replay(self.guard_cfg, mixed)
        self.assertEqual((rc, out["read"]), (1, 2 * len(self.records)), err)
        # members past the reader's 256 KiB buffer: a first member of stored
        # (level 0) records that ends just past it, then the log again, then
        # a stray byte whose offset is counted across the refill
        filler = data * (262144 // len(data) + 2)
        first = gzip.compress(filler, compresslevel=0)
        with open(mixed, "wb") as f:
            f.write(first + whole + b"x")
        rc, out, err = replay(self.guard_cfg, mixed)
        self.assertEqual(rc, 2, (out, err))
        self.assertIn(f"at byte {len(first) + len(whole)} are not gzip", err)
        with open(mixed, "wb") as f:
            f.write(first + whole)
        rc, out, err = replay(self.guard_cfg, mixed)
        self.assertEqual(out["read"], (filler.count(b"\n") + data.count(b"\n")), err)

    def test_gzip_zero_padding_is_ignored(self):
        # zero bytes to the end (a tape block's padding) are ignored as gzip
        # ignores them, and said so; a byte among or after them is not
        data = open(self.log, "rb").read()
        whole = gzip.compress(data)
        padded = os.path.join(self.tmp, "padded.log.gz")
        for pad in (1, 10240, 300000):  # the last across the 256 KiB refill
            with open(padded, "wb") as f:
                f.write(whole + bytes(pad))
            rc, out, err = replay(self.guard_cfg, padded)
            self.assertEqual((rc, out["read"]), (1, len(self.records)), (pad, err))
            self.assertIn(f"s3warden: replay: {padded}: {pad} zero bytes after the gzip data "
                          "ignored\n", err)
        for tail in (b"x", whole):
            with open(padded, "wb") as f:
                f.write(whole + bytes(300000) + tail)
            rc, out, err = replay(self.guard_cfg, padded)
            self.assertEqual(rc, 2, (out, err))
            self.assertIn(f"s3warden: replay: {padded}: bytes after the end of the gzip data at "
                          f"byte {len(whole)} are not gzip: not read", err)
            self.assertNotIn("ignored", err)

    def test_usage(self):
        for args in ([], ["--config", self.demo_cfg], [self.log], ["--bogus", "--config", self.demo_cfg, self.log]):
            r = subprocess.run([BIN, "replay", *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("usage: s3warden replay --config CANDIDATE", r.stderr)


CI = ("AKIADEMOPARTNERCI001", "demo-partner-ci-secret-not-for-production")
READER = role_arn("222222222222", "partner-reader")
# the session may read the shared bucket, not write it: the role alone
# (and the bucket policy) would let it put under incoming/
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadOnly", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::acme-shared", "arn:aws:s3:::acme-shared/*"]}]}
UNKNOWN = ("a session token's role session without sessionPolicy (an older record): "
           "its session policy is unknown")
TAGS_UNKNOWN = ("a session token's role session without sessionTags (an older record): "
                "its session tags are unknown")


def tagging_demo():
    """demo.json with partner-ci allowed to tag partner-reader's sessions
    (sts:TagSession in the trust policy and in partner-ci's own)."""
    cfg = demo()
    for r in cfg["roles"]:
        if r["name"] == "partner-reader":
            for st in r["trust_policy"]["Statement"]:
                if st["Principal"].get("AWS"):
                    st["Action"] = ["sts:AssumeRole", "sts:TagSession"]
    for u in cfg["users"]:
        if u["name"] == "partner-ci":
            u["policies"][0]["document"]["Statement"][0]["Action"] = ["sts:AssumeRole", "sts:TagSession"]
    return cfg


class SessionPolicy(Case):
    """boto3 assumes partner-reader through s3warden's STS, once with a
    session policy (as boto3 sends json.dumps(indent=2)), once without, and
    puts under incoming/ with each session: the first PUT is denied by the
    session policy alone. Replayed against the same config nothing flips;
    before sessionPolicy was recorded, replay decided that PUT without its
    session policy and reported it newly allowed. A third session passes
    session tags: its records carry them (sessionTags), the others {}."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir("replay-sp")
        cfg = tagging_demo()
        cls.demo_cfg = candidate(cls.tmp, "demo.json", cfg)
        px = Proxy(lambda port, audit: deployed(cfg, port, audit), "replay-sp").start()
        px.client(KEYS["admin"]).put_object(Bucket=BUCKET, Key="incoming/sp-seed.txt", Body=b"seed")
        sts = boto3.client("sts", endpoint_url=px.endpoint, region_name=REGION,
                           aws_access_key_id=CI[0], aws_secret_access_key=CI[1],
                           config=Config(retries={"max_attempts": 1}))
        cls.tokens = []
        clients = {}
        for name, kw in (("narrow", {"Policy": json.dumps(READ_ONLY, indent=2)}), ("plain", {}),
                         ("tagged", {"Tags": [{"Key": "team", "Value": "blue"},
                                              {"Key": "Cost-Center", "Value": "42"}]})):
            c = sts.assume_role(RoleArn=READER, RoleSessionName=name, **kw)["Credentials"]
            cls.tokens.append(c["SessionToken"])
            clients[name] = px.client((c["AccessKeyId"], c["SecretAccessKey"]), token=c["SessionToken"])
        cls.narrow_get = clients["narrow"].get_object(Bucket=BUCKET, Key="incoming/sp-seed.txt")["Body"].read()
        try:
            clients["narrow"].put_object(Bucket=BUCKET, Key="incoming/sp-narrow.txt", Body=b"x")
            cls.narrow_put = "allowed"
        except Exception as e:  # noqa: BLE001
            cls.narrow_put = e.response["Error"]["Code"]
        clients["plain"].put_object(Bucket=BUCKET, Key="incoming/sp-plain.txt", Body=b"x")
        clients["tagged"].get_object(Bucket=BUCKET, Key="incoming/sp-seed.txt")["Body"].read()
        px.stop()
        cls.records = px.audit()
        cls.log = px.audit_path

    def session_records(self):
        return [a for a in self.records if a.get("actions")
                and a["userIdentity"].get("accessKeyId", "").startswith("ASIA")]

    def test_records_carry_the_session_policy(self):
        self.assertEqual((self.narrow_get, self.narrow_put), (b"seed", "AccessDenied"))
        recs = self.session_records()
        narrow = [a for a in recs if a["userIdentity"]["arn"].endswith("/narrow")]
        plain = [a for a in recs if a["userIdentity"]["arn"].endswith("/plain")]
        self.assertEqual((len(narrow), len(plain)), (2, 1), recs)
        for a in narrow:
            self.assertEqual(json.loads(a["sessionPolicy"]), READ_ONLY)
            self.assertNotIn("\n", a["sessionPolicy"])  # compacted
        self.assertEqual([a["decision"] for a in narrow], ["Allowed", "ImplicitlyDenied"])
        self.assertIsNone(plain[0]["sessionPolicy"])
        self.assertEqual(plain[0]["decision"], "Allowed")
        # session tags: the tagged session's, as AssumeRole took them; none for the others
        tagged = [a for a in recs if a["userIdentity"]["arn"].endswith("/tagged")]
        self.assertEqual(len(tagged), 1, recs)
        self.assertEqual(tagged[0]["sessionTags"], {"team": "blue", "Cost-Center": "42"})
        self.assertEqual(tagged[0]["requestContext"]["aws:PrincipalTag/team"], "blue")
        self.assertEqual([a["sessionTags"] for a in narrow + plain], [{}, {}, {}])
        # the user's own records have no such fields; no token anywhere
        self.assertFalse(any("sessionPolicy" in a or "sessionTags" in a
                             for a in self.records if a not in recs))
        text = open(self.log).read()
        for tok in self.tokens:
            self.assertNotIn(tok, text)

    def test_same_config_no_flips(self):
        rc, out, err = replay(self.demo_cfg, self.log)
        self.assertEqual(rc, 0, (out, err))
        self.assertEqual((out["newlyAllowed"], out["newlyDenied"]), (0, 0), out)
        # STS calls name their action and role, but replay decides S3
        # requests only (they have no requestContext)
        evaluated = [a for a in self.records if a.get("actions") and a["eventName"] != "sts"]
        self.assertEqual(out["unchanged"], len(evaluated), out)
        sts = [a for a in self.records if a["eventName"] == "sts"]
        self.assertTrue(sts and all(a["actions"] == ["sts:AssumeRole"] for a in sts), sts)

    def replay_without(self, field):
        """The log with `field` taken out of every record, as an older
        s3warden wrote it, replayed against the same config."""
        old = os.path.join(self.tmp, f"without-{field}.log")
        with open(old, "w") as f:
            for a in self.records:
                a = dict(a)
                a.pop(field, None)
                f.write(json.dumps(a) + "\n")
        rc, out, err = replay(self.demo_cfg, old)
        self.assertEqual(rc, 0, (out, err))
        self.assertEqual((out["newlyAllowed"], out["newlyDenied"]), (0, 0), out)
        return out

    def test_older_records_are_not_replayable(self):
        out = self.replay_without("sessionPolicy")
        self.assertEqual(out["notReplayableWhy"].get(UNKNOWN), len(self.session_records()), out)

    def test_records_without_session_tags_are_not_replayable(self):
        out = self.replay_without("sessionTags")
        self.assertEqual(out["notReplayableWhy"].get(TAGS_UNKNOWN), len(self.session_records()), out)


if __name__ == "__main__":
    main(PENDING)
