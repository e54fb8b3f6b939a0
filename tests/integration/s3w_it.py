"""s3w_it - the integration harness: real upstreams, s3warden, real clients.

Each test module (one meson test each) does, in setUpModule:

    up = s3w_it.Moto(auth=True, buckets=[...]).start()     # or Rgw()
    px = s3w_it.Proxy(s3w_it.render_config(world, up, ...)).start()

and in tearDownModule `s3w_it.cleanup_all()` (also run at exit and on
SIGTERM/SIGINT, so a failing or timed-out test leaks no process: meson
sends SIGTERM on timeout, and the upstream scripts start their daemons in
their own sessions, out of reach of a process-group kill).

Everything listens on 127.0.0.1 on ports picked free at start, so several
engineers (and the demo) can run the suite at the same time.

Principles the tests follow (issue 5, "End-to-end tests"):
  - after every write through s3warden, the object is read straight from the
    upstream (with the proxy's own upstream key) and compared byte for byte;
  - after every denial, the upstream listing is compared with a snapshot
    taken before the request: nothing changed;
  - negative tests assert the exact S3 error code, and the exact message
    where s3warden makes it (AccessDenied from the policy engine).

Run a module by hand:  S3W_BIN=build/s3warden python3 tests/integration/test_x.py
"""

import atexit
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("S3W_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("S3W_BUILD_ROOT") or os.path.join(ROOT, "build")
BIN = os.environ.get("S3W_BIN") or os.path.join(BUILD, "proxy", "s3warden")
PY = os.environ.get("S3W_PYTHON") or sys.executable
PYBIN = os.path.dirname(PY)
REGION = "us-east-1"
# Harness self-check only (never in CI): S3W_IT_DIRECT=1 points the clients
# straight at an auth-off moto instead of s3warden, to prove the client
# plumbing of a test before the server feature it needs exists.
DIRECT = os.environ.get("S3W_IT_DIRECT") == "1"

# Clients (aws, moto_server) come from the Python that has boto3.
os.environ["PATH"] = PYBIN + os.pathsep + os.environ.get("PATH", "")

import boto3  # noqa: E402  (after PATH: same interpreter anyway)
import botocore  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

# ---------------------------------------------------------------------------
# cleanup: every process we start is stopped, whatever happens
# ---------------------------------------------------------------------------
_cleanups = []


def on_cleanup(fn):
    _cleanups.append(fn)
    return fn


def cleanup_all():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # keep going: the next one may matter more
            print(f"cleanup: {e}", file=sys.stderr)


def _on_signal(signum, _frame):
    cleanup_all()
    os._exit(128 + signum)


atexit.register(cleanup_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)

_tmp_root = tempfile.mkdtemp(prefix="s3w-it-")
on_cleanup(lambda: shutil.rmtree(_tmp_root, ignore_errors=True))


def tmpdir(name):
    d = os.path.join(_tmp_root, name)
    os.makedirs(d, exist_ok=True)
    return d


# Ports for servers the tests start come from below the kernel's ephemeral
# range (net.ipv4.ip_local_port_range, 32768-60999 by default): a port
# from bind(port 0) is free only until some client's outgoing connection
# takes it as its source port, which made a server's later bind fail now
# and then with several modules running at once.
_PORT_LO, _PORT_HI = 20000, 32000


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    hi = min(_PORT_HI, _ephemeral_low())
    rng = random.SystemRandom()
    got = []
    for _ in range(2000):
        if len(got) == n:
            return got
        p = rng.randrange(_PORT_LO, hi)
        if p in got:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        got.append(p)
    raise RuntimeError("no free port found below the ephemeral range")


def wait_until(fn, timeout=10.0, step=0.1):
    """fn() until truthy or timeout; returns the last value."""
    end = time.time() + timeout
    v = fn()
    while not v and time.time() < end:
        time.sleep(step)
        v = fn()
    return v


def complete_lines(path):
    """The complete, non-blank lines of a file a running s3warden appends
    to (its audit file), as bytes. A line without its newline yet is left
    for the next read: the writer hands on whole batches, but a read may
    see a batch half copied in (Linux's page cache makes no promise between
    one process's write and another's read), which json.loads took for a
    torn record. Tests that check the file once s3warden stopped read it
    whole and strictly instead (test_audit_hardening, test_audit_count)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return [line for line in data.split(b"\n")[:-1] if line.strip()]


def scan_memory(pid, patterns):
    """(pattern, mapping, address) for each occurrence of each pattern in
    the process's readable memory that no file backs (heap, stacks, thread
    arenas): where a secret may be left behind. Needs ptrace rights over
    the process (root, or its own user)."""
    hits = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            f = line.split()
            name = f[5] if len(f) > 5 else "anon"
            if "r" not in f[1] or name.startswith("/") or name in ("[vvar]", "[vsyscall]", "[vdso]"):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            step, overlap = 16 << 20, max(len(p) for p in patterns)
            for at in range(lo, hi, step):  # in pieces: a mapping may be huge
                try:
                    mem.seek(at)
                    data = mem.read(min(step + overlap, hi - at))
                except OSError:
                    break
                for p in patterns:
                    i = data.find(p)
                    while 0 <= i < step:  # one past the piece is the next one's
                        hits.append((p, name, hex(at + i)))
                        i = data.find(p, i + 1)
    return hits


def free_port():
    return free_ports(1)[0]


def _parse_env(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z0-9_]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def s3_client(endpoint, ak, sk, token=None, verify=None, **cfg):
    """A boto3 S3 client, path-style, no retries (a retry would hide the
    first answer, and write a second audit record), default checksum
    behaviour unless overridden. total_max_attempts counts the first
    attempt; botocore reads max_attempts as retries after it, so
    {"max_attempts": 1} would be one retry.
    verify: a CA bundle for an https endpoint (None: the system's CAs)."""
    s3cfg = {"addressing_style": "path"}
    # s3v4 also for presigned URLs (botocore presigns with SigV2 otherwise)
    opts = dict(retries={"total_max_attempts": 1, "mode": "standard"}, s3=s3cfg,
                signature_version="s3v4", connect_timeout=5, read_timeout=60)
    opts.update(cfg)
    conf = Config(**opts)
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ak, aws_secret_access_key=sk,
                        aws_session_token=token, config=conf, verify=verify)


