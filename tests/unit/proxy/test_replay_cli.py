#!/usr/bin/env python3
"""`s3warden replay` on hand-made records (issue 16): each reason a record
is not replayable is counted under its own words; a token session is
decided with the session policy and the session tags its record carries;
a record with escapes
(\\u0041, a surrogate pair, \\") decides on the decoded values; garbage,
truncated JSON, a line longer than any record and a last line without a
newline neither crash nor stop the run; usage exits 2.
The integration test (test_replay.py) replays real traffic.

Needs S3W_BIN and S3W_SOURCE_ROOT (set by meson)."""
import gzip
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import BIN, SEED2, check, run_main  # noqa: E402



def record(**over):
    r = {"eventVersion": "1.0", "eventTime": "2026-12-04T20:00:00.000Z", "eventSource": "s3warden",
         "requestID": "0000000000000001",
         "userIdentity": {"type": "IAMUser", "principalId": "AIDAADMIN", "arn": "arn:aws:iam::111111111111:user/admin",
                          "accountId": "111111111111", "accessKeyId": "AKIAADMIN00000000001"},
         "eventName": "GetObject", "requestParameters": {"bucketName": "otherbucket", "key": "k"},
         "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::otherbucket/k"],
         "decision": "Allowed", "decidingStatements": "s3-full:#0", "crossAccount": False,
         "errorCode": None, "httpStatus": 200, "bytesIn": 0, "bytesOut": 1, "latencyMs": 1,
         "upstreamLatencyMs": 1, "tls": None,
         "requestContext": {"aws:SourceIp": "127.0.0.1", "aws:CurrentTime": "2026-12-04T20:00:00Z",
                            "aws:userid": "AIDAADMIN"}}
    for k, v in over.items():
        if v is None:
            r.pop(k, None)
        else:
            r[k] = v
    return json.dumps(r, separators=(",", ":"))


def replay(cfg, data, *extra):
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as f:
        f.write(data)
    r = subprocess.run([BIN, "replay", "--config", cfg, "--json", *extra, f.name], capture_output=True,
                       timeout=60)
    os.unlink(f.name)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r.stderr.decode()


