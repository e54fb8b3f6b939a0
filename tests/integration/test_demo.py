#!/usr/bin/env python3
"""The README's first command, deploy/demo.sh, end to end: start (with the
binary under test instead of a rebuild, on free ports and its own state
dir), run one allowed and one denied command it prints, check the audit
log, stop, and check nothing is left running.
"""
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

PENDING = {}


class Demo(Case):
    @classmethod
    def setUpClass(cls):
        cls.dir = tmpdir("demo")
        cls.port, cls.moto_port, cls.admin_port = free_ports(3)
        cls.env = dict(os.environ, S3W_DEMO_SKIP_BUILD="1", S3W_BIN=BIN, S3W_PYTHON=PY,
                       S3W_DEMO_DIR=cls.dir, S3W_DEMO_PORT=str(cls.port),
                       S3W_DEMO_MOTO_PORT=str(cls.moto_port),
                       S3W_DEMO_ADMIN_PORT=str(cls.admin_port))
        on_cleanup(cls.stop)
        cls.start = subprocess.run(["bash", os.path.join(ROOT, "deploy/demo.sh")], env=cls.env,
                                   capture_output=True, text=True, timeout=240)

    @classmethod
    def stop(cls):
        return subprocess.run(["bash", os.path.join(ROOT, "deploy/demo.sh"), "stop"], env=cls.env,
                              capture_output=True, text=True, timeout=60)

    def aws(self, profile, *args):
        env = cli_env()
        env.update(AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "credentials"),
                   AWS_CONFIG_FILE=os.path.join(self.dir, "config"))
        p = subprocess.run(["aws", "--endpoint-url", f"http://127.0.0.1:{self.port}", "--profile", profile]
                           + list(args), env=env, capture_output=True, text=True, timeout=120)
        return CliResult(p)

    def test_1_started_and_printed_commands(self):
        self.assertEqual(self.start.returncode, 0, self.start.stdout[-3000:] + self.start.stderr[-3000:])
        out = self.start.stdout
        self.assertIn(f"s3warden is running on http://127.0.0.1:{self.port}", out)
        self.assertIn("--profile partner-app s3 cp s3://acme-shared/reports/2026-q3.csv -", out)
        self.assertIn("bash deploy/demo.sh stop", out)
        # the two commands it ran itself: one allowed, one denied with the reason
        self.assertIn("2026-Q3,1234567", out)
        self.assertIn("with an explicit deny in a resource-based policy", out)

    def test_2_allowed_and_denied(self):
        r = self.aws("partner-app", "s3", "cp", "s3://acme-shared/reports/2026-q3.csv", "-")
        self.assertCliOk(r)
        self.assertEqual(r.out, "quarter,revenue\n2026-Q3,1234567\n")
        r = self.aws("partner-intern", "s3api", "get-object", "--bucket", "acme-shared", "--key", "README.txt",
                     os.path.join(self.dir, "out"))
        self.assertCliError(r, "AccessDenied", denied_message(
            user_arn("222222222222", "partner-intern"), "s3:GetObject", "arn:aws:s3:::acme-shared/README.txt",
            explicit("resource-based")))
        r = self.aws("partner-app", "s3api", "put-object", "--bucket", "acme-shared", "--key", "reports/forged.csv",
                     "--body", os.path.join(self.dir, "hello.txt"))
        self.assertCliError(r, "AccessDenied", denied_message(
            session_arn("222222222222", "partner-reader", "i-0123456789abcdef0"), "s3:PutObject",
            "arn:aws:s3:::acme-shared/reports/forged.csv", no_allow("resource-based", "s3:PutObject")))
        def intern_records():
            # records reach the file a moment after the response
            recs = [json.loads(line) for line in complete_lines(os.path.join(self.dir, "audit.log"))]
            return [x for x in recs
                    if x.get("userIdentity", {}).get("principalId") == "AIDAPARTNERINTERN001"]
        denied = wait_until(intern_records, 5)
        self.assertTrue(denied and denied[-1]["decision"] != "Allowed", denied)

    def test_2b_admin_listener(self):
        # the demo's admin listener: ready, and the requests above counted
        # under their operation, decision and deciding policy
        import urllib.request
        base = f"http://127.0.0.1:{self.admin_port}"
        with urllib.request.urlopen(base + "/readyz", timeout=10) as r:
            self.assertEqual(r.status, 200)
            lines = r.read().decode().splitlines()
        self.assertEqual(lines[0], "config: ok")
        self.assertTrue(lines[1].startswith("credentials: ok"), lines)
        self.assertTrue(lines[2].startswith("upstream: ok (answered "), lines)
        self.assertEqual(lines[-1], "ready")
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            text = r.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        self.assertGreaterEqual(samples.get('s3warden_requests_total{operation="GetObject",'
                                            'decision="Allowed",status="200"}', 0), 1, text)
        self.assertGreaterEqual(samples.get('s3warden_policy_denials_total{policy="bucket-policy",'
                                            'decision="ExplicitlyDenied"}', 0), 1, text)
        self.assertEqual(samples.get("s3warden_ready"), 1)

    def test_2c_list_buckets_shows_the_callers_buckets_only(self):
        # The upstream holds a bucket the config does not list; S3 lists a
        # caller's own account's buckets, so through s3warden acme's admin
        # sees acme-shared only and the partner's user sees none.
        env = cli_env()
        env.update(AWS_ACCESS_KEY_ID="moto", AWS_SECRET_ACCESS_KEY="moto")
        p = subprocess.run(["aws", "--endpoint-url", f"http://127.0.0.1:{self.moto_port}", "s3", "mb",
                            "s3://upstream-only-bucket"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        direct = subprocess.run(["aws", "--endpoint-url", f"http://127.0.0.1:{self.moto_port}", "s3", "ls"],
                                env=env, capture_output=True, text=True, timeout=60).stdout
        self.assertIn("upstream-only-bucket", direct)
        r = self.aws("acme-admin", "s3", "ls")
        self.assertCliOk(r)
        self.assertEqual([line.split()[-1] for line in r.out.splitlines()], ["acme-shared"])
        r = self.aws("partner-intern", "s3api", "list-buckets", "--query", "Buckets[].Name", "--output", "json")
        self.assertCliOk(r)
        self.assertEqual(json.loads(r.out), [])
        # a prefix applies to the names the caller sees, not the upstream's
        for prefix, want in (("acme", ["acme-shared"]), ("upstream", []), ("acme-shared-", [])):
            r = self.aws("acme-admin", "s3api", "list-buckets", "--prefix", prefix,
                         "--query", "Buckets[].Name", "--output", "json")
            self.assertCliOk(r)
            self.assertEqual(json.loads(r.out) or [], want, prefix)

    def test_2d_sts_examples_of_the_readme(self):
        # README "STS": get-caller-identity, and the presigned URL of
        # `aws eks get-token`, which names its caller when sent back
        r = self.aws("partner-ci", "sts", "get-caller-identity")
        self.assertCliOk(r)
        self.assertEqual(json.loads(r.out)["Arn"], "arn:aws:iam::222222222222:user/partner-ci")
        env = cli_env()
        env.update(AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "credentials"),
                   AWS_CONFIG_FILE=os.path.join(self.dir, "config"),
                   AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{self.port}")
        p = subprocess.run(["aws", "--profile", "partner-ci", "eks", "get-token", "--cluster-name", "demo"],
                           env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        import base64
        b64 = json.loads(p.stdout)["status"]["token"][len("k8s-aws-v1."):]
        url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
        self.assertTrue(url.startswith(f"http://127.0.0.1:{self.port}/?Action=GetCallerIdentity&"), url)
        u = urllib.parse.urlparse(url)
        got = raw(f"http://127.0.0.1:{self.port}", "GET", f"/?{u.query}",
                  {"Host": u.netloc, "x-k8s-aws-id": "demo"})
        self.assertEqual(got.status, 200, got)
        self.assertIn(b"<Arn>arn:aws:iam::222222222222:user/partner-ci</Arn>", got.body)

    def test_3_stop_leaves_nothing_running(self):
        pids = []
        for f in ("s3warden.pid", "moto/moto.pid"):
            with open(os.path.join(self.dir, f)) as fh:
                pids.append(int(fh.read().strip()))
        r = self.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        for pid in pids:
            self.assertFalse(os.path.exists(f"/proc/{pid}") and
                             open(f"/proc/{pid}/stat").read().split()[2] != "Z", f"pid {pid} still running")
        st = subprocess.run(["bash", os.path.join(ROOT, "deploy/demo.sh"), "status"], env=self.env,
                            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(st.returncode, 0)
        self.assertIn("s3warden not running", st.stdout)


def tearDownModule():
    cleanup_all()


if __name__ == "__main__":
    main(PENDING)