# ---------------------------------------------------------------------------
# upstreams
# ---------------------------------------------------------------------------
class Upstream:
    """Common view of an upstream: its endpoint, the admin key s3warden uses
    to re-sign, and a direct client for checking what really got stored."""

    endpoint = None
    access_key = None
    secret_key = None
    ca_file = None  # the CA bundle of an https endpoint

    def s3(self):
        return s3_client(self.endpoint, self.access_key, self.secret_key, verify=self.ca_file)

    def get(self, bucket, key):
        """Bytes of an object straight from the upstream, or None."""
        try:
            return self.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def snapshot(self, bucket):
        """{key: (size, etag)} of every object in the bucket, upstream."""
        out = {}
        s3 = self.s3()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"])
        return out

    def uploads(self, bucket):
        r = self.s3().list_multipart_uploads(Bucket=bucket)
        return [u["Key"] for u in r.get("Uploads", [])]

    def put(self, bucket, key, body):
        self.s3().put_object(Bucket=bucket, Key=key, Body=body)


class Moto(Upstream):
    """deploy/upstreams/moto.sh on a free port. auth=True: moto checks SigV4
    and IAM (the proxy's user, key and an assumable role are created by the
    script); auth=False: any key works (the odd-keys matrix, README.md
    "Known limits of moto")."""

    def __init__(self, auth=True, buckets=()):
        self.auth = auth and not DIRECT
        self.buckets = list(buckets)
        self.port = None
        self.base = None
        self.info = {}

    def _run(self, cmd):
        env = dict(os.environ, MOTO_PORT=str(self.port), MOTO_BASE=self.base,
                   MOTO_AUTH="1" if self.auth else "0",
                   MOTO_BUCKETS=" ".join(self.buckets), S3W_PYTHON=PY)
        return subprocess.run(["bash", os.path.join(ROOT, "deploy/upstreams/moto.sh"), cmd],
                              env=env, capture_output=True, text=True, timeout=90)

    def start(self):
        self.port = free_port()
        self.base = tmpdir(f"moto-{self.port}")
        on_cleanup(self.stop)
        r = self._run("start")
        if r.returncode != 0:
            raise RuntimeError(f"moto.sh start failed:\n{r.stdout}\n{r.stderr}")
        self.info = _parse_env(r.stdout)
        self.endpoint = self.info["MOTO_ENDPOINT"]
        self.access_key = self.info["AWS_ACCESS_KEY_ID"]
        self.secret_key = self.info["AWS_SECRET_ACCESS_KEY"]
        self.role_arn = self.info.get("MOTO_ROLE_ARN")
        return self

    def stop(self):
        if self.port:
            self._run("stop")
            self.port = None


def require_rgw():
    """RGW tests need Debian's radosgw; deploy/install-deps.sh installs it.
    Not installed is a failure with the fix in the message, never a skip."""
    missing = [b for b in ("radosgw", "ceph-mon", "ceph-osd", "radosgw-admin", "monmaptool")
               if shutil.which(b) is None]
    if missing:
        raise AssertionError(
            "Ceph RGW is not installed (missing: " + ", ".join(missing) + "). "
            "Run: sudo bash deploy/install-deps.sh")


