#!/usr/bin/env python3
"""No request is served without its audit record (README "Audit log",
"When the log cannot be written"), with real clients through s3warden in
front of moto:

- a 17,000-byte User-Agent (boto3's user_agent_extra): the request is
  served and its record is in the log, the value cut and listed in
  "truncated" (the record used to be dropped);
- the audit log on a small tmpfs that fills up: new requests get 503
  SlowDown (exact code), /readyz says "audit: not writable (No space left
  on device)" and is 503, the file never keeps a torn line; once space is
  freed, requests are served again, /readyz is ready, and every request
  that was served has its record (nothing dropped);
- with "on_backlog": "drop" (a second s3warden on its own tmpfs): the same
  full disk does not refuse (requests served, /readyz ready and saying it
  drops), records past the 4096 waiting (its backlog_records) are dropped
  and counted, and once
  space is back the file's lines plus the dropped count equal the requests.

Needs root for `mount -t tmpfs` (skipped otherwise); the mount is removed
at the end.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

from botocore.exceptions import ClientError  # noqa: E402

A = "111111111111"
BUCKET = "it-audit"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICEAUDIT000001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
W.bucket(BUCKET, A)

UP = PX = PXD = None
MNT = MNT_DROP = None
TMPFS_BYTES = 1024 * 1024
# the drop test's file takes 4096+ records of ~600 bytes once space is back
TMPFS_DROP_BYTES = 8 * 1024 * 1024


def mount_tmpfs(name, size):
    mnt = tmpdir(name)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs: %s" % r.stderr.strip())
    on_cleanup(lambda: os.path.ismount(mnt) and subprocess.run(["umount", "-l", mnt], check=False))
    return mnt


def audit_proxy(name, mnt, audit_extra=None):
    audit_path = os.path.join(mnt, "audit.log")

    def cfg(port, _audit):
        c = render_config(W, UP, port, audit_path, admin=free_port())
        c["audit"].update(audit_extra or {})
        return c
    px = Proxy(cfg, name)
    px.audit_path = audit_path
    return px.start()


def setUpModule():
    global UP, PX, PXD, MNT, MNT_DROP
    if os.geteuid() != 0:
        raise unittest.SkipTest("mounting a tmpfs needs root")
    MNT = mount_tmpfs("audit-tmpfs", TMPFS_BYTES)
    MNT_DROP = mount_tmpfs("audit-tmpfs-drop", TMPFS_DROP_BYTES)
    UP = Moto(auth=True, buckets=[BUCKET]).start()
    PX = audit_proxy("audit-hardening", MNT)
    # a backlog of 4096 records (the default is 32,768): the test goes past it
    PXD = audit_proxy("audit-drop", MNT_DROP, {"on_backlog": "drop", "backlog_records": 4096})


def tearDownModule():
    cleanup_all()


def records_by_key(px=None, whole=False):
    """key -> [records]; every line must parse (json.loads raises on a
    torn line). With whole, the file must also end with a newline: for a
    moment when the writer has nothing in hand; otherwise a last line
    without its newline is one still being copied in, and is left for the
    next read (s3w_it.complete_lines)."""
    with open((px or PX).audit_path, "rb") as f:
        data = f.read()
    if data and whole:
        assert data.endswith(b"\n"), "the audit log ends in a partial line: %r" % data[-80:]
    out = {}
    for line in data.split(b"\n")[:-1]:
        r = json.loads(line)
        k = (r.get("requestParameters") or {}).get("key")
        out.setdefault(k, []).append(r)
    return out


def dropped_total(px=None):
    m = re.search(r"^s3warden_audit_dropped_total (\d+)$", (px or PX).admin("/metrics").text, re.M)
    return int(m.group(1))


def fill(mnt):
    """Fills the filesystem at mnt; returns the filler's path."""
    filler = os.path.join(mnt, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


class AuditHardening(unittest.TestCase):
    def setUp(self):
        self.s3 = PX.client(ALICE)

    def test_1_long_user_agent_recorded(self):
        s3 = PX.client(ALICE, user_agent_extra="probe/" + "U" * 17000)
        s3.put_object(Bucket=BUCKET, Key="ua-long", Body=b"x")
        self.assertEqual(UP.get(BUCKET, "ua-long"), b"x")
        recs = wait_until(lambda: records_by_key().get("ua-long"), 5)
        self.assertTrue(recs, "the served request has no audit record")
        r = recs[-1]
        self.assertEqual(r["httpStatus"], 200)
        # the whole agent is also the condition key aws:UserAgent: too long
        # for requestContext's cap, so left out of it, and said so
        self.assertEqual(r["truncated"], ["userAgent", "requestContext"])
        self.assertNotIn("aws:UserAgent", r["requestContext"])
        self.assertEqual(r["requestContext"]["aws:SourceIp"], r["sourceIPAddress"])
        self.assertEqual(len(r["userAgent"]), 2048)
        self.assertIn("probe/UUUU", r["userAgent"])

    def test_2_full_disk_refuses_then_recovers(self):
        served = []   # keys whose PUT was answered 200
        self.s3.put_object(Bucket=BUCKET, Key="before-full", Body=b"b")
        served.append("before-full")
        self.assertTrue(wait_until(lambda: "before-full" in records_by_key(), 5))
        self.assertEqual(PX.admin("/readyz").status, 200)

        # fill the filesystem; the audit file's last page may still take a
        # few lines, so send requests until one is refused
        filler = fill(MNT)
        refused = None
        for i in range(40):
            key = f"during-{i}"
            try:
                self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"d")
                served.append(key)
            except ClientError as e:
                refused = e
                break
            time.sleep(0.1)
        self.assertIsNotNone(refused, "never refused with the audit disk full")
        self.assertEqual(refused.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(refused.response["Error"]["Code"], "SlowDown")
        self.assertEqual(refused.response["Error"]["Message"], "Please reduce your request rate.")
        # refused before anything happened: the object is not upstream
        self.assertIsNone(UP.get(BUCKET, key))
        # a GET is refused the same way
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=BUCKET, Key="before-full")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(cm.exception.response["Error"]["Code"], "SlowDown")

        rz = PX.admin("/readyz")
        self.assertEqual(rz.status, 503, rz)
        self.assertRegex(rz.text, r"\naudit: not writable \(No space left on device\); "
                                  r"\d+ records waiting\n(.*\n)?not ready\n\Z")
        self.assertIn("audit: cannot write", PX.log_text())
        # no torn line left while it is full (records_by_key checks)
        records_by_key(whole=True)

        # space again: the writer retries by itself
        os.unlink(filler)
        rz = wait_until(lambda: (lambda x: x if x.status == 200 else None)(PX.admin("/readyz")), 10)
        self.assertIsNotNone(rz, PX.admin("/readyz"))
        self.assertIn("\naudit: ok\n", rz.text)
        for i in range(3):
            key = f"after-{i}"
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"a")
            served.append(key)
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="after-0")["Body"].read(), b"a")

        # every served request has its record, and every line parses
        recs = wait_until(lambda: (lambda r: r if all(k in r for k in served) else None)(
            records_by_key()), 5)
        self.assertIsNotNone(recs, "served requests without a record: %s" % [
            k for k in served if k not in records_by_key()])
        for k in served:
            self.assertIn(200, [r["httpStatus"] for r in recs[k]], k)
        refusals = [r for rs in recs.values() for r in rs if r.get("errorCode") == "SlowDown"]
        self.assertTrue(refusals, "the refusals are recorded once there is room")
        self.assertTrue(all(r["httpStatus"] == 503 for r in refusals))
        self.assertEqual(dropped_total(), 0)
        self.assertIn("audit: writing", PX.log_text())


