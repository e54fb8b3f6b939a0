#!/usr/bin/env python3
"""deploy/ checks (issue 6): the systemd unit passes `systemd-analyze
verify` and keeps its hardening, the logrotate snippet parses, the
Kubernetes manifests parse and agree with each other, the config they carry
loads, the Containerfile builds a non-root image on Debian 12, and every
example config loads. No server or upstream needed.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403

import yaml  # noqa: E402  (PyYAML: an awscli dependency)

DEPLOY = os.path.join(ROOT, "deploy")
PENDING = {}


def validate(path):
    return subprocess.run([BIN, "validate", "--config", path], capture_output=True, text=True, timeout=30)


class Systemd(Case):
    def unit(self):
        d = tmpdir("systemd")
        with open(os.path.join(DEPLOY, "systemd/s3warden.service")) as f:
            text = f.read()
        # verify checks that ExecStart's binary exists: point it at the one under test
        path = os.path.join(d, "s3warden.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/local/bin/s3warden", BIN))
        return text, path

    def test_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.fail("systemd-analyze is missing (deploy/install-deps.sh installs systemd)")
        _, path = self.unit()
        p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "systemd-analyze verify warnings")

    def test_hardening(self):
        text, path = self.unit()
        for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                     "ReadWritePaths=/var/log/s3warden", "ExecReload=/bin/kill -HUP $MAINPID", "LimitCORE=0"):
            self.assertIn(line, text)
        p = subprocess.run(["systemd-analyze", "security", "--offline=true", path], capture_output=True,
                           text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-500:] + p.stderr[-500:])
        self.assertLessEqual(float(m.group(1)), 2.0, "systemd exposure level got worse")


class Logrotate(Case):
    def test_snippet_parses_and_signals(self):
        path = os.path.join(DEPLOY, "logrotate/s3warden")
        if shutil.which("logrotate") is None:
            self.fail("logrotate is missing")
        p = subprocess.run(["logrotate", "-d", "-s", os.path.join(tmpdir("lr"), "state"), path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("/var/log/s3warden/audit.log", p.stderr + p.stdout)
        self.assertIn("SIGUSR1", open(path).read())


class Kubernetes(Case):
    @classmethod
    def setUpClass(cls):
        cls.docs = {}
        for path in sorted(glob.glob(os.path.join(DEPLOY, "k8s/*.yaml"))):
            with open(path) as f:
                for d in yaml.safe_load_all(f):
                    cls.docs.setdefault(d["kind"], []).append((os.path.basename(path), d))

    def one(self, kind):
        self.assertEqual(len(self.docs.get(kind, [])), 1, kind)
        return self.docs[kind][0][1]

    def test_kinds_and_kustomization(self):
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap",
                     "Secret", "Kustomization"):
            self.one(kind)
        files = {os.path.basename(p) for p in glob.glob(os.path.join(DEPLOY, "k8s/*.yaml"))} - {"kustomization.yaml"}
        self.assertEqual(set(self.one("Kustomization")["resources"]), files)

    def test_deployment(self):
        dep = self.one("Deployment")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(dep["spec"]["selector"]["matchLabels"], labels)
        c = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertIn("preStop", c["lifecycle"])
        self.assertIn("cpu", c["resources"]["requests"])
        self.assertIn("memory", c["resources"]["limits"])
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        self.assertTrue(dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"])
        ports = {p["name"] for p in c["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertIn(c[probe]["httpGet"]["port"], ports)
        # graceful shutdown fits: preStop sleep + s3warden's 10 s drain < grace period
        self.assertGreater(dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 15)
        vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(vols["config"]["configMap"]["name"], self.one("ConfigMap")["metadata"]["name"])
        self.assertEqual(vols["secrets"]["secret"]["secretName"], self.one("Secret")["metadata"]["name"])

    def test_service_hpa_pdb_point_at_the_deployment(self):
        dep = self.one("Deployment")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(self.one("Service")["spec"]["selector"], labels)
        self.assertEqual(self.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
        ref = self.one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
        self.assertEqual((ref["kind"], ref["name"]), ("Deployment", dep["metadata"]["name"]))
        c = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertIn(self.one("Service")["spec"]["ports"][0]["targetPort"], {p["name"] for p in c["ports"]})

    def test_networkpolicy_keeps_the_admin_port_to_prometheus(self):
        dep = self.one("Deployment")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        np = self.one("NetworkPolicy")
        self.assertEqual(np["spec"]["podSelector"]["matchLabels"], labels)
        c = dep["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        rules = {r["ports"][0]["port"]: r for r in np["spec"]["ingress"]}
        # the S3 port open, the admin port only from the Prometheus pods
        self.assertEqual(set(rules), {ports["s3"], ports["admin"]})
        self.assertNotIn("from", rules[ports["s3"]])
        self.assertEqual(rules[ports["admin"]]["from"][0]["podSelector"]["matchLabels"],
                         {"app.kubernetes.io/name": "prometheus"})

    def test_configmap_config_loads(self):
        # The ConfigMap's config with its /etc/s3warden paths moved to a temp
        # dir and test secrets in the Secret's file names.
        d = tmpdir("k8s-etc")
        data = self.one("ConfigMap")["data"]
        os.makedirs(os.path.join(d, "policies"), exist_ok=True)
        os.makedirs(os.path.join(d, "secrets"), exist_ok=True)
        with open(os.path.join(d, "policies", "acme-shared.json"), "w") as f:
            f.write(data["acme-shared.json"])
        for name in self.one("Secret")["stringData"]:
            with open(os.path.join(d, "secrets", name), "w") as f:
                f.write(hashlib.sha256(name.encode()).hexdigest() if name.endswith(".key") else "k8s-test-secret-0123456789")
        cfg = json.loads(data["config.json"])
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write("a.b.c")
        cfg["credentials"]["chain"][0]["token_file"] = token
        path = os.path.join(d, "config.json")
        with open(path, "w") as f:
            f.write(json.dumps(cfg).replace("/etc/s3warden", d))
        p = validate(path)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class Container(Case):
    def test_containerfile(self):
        with open(os.path.join(DEPLOY, "container/Containerfile")) as f:
            text = f.read()
        froms = re.findall(r"^FROM (\S+)", text, re.M)
        self.assertEqual(len(froms), 2, "multi-stage")
        self.assertTrue(all("debian:12" in x for x in froms), froms)
        user = re.findall(r"^USER (\S+)", text, re.M)
        self.assertEqual(len(user), 1)
        self.assertNotIn(user[0].split(":")[0], ("0", "root"))
        self.assertIn("deploy/container/build.sh", text)
        self.assertTrue(os.access(os.path.join(DEPLOY, "container/build.sh"), os.X_OK))


class Examples(Case):
    def test_every_example_config_loads(self):
        paths = sorted(glob.glob(os.path.join(DEPLOY, "examples/*.json")))
        self.assertIn(os.path.join(DEPLOY, "examples/demo.json"), paths)
        for path in paths:
            with self.subTest(example=os.path.basename(path)):
                p = validate(path)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


def tearDownModule():
    cleanup_all()


if __name__ == "__main__":
    main(PENDING)