class Rgw(Upstream):
    """deploy/upstreams/rgw.sh on free ports (HTTP, mon v1, mon v2).
    tls=(cert_file, key_file, ca_file): RGW also serves HTTPS (beast's
    ssl_endpoint, on one more free port) with that certificate, and
    `endpoint` is the https one, checked against ca_file by s3()."""

    def __init__(self, buckets=(), tls=None):
        self.buckets = list(buckets)
        self.base = None
        self.started = False
        self.tls = tls

    def _env(self):
        return dict(os.environ, RGW_BASE=self.base, RGW_PORT=str(self.port),
                    RGW_MON_V2_PORT=str(self.mon2), RGW_MON_V1_PORT=str(self.mon1))

    def start(self):
        require_rgw()
        self.port, self.mon1, self.mon2 = free_ports(3)
        self.base = tmpdir(f"rgw-{self.port}")
        self.started = True
        on_cleanup(self.stop)
        r = subprocess.run(["bash", os.path.join(ROOT, "deploy/upstreams/rgw.sh"), "start"],
                           env=self._env(), capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"rgw.sh start failed:\n{r.stdout}\n{r.stderr[-3000:]}")
        self.info = _parse_env(r.stdout)
        self.endpoint = self.info["RGW_ENDPOINT"]
        self.access_key = self.info["AWS_ACCESS_KEY_ID"]
        self.secret_key = self.info["AWS_SECRET_ACCESS_KEY"]
        if self.tls:
            self._restart_with_tls()
        s3 = self.s3()
        for b in self.buckets:
            s3.create_bucket(Bucket=b)
        return self

    def s3(self):
        if not self.tls:
            return super().s3()
        # Pacific predates checksum trailers, the SDKs' default over https
        # (MissingContentLength): a direct client sends plain bodies
        return s3_client(self.endpoint, self.access_key, self.secret_key, verify=self.ca_file,
                         request_checksum_calculation="when_required")

    def _restart_with_tls(self):
        """radosgw reads its frontends once, at start: rgw.sh's radosgw is
        stopped and started again on the same cluster with an ssl_endpoint
        added to its ceph.conf line, its PID where rgw.sh's stop finds it."""
        cert, key, ca = self.tls
        self.tls_port = free_port()
        conf = self.info["CEPH_CONF"]
        with open(conf) as f:
            text = f.read()
        line = f"rgw frontends = beast endpoint=127.0.0.1:{self.port}"
        if line + "\n" not in text:
            raise RuntimeError(f"rgw.sh's ceph.conf has no line {line!r}")
        text = text.replace(line + "\n", f"{line} ssl_endpoint=127.0.0.1:{self.tls_port} "
                            f"ssl_certificate={cert} ssl_private_key={key}\n")
        with open(conf, "w") as f:
            f.write(text)
        self.stop_gateway()
        self.endpoint = f"https://127.0.0.1:{self.tls_port}"
        self.ca_file = ca
        self.start_gateway()

    def gateway_pid(self):
        with open(os.path.join(self.base, "pids", "rgw.pid")) as f:
            return int(f.read())

    def gateway_alive(self):
        try:
            os.kill(self.gateway_pid(), 0)
            return True
        except (ProcessLookupError, OSError, ValueError):
            return False

    def stop_gateway(self):
        """Stops radosgw alone: the monitor and the OSD keep the objects and
        keys, for start_gateway to serve them again."""
        pid = self.gateway_pid()
        os.kill(pid, signal.SIGTERM)

        def gone():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        if not wait_until(gone, 30):
            os.kill(pid, signal.SIGKILL)
            wait_until(gone, 5)

    def start_gateway(self):
        """radosgw again on the same cluster, port and ceph.conf, until its
        endpoint answers. Started from a shell that exits at once, so that
        radosgw is not this process's child, its PID where rgw.sh's stop
        finds it (rgw.sh stop waits for that PID to vanish)."""
        r = subprocess.run(["bash", "-c", 'setsid "$@" >>"$LOG" 2>&1 </dev/null & echo $!', "rgw",
                            "radosgw", "-c", self.info["CEPH_CONF"], "-n", "client.rgw.a", "-f"],
                           env=dict(self._env(), LOG=os.path.join(self.base, "log", "rgw.stdout")),
                           capture_output=True, text=True, timeout=30)
        with open(os.path.join(self.base, "pids", "rgw.pid"), "w") as f:
            f.write(r.stdout.strip() + "\n")
        ca = ["--cacert", self.ca_file] if self.ca_file else []
        up = lambda: subprocess.run(["curl", "-sf", "--noproxy", "*", *ca, "-o", "/dev/null",
                                     self.endpoint + "/"], capture_output=True).returncode == 0
        if not wait_until(up, 120, 0.5):
            raise RuntimeError(f"radosgw did not answer on {self.endpoint}")

    def stop(self):
        if self.started:
            subprocess.run(["bash", os.path.join(ROOT, "deploy/upstreams/rgw.sh"), "stop"],
                           env=self._env(), capture_output=True, text=True, timeout=120)
            self.started = False