class AuditOnBacklogDrop(unittest.TestCase):
    """"on_backlog": "drop": availability over a complete trail, counted."""

    def test_full_disk_serves_and_counts(self):
        s3 = PXD.client(ALICE)
        sent = 0
        s3.put_object(Bucket=BUCKET, Key="drop-before", Body=b"b")
        sent += 1
        self.assertTrue(wait_until(lambda: "drop-before" in records_by_key(PXD), 5))
        filler = fill(MNT_DROP)
        # the file's last page may still take a few lines: wait until the
        # writer fails, while every request is served
        for i in range(40):
            s3.put_object(Bucket=BUCKET, Key=f"drop-during-{i}", Body=b"d")
            sent += 1
            self.assertEqual(UP.get(BUCKET, f"drop-during-{i}"), b"d")
            if "not writable" in PXD.admin("/readyz").text:
                break
            time.sleep(0.1)
        rz = PXD.admin("/readyz")
        self.assertEqual(rz.status, 200, rz)
        self.assertRegex(rz.text, r"\naudit: not writable \(No space left on device\); \d+ records "
                                  r"waiting; dropping records \(on_backlog drop\)\n")
        self.assertIn("dropping records once 4096 wait or take 16 MiB (on_backlog drop)", PXD.log_text())
        # past the backlog: anonymous GETs (403 AccessDenied, no upstream
        # call) over one keep-alive connection, all answered, none refused
        conn = http.client.HTTPConnection("127.0.0.1", PXD.port, timeout=10)
        statuses = {}
        for i in range(4200):
            conn.request("GET", f"/{BUCKET}/anon-{i}")
            resp = conn.getresponse()
            resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            sent += 1
        conn.close()
        self.assertEqual(statuses, {403: 4200})
        dropped = dropped_total(PXD)
        self.assertGreater(dropped, 0)
        self.assertEqual(PXD.admin("/readyz").status, 200)

        os.unlink(filler)
        rz = wait_until(lambda: (lambda x: x if "\naudit: ok\n" in x.text else None)(
            PXD.admin("/readyz")), 15)
        self.assertIsNotNone(rz, PXD.admin("/readyz"))
        s3.put_object(Bucket=BUCKET, Key="drop-after", Body=b"a")
        sent += 1
        recs = wait_until(lambda: (lambda r: r if "drop-after" in r else None)(
            records_by_key(PXD)), 5)
        self.assertIsNotNone(recs)
        written = sum(len(v) for v in recs.values())
        # nothing lost silently: every request is in the file or counted
        self.assertEqual(written + dropped_total(PXD), sent,
                         "written %d + dropped %d != %d requests" % (written, dropped, sent))


if __name__ == "__main__":
    main()
