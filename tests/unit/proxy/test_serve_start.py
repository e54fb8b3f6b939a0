#!/usr/bin/env python3
"""`s3warden serve` that cannot start: the S3 port or the admin port is
held by another socket. It exits 2 at once with the reason, and takes down
what it had set up on the way out (audit writer, credential managers,
workers that were made): under the ASan build (CI's second unit run)
LeakSanitizer reported all of it as leaked before.

Needs S3W_BIN and S3W_SOURCE_ROOT (set by meson)."""
import json
import os
import socket
import subprocess
import sys
import tempfile

BIN = os.environ["S3W_BIN"]
SRC = os.environ["S3W_SOURCE_ROOT"]
SEED2 = os.path.join(SRC, "deploy", "examples", "seed002-restrict-to-role.json")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def held_port():
    """A listening socket without SO_REUSEPORT: nobody else can bind its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def serve(tmp, port, admin_port=None):
    with open(SEED2) as f:
        cfg = json.load(f)
    cfg["listeners"][0]["port"] = port
    cfg["credentials"] = {"chain": [{"type": "static", "access_key_id": "AKIASTARTTEST0000001",
                                     "secret": "startteststartteststartteststarttest0001"}]}
    cfg["audit"] = {"output": os.path.join(tmp, "audit.log")}
    if admin_port:
        cfg["admin"] = {"address": "127.0.0.1", "port": admin_port}
    path = os.path.join(tmp, "s3w.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, S3WARDEN_WORKERS="2")
    r = subprocess.run([BIN, "serve", "--config", path], capture_output=True, text=True,
                       timeout=60, env=env, stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        held, port = held_port()
        rc, err = serve(tmp, port)
        check(rc == 2, f"S3 port in use: exit {rc}, not 2: {err}")
        check(f"ERROR cannot listen on 127.0.0.1:{port}: Address already in use" in err,
              f"S3 port in use: no reason given: {err}")
        check("LeakSanitizer" not in err and "AddressSanitizer" not in err,
              f"S3 port in use: sanitizer report: {err}")

        # the admin port: the workers and their listeners were made first
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        s3_port = free.getsockname()[1]
        free.close()
        rc, err = serve(tmp, s3_port, admin_port=port)
        check(rc == 2, f"admin port in use: exit {rc}, not 2: {err}")
        check(f"ERROR admin: cannot listen on 127.0.0.1:{port}" in err,
              f"admin port in use: no reason given: {err}")
        check("LeakSanitizer" not in err and "AddressSanitizer" not in err,
              f"admin port in use: sanitizer report: {err}")
        held.close()
    if FAILS:
        print(f"{len(FAILS)} failed")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