# ---------------------------------------------------------------------------
# the world the tests describe: accounts, users, roles, sessions, buckets
# ---------------------------------------------------------------------------
def _akid(tag):
    """A deterministic 20-char access key id from a label (AKIA + 16)."""
    h = hashlib.sha256(tag.encode()).hexdigest().upper()
    h = re.sub(r"[^A-Z0-9]", "", h)
    return ("AKIA" + h)[:20]


def _secret(tag):
    return base64.b64encode(hashlib.sha256(b"secret:" + tag.encode()).digest()).decode()[:40]


class Key:
    def __init__(self, label):
        self.id = _akid(label)
        self.secret = _secret(label)

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.id, "AWS_SECRET_ACCESS_KEY": self.secret}


class World:
    """Identities and buckets of one s3warden config, kept as plain data; one
    function (render_config) turns it into the config file format."""

    def __init__(self):
        self.accounts = {}     # id -> name
        self.users = {}        # name -> dict
        self.roles = {}        # name -> dict
        self.sessions = {}     # label -> dict (static role-session bindings)
        self.roots = {}        # account -> Key (account root keys)
        self.buckets = {}      # name -> dict
        self.guardrails = []

    def account(self, acct, name=None):
        self.accounts[acct] = name or acct
        return acct

    def root(self, acct):
        k = Key(f"root:{acct}")
        self.roots[acct] = k
        return k

    def user(self, acct, name, unique_id, policies=(), boundary=None, tags=None):
        k = Key(f"user:{acct}:{name}")
        self.users[name] = {"account": acct, "name": name, "unique_id": unique_id,
                            "key": k, "policies": list(policies), "boundary": boundary,
                            "tags": tags or {}}
        return k

    def role(self, acct, name, unique_id, trust, policies=(), max_session=3600):
        self.roles[name] = {"account": acct, "name": name, "unique_id": unique_id,
                            "trust": trust, "policies": list(policies),
                            "max_session": max_session}
        return f"arn:aws:iam::{acct}:role/{name}"

    def session(self, role, session_name):
        """A static binding: this key always acts as role/session_name."""
        k = Key(f"session:{role}:{session_name}")
        self.sessions[f"{role}/{session_name}"] = {"role": role, "session": session_name, "key": k}
        return k

    def bucket(self, name, acct, policy=None, upstream_name=None):
        self.buckets[name] = {"name": name, "account": acct, "policy": policy,
                              "upstream_name": upstream_name}
        return name


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **extra):
    st = {"Effect": "Allow", "Action": action, "Resource": resource}
    st.update(extra)
    return st


def user_arn(acct, name):
    return f"arn:aws:iam::{acct}:user/{name}"


def role_arn(acct, name):
    return f"arn:aws:iam::{acct}:role/{name}"


def session_arn(acct, role, session):
    return f"arn:aws:sts::{acct}:assumed-role/{role}/{session}"


STS_KEY_HEX = hashlib.sha256(b"s3w-it sts key 1").hexdigest()


def render_config(world, upstream, port, audit_path, *, assume_role=None,
                  tls=None, decode_aws_chunked=False, sts=True, extra=None, chain_key=None,
                  admin=None):
    """The s3warden config file (format: config/load.c, README
    "Configuration", deploy/examples/). The only place that knows it.
    admin: the admin listener's settings (a port, or a dict of "admin"
    fields; address 127.0.0.1 unless given); None: no admin listener."""
    named = lambda ps, prefix: [{"name": f"{prefix}{i}", "document": p} for i, p in enumerate(ps)]
    listener = {"address": "127.0.0.1", "port": port}
    if tls:
        listener["tls"] = {"cert_file": tls[0], "key_file": tls[1]}
    ak, sk = chain_key or (upstream.access_key, upstream.secret_key)
    creds = {"chain": [{"type": "static", "access_key_id": ak, "secret": sk}]}
    if assume_role:
        creds["assume_role"] = assume_role
    cfg = {
        "listeners": [listener],
        "upstream": {"endpoint": upstream.endpoint, "region": REGION, "addressing": "path",
                     "decode_aws_chunked": decode_aws_chunked},
        "credentials": creds,
        "accounts": [],
        "users": [],
        "roles": [],
        "role_sessions": [],
        "buckets": [],
        "audit": {"output": audit_path},
    }
    for acct, name in world.accounts.items():
        a = {"id": acct, "name": name}
        if acct in world.roots:
            k = world.roots[acct]
            a["access_keys"] = [{"id": k.id, "secret": k.secret}]
        cfg["accounts"].append(a)
    for u in world.users.values():
        d = {"account": u["account"], "name": u["name"], "unique_id": u["unique_id"],
             "access_keys": [{"id": u["key"].id, "secret": u["key"].secret}],
             "policies": named(u["policies"], u["name"] + "-policy-")}
        if u["boundary"]:
            d["permission_boundary"] = u["boundary"]
        if u["tags"]:
            d["tags"] = u["tags"]
        cfg["users"].append(d)
    for r in world.roles.values():
        cfg["roles"].append({"account": r["account"], "name": r["name"],
                             "unique_id": r["unique_id"], "trust_policy": r["trust"],
                             "policies": named(r["policies"], r["name"] + "-policy-"),
                             "max_session_duration": r["max_session"]})
    for s in world.sessions.values():
        r = world.roles[s["role"]]
        cfg["role_sessions"].append({"access_key_id": s["key"].id, "secret": s["key"].secret,
                                     "role_arn": role_arn(r["account"], r["name"]),
                                     "session_name": s["session"]})
    for b in world.buckets.values():
        d = {"name": b["name"], "account": b["account"]}
        if b["policy"] is not None:
            d["policy"] = b["policy"]
        if b["upstream_name"]:
            d["upstream_name"] = b["upstream_name"]
        cfg["buckets"].append(d)
    if world.guardrails:
        cfg["guardrails"] = named(world.guardrails, "guardrail-")
    if sts:
        cfg["sts"] = {"enabled": True, "keys": [{"id": "it1", "key": STS_KEY_HEX, "active": True}]}
    if admin is not None:
        a = {"address": "127.0.0.1"}
        a.update({"port": admin} if isinstance(admin, int) else admin)
        cfg["admin"] = a
    if extra:
        cfg.update(extra)
    return cfg


