"""The odd-keys matrix, shared by test_rgw.py (Ceph RGW: strict SigV4) and
test_odd_keys.py (moto_server with auth off: moto's own signer refuses these
keys with auth on, README.md, "Known limits of moto").

A test class mixes in OddKeys and sets UP (upstream), PX (s3warden), BUCKET
and KEY (the client's Key) as class attributes in setUpClass.
"""
import os

from s3w_it import *  # noqa: F401,F403

ODD_KEYS = [
    "odd/with space.txt",
    "odd/plus+sign.txt",
    "odd/equals=sign&amp.txt",
    "odd/percent%20literal%2F.txt",
    "odd/ünïcödé/文件 ✓.txt",
    "odd/tilde~star*quote'paren(1).txt",
    "odd/a$b@c,d;e:f!g.txt",
    "odd/double//slash.txt",
    "odd/./dot-segment.txt",
    "odd/../dotdot-segment.txt",
]


class OddKeys:
    def body(self, key):
        return ("payload of " + key).encode() + os.urandom(64)

    def test_odd_keys_boto3_roundtrip(self):
        s3 = self.PX.client(self.KEY)
        for key in ODD_KEYS:
            with self.subTest(key=key):
                data = self.body(key)
                s3.put_object(Bucket=self.BUCKET, Key=key, Body=data)
                self.assertStored(self.UP, self.BUCKET, key, data)
                self.assertEqual(s3.get_object(Bucket=self.BUCKET, Key=key)["Body"].read(), data)
                self.assertEqual(s3.head_object(Bucket=self.BUCKET, Key=key)["ContentLength"], len(data))
                s3.copy_object(Bucket=self.BUCKET, Key=key + ".copy",
                               CopySource={"Bucket": self.BUCKET, "Key": key})
                self.assertStored(self.UP, self.BUCKET, key + ".copy", data)
                s3.delete_object(Bucket=self.BUCKET, Key=key + ".copy")
                self.assertIsNone(self.UP.get(self.BUCKET, key + ".copy"))

    def test_prefixes_with_slash(self):
        s3 = self.PX.client(self.KEY)
        keys = ["pfx/dir/a.txt", "pfx/dir/sub/b.txt", "pfx/ünï dir/c.txt", "pfx/x+y=z/d.txt", "pfx/top.txt"]
        for k in keys:
            self.UP.put(self.BUCKET, k, b"p")
        r = s3.list_objects_v2(Bucket=self.BUCKET, Prefix="pfx/dir/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["pfx/dir/a.txt", "pfx/dir/sub/b.txt"])
        r = s3.list_objects_v2(Bucket=self.BUCKET, Prefix="pfx/", Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["pfx/top.txt"])
        self.assertEqual(sorted(p["Prefix"] for p in r["CommonPrefixes"]),
                         sorted(["pfx/dir/", "pfx/ünï dir/", "pfx/x+y=z/"]))
        r = s3.list_objects_v2(Bucket=self.BUCKET, Prefix="pfx/ünï dir/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["pfx/ünï dir/c.txt"])
        r = s3.list_objects_v2(Bucket=self.BUCKET, Prefix="pfx/x+y=z/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["pfx/x+y=z/d.txt"])
        # v1 listing with a marker holding odd characters
        r = s3.list_objects(Bucket=self.BUCKET, Prefix="pfx/", Marker="pfx/dir/sub/b.txt")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["pfx/top.txt", "pfx/x+y=z/d.txt", "pfx/ünï dir/c.txt"])

    def test_odd_keys_aws_cli(self):
        d = tmpdir("odd-cli")
        # one key with all of them: each aws cli start costs seconds
        for key in ["cli odd/ünï cödé+plus=eq 100% sure.txt"]:
            with self.subTest(key=key):
                data = self.body(key)
                src = os.path.join(d, "src")
                with open(src, "wb") as f:
                    f.write(data)
                self.assertCliOk(aws(self.PX.endpoint, self.KEY, "s3", "cp", src, f"s3://{self.BUCKET}/{key}"))
                self.assertStored(self.UP, self.BUCKET, key, data)
                r = self.assertCliOk(aws(self.PX.endpoint, self.KEY, "s3", "ls", f"s3://{self.BUCKET}/cli odd/"))
                self.assertIn(key.split("/", 1)[1], r.out)
                self.assertCliOk(aws(self.PX.endpoint, self.KEY, "s3", "rm", f"s3://{self.BUCKET}/{key}"))
                self.assertIsNone(self.UP.get(self.BUCKET, key))

    def test_odd_keys_presign_and_curl_sigv4(self):
        s3 = self.PX.client(self.KEY)
        for key in ["sign/with space+plus=eq.txt", "sign/ünïcödé ✓.txt"]:
            with self.subTest(key=key):
                data = self.body(key)
                self.UP.put(self.BUCKET, key, data)
                u = s3.generate_presigned_url("get_object", Params={"Bucket": self.BUCKET, "Key": key},
                                              ExpiresIn=300)
                p = curl("-f", "--globoff", "--path-as-is", u)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, data)
                k = self.KEY
                # curl 7.88 does not add x-amz-content-sha256 itself; S3 needs it
                p = curl("-f", "--globoff", "--path-as-is", "-H", "x-amz-content-sha256: " + EMPTY_SHA256,
                         "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{k.id}:{k.secret}",
                         f"{self.PX.endpoint}/{self.BUCKET}/{quote_key(key)}")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, data)
