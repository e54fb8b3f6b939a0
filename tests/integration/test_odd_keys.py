#!/usr/bin/env python3
"""The odd-keys matrix (spaces, +, =, %, unicode, //, dot segments; prefixes
with /) through s3warden in front of moto_server with auth OFF.

moto with auth on refuses correctly signed requests for exactly these keys
(its signature check re-encodes an already encoded URL; README.md, "Known
limits of moto"), so here moto only stores; s3warden still verifies every
client signature, and test_rgw.py runs the same matrix against RGW, which
checks s3warden's upstream signatures strictly.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403
from oddkeys import OddKeys  # noqa: E402

A = "111111111111"
BUCKET = "it-odd"
W = World()
W.account(A)
ALICE = W.user(A, "alice", "AIDAALICE00000000001", policies=[
    policy(allow("s3:*", [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]))])
MALLORY = W.user(A, "mallory", "AIDAMALLORY000000001", policies=[
    policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/odd/with space.txt"))])
W.bucket(BUCKET, A)
PENDING = {}


class MotoAuthOff(OddKeys, Case):
    @classmethod
    def setUpClass(cls):
        cls.UP = Moto(auth=False, buckets=[BUCKET]).start()
        cls.PX = Proxy(lambda port, audit: render_config(W, cls.UP, port, audit), "odd").start()
        cls.BUCKET = BUCKET
        cls.KEY = ALICE

    def test_policy_resource_with_odd_key(self):
        # The policy names the decoded key: "odd/with space.txt" matches,
        # "odd/with+space.txt" (a different key) does not.
        self.UP.put(BUCKET, "odd/with space.txt", b"space")
        self.UP.put(BUCKET, "odd/with+space.txt", b"plus")
        s3 = self.PX.client(MALLORY)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="odd/with space.txt")["Body"].read(), b"space")
        self.assertClientError(lambda: s3.get_object(Bucket=BUCKET, Key="odd/with+space.txt"), "AccessDenied",
                               denied_message(user_arn(A, "mallory"), "s3:GetObject",
                                              f"arn:aws:s3:::{BUCKET}/odd/with+space.txt",
                                              no_allow("identity-based", "s3:GetObject")), 403)


def tearDownModule():
    cleanup_all()


if __name__ == "__main__":
    main(PENDING)