def render_multi_config(world, upstreams, port, audit_path, *, default_upstream=None,
                        bucket_upstreams=None, credential_sets=None, credentials=None,
                        sts=True, extra=None, admin=None):
    """render_config's file with several named upstreams (issue 14) in place
    of the single `upstream` + `credentials`.
    upstreams: a list of dicts, each with "name" and "store" (an Upstream:
    its endpoint and, unless "key" = (access key id, secret) or
    "credentials" says otherwise, its own admin key as a static chain); any
    other item is copied into the `upstreams[]` entry as it is (readiness,
    decode_aws_chunked, credentials as a credential set's name, ...).
    bucket_upstreams: {client-side bucket name: upstream name} for
    `buckets[].upstream`; a bucket not in it names none (the default).
    credential_sets: the `credential_sets` list as it is; credentials: the
    top-level `credentials` object (the set named "default")."""
    cfg = render_config(world, upstreams[0]["store"], port, audit_path, sts=sts, admin=admin)
    del cfg["upstream"], cfg["credentials"]
    entries = []
    for u in upstreams:
        store = u["store"]
        ak, sk = u.get("key") or (store.access_key, store.secret_key)
        e = {"name": u["name"], "endpoint": store.endpoint, "region": REGION, "addressing": "path",
             "credentials": {"chain": [{"type": "static", "access_key_id": ak, "secret": sk}]}}
        if store.ca_file:
            e["ca_file"] = store.ca_file
        e.update({k: v for k, v in u.items() if k not in ("name", "store", "key")})
        entries.append(e)
    cfg["upstreams"] = entries
    if credentials is not None:
        cfg["credentials"] = credentials
    if credential_sets is not None:
        cfg["credential_sets"] = credential_sets
    if default_upstream is not None:
        cfg["default_upstream"] = default_upstream
    for b in cfg["buckets"]:
        if b["name"] in (bucket_upstreams or {}):
            b["upstream"] = bucket_upstreams[b["name"]]
    if extra:
        cfg.update(extra)
    return cfg


# ---------------------------------------------------------------------------
# s3warden
# ---------------------------------------------------------------------------
class Proxy:
    """s3warden serve --config FILE on a free port, until stop()."""

    def __init__(self, config_fn, name="s3warden", env=None):
        """config_fn(port, audit_path) -> config dict.
        env: variables to set (value None: to remove) in s3warden's
        environment, on top of the test's own."""
        self.env = dict(env or {})
        self.port = free_port()
        self.dir = tmpdir(f"{name}-{self.port}")
        self.audit_path = os.path.join(self.dir, "audit.log")
        self.config = config_fn(self.port, self.audit_path)
        self.config_path = os.path.join(self.dir, "config.json")
        self.log_path = os.path.join(self.dir, "s3warden.log")
        self.proc = None
        self.scheme = "https" if self.config["listeners"][0].get("tls") else "http"

    @property
    def endpoint(self):
        if DIRECT:
            return self.config["upstream"]["endpoint"]
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        os.chmod(self.config_path, 0o600)

    def start(self, timeout=20):
        if DIRECT:
            return self
        if not os.access(BIN, os.X_OK):
            raise AssertionError(f"s3warden binary not found at {BIN} (build first)")
        self.write_config()
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.config_path],
                                     stdout=log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        on_cleanup(self.stop)
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"s3warden exited with {self.proc.returncode} at start:\n"
                                     + self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("s3warden did not listen within %ds:\n%s" % (timeout, self.log_tail()))

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def audit(self):
        """Audit records written so far (one JSON object a line)."""
        return [json.loads(line) for line in complete_lines(self.audit_path)]

    def audit_where(self, pred, n=1, timeout=5.0):
        """The audit records for which pred is true, once at least n exist
        (or the timeout passed): records reach the file a moment after the
        response, as each worker hands its records to the writer thread
        10 ms after the first of a batch."""
        return wait_until(lambda: (lambda m: m if len(m) >= n else None)(
            [a for a in self.audit() if pred(a)]), timeout) or \
            [a for a in self.audit() if pred(a)]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def admin_port(self):
        return self.config["admin"]["port"]

    def admin(self, path, method="GET", wait=5.0, timeout=10):
        """One plain-HTTP request to the admin listener (config "admin");
        retried while the port refuses connections, up to `wait` seconds
        (the listener may open a moment after the S3 one)."""
        deadline = time.time() + wait
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
            try:
                conn.request(method, path)
                r = conn.getresponse()
                return AdminResponse(r.status, r.getheaders(), r.read())
            except ConnectionRefusedError:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"s3warden exited with {self.proc.returncode}:\n"
                                         + self.log_tail())
                if time.time() >= deadline:
                    raise
                time.sleep(0.05)
            finally:
                conn.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def client(self, key, token=None, **cfg):
        if isinstance(key, Key):
            return s3_client(self.endpoint, key.id, key.secret, token, **cfg)
        ak, sk = key
        return s3_client(self.endpoint, ak, sk, token, **cfg)