def main(tmp):
    with open(SEED2) as f:
        cfg = json.load(f)
    same = os.path.join(tmp, "same.json")
    json.dump(cfg, open(same, "w"))
    # the candidate: otherbucket gets a policy denying keys under "secret/"
    cfg["buckets"] = [dict(b, policy={"Version": "2012-10-17", "Statement": [
        {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::otherbucket/secret/*"}]}) if b["name"] == "otherbucket" else b
        for b in cfg["buckets"]]
    cand = os.path.join(tmp, "cand.json")
    json.dump(cfg, open(cand, "w"))

    lines = [
        record(),                                                        # unchanged
        # escapes decoded: "secret/\u0041\ud83d\ude00\"q" is secret/A😀"q
        record(requestID="0000000000000002",
               requestParameters={"bucketName": "otherbucket", "key": "secret/A\U0001F600\"q"},
               resources=["arn:aws:s3:::otherbucket/secret/A\U0001F600\"q"]).replace("A\\ud83d", "\\u0041\\ud83d"),
        record(requestID="3", requestContext=None),                     # no context
        record(requestID="4", truncated=["requestContext"]),            # capped
        record(requestID="5", actions=[], resources=[], eventName="DeleteObjects"),  # per key
        record(requestID="6", userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/gone"}),
        record(requestID="7", decision="PartiallyAllowed"),
        "this is not json",
        record()[:200],                                                  # cut
        "{\"deep\":" + "[" * 100 + "]" * 100 + "}",
        "{\"x\":\"" + "y" * 40000 + "\"}",                               # longer than a record
        "",
        record(requestID="8", requestParameters={"bucketName": "otherbucket", "key": "secret/x"},
               resources=["arn:aws:s3:::otherbucket/secret/x"]),         # last, no newline
    ]
    data = ("\n".join(lines)).encode()
    check("\\u0041\\ud83d\\ude00" in lines[1], "the record holds the escapes")
    rc, out, err = replay(cand, data)
    check(out is not None, f"no output: {err}")
    if out:
        check(rc == 1, f"rc {rc}")
        check(out["read"] == 12, f"read {out['read']}")   # the empty line is not a record
        check((out["unchanged"], out["newlyDenied"], out["newlyAllowed"]) == (1, 2, 0), out)
        why = out["notReplayableWhy"]
        check(why == {"not an s3warden audit record": 4,
                      "no requestContext (refused before evaluation, or an older record)": 1,
                      "requestContext was capped in the record": 1,
                      "no recorded authorization (DeleteObjects is authorized per key)": 1,
                      "the caller is not in the candidate config": 1,
                      "no allow/deny decision recorded": 1}, why)
        f = out["flips"][0]
        check((f["principal"], f["action"], f["bucket"], f["count"], f["deciding"]) ==
              ("arn:aws:iam::111111111111:user/admin", "s3:GetObject", "otherbucket", 2,
               "bucket-policy:NoSecrets"), f)
        check("s3://otherbucket/secret/A\U0001F600\"q (request 0000000000000002)" in f["example"], f["example"])
    rc, out, _ = replay(same, data)
    check(rc == 0 and out["newlyDenied"] == 0 and out["unchanged"] == 3, f"same config: {rc} {out}")
    # gzip: the same answer
    rc, out, _ = replay(cand, gzip.compress(data))
    check(rc == 1 and out["newlyDenied"] == 2 and out["read"] == 12, f"gzip: {out}")
    # usage and unreadable input
    for args in (["replay"], ["replay", "--config", cand], ["replay", "--json", "x.log"]):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "usage: s3warden replay" in r.stderr, f"{args}: {r.returncode} {r.stderr}")
    r = subprocess.run([BIN, "replay", "--config", cand, "/nonexistent.log"], capture_output=True, text=True)
    check(r.returncode == 2 and "/nonexistent.log: cannot open" in r.stderr, r.stderr)
    session_policy_cases(same, cand)
    session_tag_cases(tmp)


ROLE_SESSION = "arn:aws:sts::111111111111:assumed-role/ROLENAME/"
ONLY_LIST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "OnlyList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
GET_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Get", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
UNKNOWN = ("a session token's role session without sessionPolicy (an older record): "
           "its session policy is unknown")


def session_record(rid, session, key, decision, policy="absent", tags="default", **over):
    """A GetObject of otherbucket/KEY by a role session of seed 002's
    ROLENAME (s3:* on everything) from a local-STS token (an ASIA key),
    with sessionPolicy `policy` (a document, None for null, "absent") and
    sessionTags `tags` ("absent"; by default {} beside a sessionPolicy,
    as s3warden writes them, and absent without one)."""
    r = json.loads(record(requestID=rid, decision=decision,
                          requestParameters={"bucketName": "otherbucket", "key": key},
                          resources=[f"arn:aws:s3:::otherbucket/{key}"], **over))
    r["userIdentity"] = {"type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{session}",
                         "arn": ROLE_SESSION + session, "accountId": "111111111111",
                         "accessKeyId": "ASIAQWERTYUIOPASDFGH",
                         "sessionContext": {"sessionIssuer": {"type": "Role",
                                                              "arn": "arn:aws:iam::111111111111:role/ROLENAME"},
                                            "sessionName": session}}
    r["requestContext"]["aws:userid"] = f"AROAEXAMPLEID:{session}"
    if policy != "absent":
        r["sessionPolicy"] = policy
    if tags == "default":
        tags = {} if policy != "absent" else "absent"
    if tags != "absent":
        r["sessionTags"] = tags
        for k, v in tags.items():  # as serve records them: the session's win
            r["requestContext"]["aws:PrincipalTag/" + k] = v
    return json.dumps(r, separators=(",", ":"))


def session_policy_cases(same, cand):
    """A token session is decided with the session policy its record
    carries: the role alone (s3:*) would allow every GetObject, so without
    it replay reported the session-policy denial as newly allowed."""
    lines = [
        # denied by its session policy (only s3:ListBucket): stays denied
        session_record("s1", "narrow", "k", "ImplicitlyDenied", ONLY_LIST),
        # allowed by its session policy; under the candidate, secret/ is denied
        session_record("s2", "wide", "secret/x", "Allowed", GET_ALL),
        # a token without a session policy: the role's policies alone
        session_record("s3", "plain", "k", "Allowed", None),
        # written before sessionPolicy existed: its session policy is unknown
        session_record("s4", "old", "k", "ImplicitlyDenied"),
        # the policy did not fit in the record
        session_record("s5", "big", "k", "ImplicitlyDenied", truncated=["sessionPolicy"]),
        # hand-edited: not a policy
        session_record("s6", "bad", "k", "ImplicitlyDenied", "not a policy"),
        # seed 002's static session (a config key, not a token): the
        # candidate's session, no sessionPolicy needed
        json.dumps(dict(json.loads(record(requestID="s7")), userIdentity={
            "type": "AssumedRole", "principalId": "AROAEXAMPLEID:userdefinedsessionname",
            "arn": ROLE_SESSION + "userdefinedsessionname", "accountId": "111111111111",
            "accessKeyId": "AKIAROLESESSION00001"}), separators=(",", ":")),
    ]
    data = ("\n".join(lines) + "\n").encode()
    rc, out, err = replay(same, data)
    check(out is not None, f"session policy: no output: {err}")
    if out:
        check(rc == 0, f"session policy, same config: rc {rc} {out}")
        check((out["read"], out["unchanged"], out["newlyAllowed"], out["newlyDenied"]) == (7, 4, 0, 0),
              f"session policy, same config: {out}")
        why = out["notReplayableWhy"]
        check(why == {UNKNOWN: 1, "the session policy did not fit in the record": 1,
                      "the recorded session policy does not compile": 1}, why)
    rc, out, err = replay(cand, data)
    if out:
        check(rc == 1 and (out["newlyDenied"], out["newlyAllowed"]) == (1, 0), f"candidate: {out}")
        f = out["flips"][0] if out["flips"] else {}
        check((f.get("principal"), f.get("deciding")) == (ROLE_SESSION + "wide", "bucket-policy:NoSecrets"), f)
    # the text report names the reason
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as t:
        t.write(data)
    r = subprocess.run([BIN, "replay", "--config", same, t.name], capture_output=True, text=True, timeout=60)
    os.unlink(t.name)
    check("not replayable    3" in r.stdout and f"  1               {UNKNOWN}\n" in r.stdout, r.stdout)


TAGS_UNKNOWN = ("a session token's role session without sessionTags (an older record): "
                "its session tags are unknown")


def session_tag_cases(tmp):
    """A token session's principal tags are the candidate role's overridden
    by the session tags its record carries, in any case of the key, as
    serve builds them. ROLENAME gets the tag team=blue and otherbucket a
    Deny on team=red; the candidate retags the role team=red. Before
    sessionTags, replay put the role's tag where the session's decided:
    t1 reported newly denied under the candidate, t3 newly allowed under
    the same config."""
    with open(SEED2) as f:
        cfg = json.load(f)
    cfg["buckets"] = [dict(b, policy={"Version": "2012-10-17", "Statement": [
        {"Sid": "NoRed", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::otherbucket/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}}}]})
        if b["name"] == "otherbucket" else b for b in cfg["buckets"]]
    paths = {}
    for name, team in (("same", "blue"), ("retagged", "red")):
        cfg["roles"] = [dict(r, tags={"team": team}) for r in cfg["roles"]]
        paths[name] = os.path.join(tmp, f"tags-{name}.json")
        json.dump(cfg, open(paths[name], "w"))
    lines = [
        # its session tag team=blue overrides the role's, whatever the role says
        session_record("t1", "blue", "k", "Allowed", None, {"team": "blue"}),
        # no session tags: the role's tag decides (blue, then red)
        session_record("t2", "plain", "k", "Allowed", None, {}),
        # TEAM=red overrides team=blue: denied under both configs
        session_record("t3", "red", "k", "ExplicitlyDenied", None, {"TEAM": "red"}),
        # written before sessionTags existed, or the tags did not fit
        session_record("t4", "old", "k", "Allowed", None, "absent"),
        session_record("t5", "big", "k", "Allowed", None, {}, truncated=["sessionTags"]),
        # more tags than AssumeRole takes: not an s3warden record
        session_record("t6", "many", "k", "Allowed", None, {f"k{i}": "v" for i in range(51)}),
    ]
    data = ("\n".join(lines) + "\n").encode()
    for name, flips in (("same", (0, 0)), ("retagged", (1, 0))):
        rc, out, err = replay(paths[name], data)
        check(out is not None, f"session tags, {name}: no output: {err}")
        if not out:
            continue
        check(rc == (1 if flips[0] else 0), f"session tags, {name}: rc {rc} {out}")
        check((out["read"], out["unchanged"], out["newlyDenied"], out["newlyAllowed"]) ==
              (6, 3 - flips[0], *flips), f"session tags, {name}: {out}")
        check(out["notReplayableWhy"] == {TAGS_UNKNOWN: 1, "the session tags did not fit in the record": 1,
                                          "not an s3warden audit record": 1}, out["notReplayableWhy"])
        if flips[0]:
            f = out["flips"][0] if out["flips"] else {}
            check((f.get("principal"), f.get("deciding")) == (ROLE_SESSION + "plain", "bucket-policy:NoRed"), f)
    # a candidate giving the role 30 more tags: a session with 40 of its own
    # has 71 principal tags, more than the 64 an identity holds, and serve
    # refuses such a session outright (identity.c), so replay reports its
    # allowed requests newly denied; one session tag leaves 32, still fine
    cfg["roles"] = [dict(r, tags=dict({"team": "blue"}, **{f"r{i:02d}": "v" for i in range(30)}))
                    for r in cfg["roles"]]
    crowded = os.path.join(tmp, "tags-crowded.json")
    json.dump(cfg, open(crowded, "w"))
    data = (session_record("t7", "forty", "k", "Allowed", None, {f"s{i:02d}": "v" for i in range(40)}) + "\n" +
            session_record("t8", "one", "k", "Allowed", None, {"s00": "v"}) + "\n").encode()
    rc, out, err = replay(crowded, data)
    check(out is not None, f"crowded tags: no output: {err}")
    if out:
        check(rc == 1 and (out["read"], out["unchanged"], out["newlyDenied"]) == (2, 1, 1), f"crowded tags: {out}")
        f = out["flips"][0] if out["flips"] else {}
        check((f.get("principal"), f.get("deciding"), f.get("message")) ==
              (ROLE_SESSION + "forty", "-", "s3warden refuses the session: its 40 session tags and its "
               "role's other tags make 71 principal tags, more than the 64 it holds"), f)


if __name__ == "__main__":
    run_main(main, "s3w-replay-")