class AdminResponse:
    """status, headers (lower-case names), body (bytes) and text (str)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<admin {self.status} {self.text[:600]!r}>"


# ---------------------------------------------------------------------------
# clients: aws cli, s3cmd, curl
# ---------------------------------------------------------------------------
CLI_ERR = re.compile(r"An error occurred \(([^)]*)\) when calling the (\w+) operation(?: \([^)]*\))?: ?(.*)")


class CliResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        m = CLI_ERR.search(self.err)
        self.code = m.group(1) if m else None
        self.operation = m.group(2) if m else None
        self.message = m.group(3).strip() if m else None

    def __repr__(self):
        return f"<rc={self.rc} code={self.code} out={self.out[-500:]!r} err={self.err[-1500:]!r}>"


def cli_env(key=None, token=None, home=None):
    home = home or tmpdir("home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                     "https_proxy")}
    cfgfile = os.path.join(home, "aws-config")
    if not os.path.exists(cfgfile):
        with open(cfgfile, "w") as f:
            f.write("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
                    "    signature_version = s3v4\n")
    env.update(HOME=home, AWS_CONFIG_FILE=cfgfile,
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "aws-credentials"),
               AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
               AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="1", AWS_PAGER="")
    if key is not None:
        if isinstance(key, Key):
            env.update(key.env())
        else:
            env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def aws(endpoint, key, *args, token=None, timeout=180, input=None, cwd=None):
    """Runs `aws --endpoint-url ENDPOINT ARGS...` with only this key."""
    cmd = [os.path.join(PYBIN, "aws") if os.path.exists(os.path.join(PYBIN, "aws")) else "aws",
           "--endpoint-url", endpoint] + [str(a) for a in args]
    p = subprocess.run(cmd, env=cli_env(key, token), capture_output=True, text=True,
                       timeout=timeout, input=input, cwd=cwd)
    return CliResult(p)


def curl(*args, timeout=60):
    p = subprocess.run(["curl", "-sS", "--noproxy", "*"] + [str(a) for a in args],
                       capture_output=True, timeout=timeout)
    return p


# ---------------------------------------------------------------------------
# raw signed requests (tampering tests): botocore's signer + http.client
# ---------------------------------------------------------------------------
class _S3Signer(SigV4Auth):
    """botocore's SigV4 signer with S3's canonical URI (the path exactly as
    sent, encoded once, never normalised) and the x-amz-content-sha256 value
    the caller chose (botocore's S3 signer would overwrite it)."""

    def _normalize_url_path(self, path):
        return path


def sign(method, url, key, headers=None, body=b"", payload_hash=None, service="s3",
         when=None, token=None):
    """Headers (dict) of a SigV4-signed request, signed by botocore.
    url: full URL with the path already percent-encoded.
    payload_hash: x-amz-content-sha256 to sign (default sha256(body)).
    when: an aware datetime to sign at (replay tests)."""
    if isinstance(key, Key):
        creds = Credentials(key.id, key.secret, token)
    else:
        creds = Credentials(key[0], key[1], token)
    h = dict(headers or {})
    h["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    signer = _S3Signer(creds, service, REGION)
    import botocore.auth as ba
    real = ba.get_current_datetime
    if when is not None:
        ba.get_current_datetime = lambda: when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    try:
        signer.add_auth(req)
    finally:
        ba.get_current_datetime = real
    out = dict(req.headers.items())
    out["Host"] = urllib.parse.urlparse(url).netloc
    return out


def signing_key(secret, date, service="s3"):
    import hmac
    k = ("AWS4" + secret).encode()
    for part in (date, REGION, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def aws_chunked(key, url, data, chunk_size=65536, bad_chunk=None, method="PUT", headers=None,
                content_encoding="aws-chunked"):
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload signed by hand (the chunk
    signature chain of the S3 docs, "Signature Calculations for the
    Authorization Header: Transferring Payload in Multiple Chunks").
    bad_chunk: index of a chunk whose signature is corrupted.
    content_encoding: the Content-Encoding value (holding aws-chunked).
    Returns (headers, body bytes)."""
    import hmac
    h = dict(headers or {})
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    sizes = sum(len(f"{len(c):x}".encode()) + len(";chunk-signature=") + 64 + 4 + len(c) for c in chunks)
    h.update({"Content-Encoding": content_encoding, "x-amz-decoded-content-length": str(len(data)),
              "Content-Length": str(sizes)})
    hdrs = sign(method, url, key, h, payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    amzdate = hdrs["X-Amz-Date"]
    prev = re.search(r"Signature=([0-9a-f]{64})", hdrs["Authorization"]).group(1)
    scope = f"{amzdate[:8]}/{REGION}/s3/aws4_request"
    kk = signing_key(key.secret if isinstance(key, Key) else key[1], amzdate[:8])
    empty = hashlib.sha256(b"").hexdigest()
    out = []
    for i, c in enumerate(chunks):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amzdate, scope, prev, empty,
                         hashlib.sha256(c).hexdigest()])
        sig = hmac.new(kk, sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if bad_chunk == i:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out.append(f"{len(c):x};chunk-signature={sig}\r\n".encode() + c + b"\r\n")
    body = b"".join(out)
    assert len(body) == sizes
    return hdrs, body


def unsigned_trailer(key, url, data, checksum_b64, algo="crc32", chunk_size=65536, method="PUT"):
    """A STREAMING-UNSIGNED-PAYLOAD-TRAILER upload (what the SDKs send by
    default over TLS) with the given x-amz-checksum-<algo> trailer value."""
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
    body += f"0\r\nx-amz-checksum-{algo}:{checksum_b64}\r\n\r\n".encode()
    h = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
         "x-amz-trailer": f"x-amz-checksum-{algo}", "Content-Length": str(len(body))}
    return sign(method, url, key, h, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER"), body


def crc32_b64(data):
    import zlib
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.code = self.message = None
        self.fields = {}
        if body and body.lstrip().startswith(b"<"):
            import xml.etree.ElementTree as ET
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                root = None
            if root is not None and root.tag == "Error":
                self.fields = {c.tag: (c.text or "") for c in root}
                self.code = self.fields.get("Code")
                self.message = self.fields.get("Message")

    def __repr__(self):
        return f"<{self.status} {self.code} {self.body[:400]!r}>"


def raw(endpoint, method, path, headers, body=b"", chunks=None, timeout=30):
    """Sends one request with http.client exactly as given (body as bytes, or
    `chunks` as an iterable of byte strings sent one after another)."""
    u = urllib.parse.urlparse(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if chunks is not None:
            for c in chunks:
                try:
                    conn.send(c)
                except (BrokenPipeError, ConnectionResetError):
                    break
        elif body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        try:
            r = conn.getresponse()
            data = r.read()
            return RawResponse(r.status, dict(r.getheaders()), data)
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            return RawResponse(0, {}, str(e).encode())
    finally:
        conn.close()


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def quote_key(key):
    return urllib.parse.quote(key, safe="/~")


class BackgroundTraffic:
    """Requests in a loop on a thread of their own, from entering the `with`
    block until leaving it, to show that something (a reload, a rotation)
    fails none of them. A subclass's request(i) makes the i-th request
    (i = 1, 2, ...) and returns None when it succeeded, else what went wrong;
    an exception counts as a failure too. On entry it waits for 3 requests
    and takes `before` = ok; on exit for 3 more (traffic kept flowing)."""

    def __init__(self):
        self.ok = 0
        self.errors = []
        self.stop_flag = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def request(self, i):
        raise NotImplementedError

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            try:
                err = self.request(i)
            except Exception as e:  # every failure counts
                err = f"request {i}: {e!r}"
            if err is None:
                self.ok += 1
            else:
                self.errors.append(err)

    def wait_for(self, n, timeout=20):
        """Waits until n more requests completed (a loaded machine is slow)."""
        target, deadline = self.ok + len(self.errors) + n, time.time() + timeout
        while self.ok + len(self.errors) < target and time.time() < deadline:
            time.sleep(0.05)

    def __enter__(self):
        self.t.start()
        self.wait_for(3)
        self.before = self.ok
        return self

    def __exit__(self, *exc):
        self.wait_for(3)
        self.stop_flag.set()
        self.t.join(30)


# ---------------------------------------------------------------------------
# running a module: unittest, with a summary and the pending list
# ---------------------------------------------------------------------------
def denied_message(principal_arn, action, resource_arn, why):
    """AWS's S3-form AccessDenied message (IAM-SEMANTICS.md 7.3)."""
    return (f'User: {principal_arn} is not authorized to perform: {action} '
            f'on resource: "{resource_arn}" {why}')


def no_allow(kind, action):
    return f"because no {kind} policy allows the {action} action"


def explicit(kind):
    return f"with an explicit deny in a{'n' if kind[0] in 'aeiou' else ''} {kind} policy"


class Case(unittest.TestCase):
    """Assertions shared by the modules."""

    maxDiff = None

    def assertClientError(self, fn, code, message=None, status=None):
        with self.assertRaises(ClientError) as cm:
            fn()
        err = cm.exception.response.get("Error", {})
        meta = cm.exception.response.get("ResponseMetadata", {})
        self.assertEqual(err.get("Code"), code, cm.exception.response)
        if message is not None:
            self.assertEqual(err.get("Message"), message)
        if status is not None:
            self.assertEqual(meta.get("HTTPStatusCode"), status)
        return cm.exception

    def assertCliOk(self, r):
        self.assertEqual(r.rc, 0, r)
        return r

    def assertCliError(self, r, code, message=None):
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(r.code, code, r)
        if message is not None:
            self.assertEqual(r.message, message, r)
        return r

    def assertUnchanged(self, upstream, bucket, before):
        self.assertEqual(upstream.snapshot(bucket), before,
                         "the upstream changed after a denied/rejected request")

    def assertStored(self, upstream, bucket, key, data):
        got = upstream.get(bucket, key)
        self.assertIsNotNone(got, f"{bucket}/{key} is not on the upstream")
        self.assertEqual(len(got), len(data))
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest(),
                         f"{bucket}/{key}: upstream bytes differ from what was sent")


def main(pending=None):
    """Runs the calling module's tests; prints one line per test and a
    summary; exit status 0 only if nothing failed.
    pending: the module's parked tests, "Class.test_name" -> reason: tests
    whose feature has not landed yet, reported as SKIP (PENDING: reason),
    never as passed."""
    pending = pending or {}
    mod = sys.modules["__main__"]
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(mod)

    def walk(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from walk(t)
            else:
                yield t

    for t in walk(suite):
        tid = t.id().split(".", 1)[-1]
        if tid in pending:
            name = tid.split(".")[-1]
            orig = getattr(type(t), name)
            setattr(type(t), name, unittest.skip("PENDING: " + pending[tid])(orig))

    class Result(unittest.TextTestResult):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.rows = []
            self.t0 = {}

        def startTest(self, test):
            self.t0[test.id()] = time.time()
            super().startTest(test)

        def _row(self, test, status, detail=""):
            dt = time.time() - self.t0.get(test.id(), time.time())
            self.rows.append((status, test.id().split(".", 1)[-1], dt, detail))

        def addSuccess(self, test):
            super().addSuccess(test)
            self._row(test, "PASS")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._row(test, "FAIL")

        def addError(self, test, err):
            super().addError(test, err)
            self._row(test, "ERROR")

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._row(test, "SKIP", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            self._row(test, "XFAIL")

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            self._row(test, "XPASS")

    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    t0 = time.time()
    try:
        result = runner.run(suite)
    finally:
        cleanup_all()
    name = os.path.basename(sys.argv[0])
    print(f"\n==== {name}: summary")
    for status, tid, dt, detail in result.rows:
        extra = f"  ({detail})" if detail else ""
        print(f"  {status:5s} {tid}  {dt:.1f}s{extra}")
    # setUpModule/setUpClass errors have no row of their own
    for test, _ in result.errors:
        if not isinstance(test, unittest.TestCase):
            print(f"  ERROR {test}")
    npass = sum(1 for r in result.rows if r[0] == "PASS")
    nfail = len(result.failures) + len(result.errors)
    nskip = len(result.skipped)
    # A test skipped because something it needs is missing here fails where
    # S3W_NO_SKIP is set (deploy/test.sh sets it, having installed every
    # part): a test that did not run never passes for one that did. Parked
    # tests (PENDING: their feature has not landed) stay skips, named above.
    unmet = [(t, why) for t, why in result.skipped if not why.startswith("PENDING: ")]
    if unmet and os.environ.get("S3W_NO_SKIP"):
        for t, why in unmet:
            print(f"  FAIL  {t}: skipped, and S3W_NO_SKIP is set: {why}")
        nfail += len(unmet)
    print(f"==== {name}: {npass} passed, {nfail} failed, {nskip} skipped"
          f" ({time.time() - t0:.0f}s)")
    ok = result.wasSuccessful() and result.testsRun > 0 and not (unmet and os.environ.get("S3W_NO_SKIP"))
    sys.exit(0 if ok else 1)


__all__ = [n for n in dir() if not n.startswith("_")] + ["ClientError", "datetime"]
