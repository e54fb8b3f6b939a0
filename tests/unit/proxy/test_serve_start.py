#!/usr/bin/env python3
"""`s3warden serve` as it starts, and when it cannot:
  - the S3 port or the admin port held by another socket (for the S3
    port also one that shares it with SO_REUSEPORT, as a second s3warden
    would): it exits 2 at
    once with the reason, and takes down what it had set up on the way out
    (audit writer, credential managers, workers that were made): under the
    ASan build (CI's second unit run) LeakSanitizer reported all of it as
    leaked before;
  - started: only the main thread takes SIGHUP, SIGINT, SIGTERM and
    SIGUSR1 (base/sigmask.h); every other thread blocks them. SIGTERM then
    ends it with status 0;
  - signals while it starts are held until it has started;
  - a reload refused for its credential sets puts nothing of its config
    in service (its keys, its certificate);
  - a reload from a FIFO is refused at once, and SIGTERM still ends it.

Needs S3W_BIN and S3W_SOURCE_ROOT (set by meson)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import BIN, SEED2, check, run_main  # noqa: E402


def held_port():
    """A listening socket without SO_REUSEPORT: nobody else can bind its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def config(tmp, port, admin_port=None):
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
    return path


ENV = dict(os.environ, S3WARDEN_WORKERS="2")


def serve(tmp, port, admin_port=None):
    r = subprocess.run([BIN, "serve", "--config", config(tmp, port, admin_port)],
                       capture_output=True, text=True, timeout=60, env=ENV,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr


ASYNC = {"SIGHUP": signal.SIGHUP, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM,
         "SIGUSR1": signal.SIGUSR1}


def blocked(pid, tid):
    """The names of ASYNC the thread blocks."""
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        mask = int(next(l for l in f if l.startswith("SigBlk:")).split()[1], 16)
    return {n for n, sig in ASYNC.items() if mask >> (sig - 1) & 1}


def started(tmp):
    """A serve that starts (with an admin listener): which threads block
    which signals, then SIGTERM."""
    free = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        free.append(s)
    port, admin = (s.getsockname()[1] for s in free)
    for s in free:
        s.close()
    p = subprocess.Popen([BIN, "serve", "--config", config(tmp, port, admin)],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, text=True, env=ENV)
    log = []
    try:
        for line in p.stderr:
            log.append(line)
            if " listening on " in line:
                break
        check(any(" listening on " in l for l in log), f"serve did not start: {log}")
        tids = sorted(int(t) for t in os.listdir(f"/proc/{p.pid}/task"))
        check(len(tids) >= 4, f"{len(tids)} threads: the workers and the admin's are missing")
        # a second s3warden on its port: refused, even had it come at the
        # same moment (the lock, not only the probe bind: reviewer 89)
        other = os.path.join(tmp, "second")
        os.makedirs(other, exist_ok=True)
        rc2, err2 = serve(other, port)
        check(rc2 == 2, f"a second s3warden on the port: exit {rc2}, not 2: {err2}")
        check(f"ERROR cannot listen on 127.0.0.1:{port}: Address already in use (another s3warden "
              "listens there)" in err2, f"a second s3warden: no reason given: {err2}")
        check(blocked(p.pid, p.pid) == set(), f"the main thread blocks {blocked(p.pid, p.pid)}")
        for t in tids:
            if t != p.pid:
                check(blocked(p.pid, t) == set(ASYNC), f"thread {t} blocks only {blocked(p.pid, t)}")
        p.send_signal(signal.SIGTERM)
        rest = p.stderr.read()
        rc = p.wait(30)
        check(rc == 0, f"SIGTERM: exit {rc}: {rest}")
        check("INFO stopped" in rest, f"SIGTERM: not stopped: {rest}")
        check("Sanitizer" not in rest, f"SIGTERM: sanitizer report: {rest}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def signals_while_starting(tmp):
    """SIGUSR1 (logrotate), SIGHUP and SIGTERM while serve waits for its
    upstream credentials (an STS that takes connections and never answers:
    up to 5 s): they are held until it has started, then SIGTERM ends it
    with status 0. The default actions killed it before (a probe)."""
    sts = socket.socket()
    sts.bind(("127.0.0.1", 0))
    sts.listen(8)  # never accepted: connects complete, nothing answers
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    path = config(tmp, port)
    with open(path) as f:
        cfg = json.load(f)
    cfg["credentials"]["assume_role"] = {
        "role_arn": "arn:aws:iam::111111111111:role/s3warden", "session_name": "start",
        "sts_endpoint": f"http://127.0.0.1:{sts.getsockname()[1]}"}
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.Popen([BIN, "serve", "--config", path], stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=ENV)
    try:
        time.sleep(0.5)
        for sig in (signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM):
            p.send_signal(sig)
            time.sleep(0.1)
        check(p.poll() is None, f"a signal while starting ended serve: {p.poll()}")
        rc = p.wait(60)
        err = p.stderr.read()
        check(rc == 0, f"signals while starting: exit {rc}, not 0: {err}")
        check("INFO stopped" in err, f"signals while starting: not stopped: {err}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        sts.close()


class CaptureUpstream:
    """A store that answers every request 200 with no body and keeps the
    access key id each one was signed with."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.keys = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                m = re.search(rb"Credential=(\w+)/", head)
                self.keys.append(m.group(1).decode() if m else None)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-amz-request-id: CAP\r\n\r\n")


def refused_reload_changes_nothing(tmp):
    """A reload refused for the credential sets' names (128 a run) puts
    nothing of the refused config in service: probe 34 found the existing
    sets signing with the refused config's keys, and its certificate
    served."""
    up = CaptureUpstream()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    path = config(tmp, port)

    def write(prefix, key_id):
        with open(path) as f:
            cfg = json.load(f)
        cfg["upstream"]["endpoint"] = f"http://127.0.0.1:{up.port}"
        cfg["credentials"] = {"chain": [{"type": "static", "access_key_id": key_id, "secret": "s" * 40}]}
        # with the default's, the 128 names of each kind a run can hold
        cfg["credential_sets"] = [{"name": f"{prefix}{i}", "chain": [{"type": "static",
                                   "access_key_id": f"AKIASET{i:013d}", "secret": "t" * 40}]}
                                  for i in range(127)]
        cfg["upstreams"] = [{"name": f"u{i}", "endpoint": f"http://127.0.0.1:{up.port}",
                             "region": "us-east-1", "credentials": f"{prefix}{i}"} for i in range(127)]
        with open(path, "w") as f:
            json.dump(cfg, f)

    write("c", "AKIAORIGINALKEY00001")
    p = subprocess.Popen([BIN, "serve", "--config", path], stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=ENV)
    log = []
    threading.Thread(target=lambda: log.extend(p.stderr), daemon=True).start()

    def wait_log(text, since=0):
        deadline = time.time() + 30
        while time.time() < deadline and not any(text in l for l in log[since:]):
            time.sleep(0.05)
        check(any(text in l for l in log[since:]), f"no {text!r} in the log: {log[since:]}")

    def get():
        url = subprocess.run([BIN, "presign", "--config", path, "--access-key-id", "AKIAADMIN00000000001",
                              "--endpoint", f"http://127.0.0.1:{port}", "s3://otherbucket/k"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        with urllib.request.urlopen(url, timeout=30) as r:
            check(r.status == 200, f"GET through s3warden: {r.status}")
        return up.keys[-1]

    try:
        wait_log(" listening on ")
        check(get() == "AKIAORIGINALKEY00001", f"before the reload: {up.keys}")
        write("d", "AKIAREFUSEDCONFIG001")
        n = len(log)
        p.send_signal(signal.SIGHUP)
        wait_log("reload refused", n)
        check(any("out of room for upstream state" in l for l in log[n:]), f"no reason given: {log[n:]}")
        # a manager given the refused chain would publish its keys a moment
        # later: asked again over 1.5 s
        for _ in range(6):
            check(get() == "AKIAORIGINALKEY00001",
                  f"a refused reload's credentials were put in service: {up.keys}")
            time.sleep(0.25)
        p.send_signal(signal.SIGTERM)
        check(p.wait(30) == 0, f"SIGTERM: {log[-5:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        up.sock.close()


def reload_from_fifo(tmp):
    """SIGHUP while the config path is a FIFO nobody writes: refused at once
    ("not a regular file"), and SIGTERM still heard (probe 34: the main
    loop hung in fopen, and nothing stopped it)."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    path = config(tmp, port)
    p = subprocess.Popen([BIN, "serve", "--config", path], stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=ENV)
    log = []
    threading.Thread(target=lambda: log.extend(p.stderr), daemon=True).start()
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not any(" listening on " in l for l in log):
            time.sleep(0.05)
        os.remove(path)
        os.mkfifo(path)
        p.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and not any("reload refused" in l for l in log):
            time.sleep(0.05)
        check(any(f"cannot open: not a regular file" in l for l in log), f"FIFO config: {log[-5:]}")
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            rc = "still running"
        check(rc == 0, f"SIGTERM after a FIFO reload: {rc}: {log[-5:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.remove(path)


def main(tmp):
    held, port = held_port()
    rc, err = serve(tmp, port)
    check(rc == 2, f"S3 port in use: exit {rc}, not 2: {err}")
    check(f"ERROR cannot listen on 127.0.0.1:{port}: Address already in use" in err,
          f"S3 port in use: no reason given: {err}")
    check("LeakSanitizer" not in err and "AddressSanitizer" not in err,
          f"S3 port in use: sanitizer report: {err}")
    # a listener with SO_REUSEPORT, as another s3warden's: joining it would
    # split the connections between two processes and two configs (probe 34)
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    rc2, err2 = serve(tmp, other.getsockname()[1])
    check(rc2 == 2, f"S3 port shared by another process: exit {rc2}, not 2: {err2}")
    check(f"ERROR cannot listen on 127.0.0.1:{other.getsockname()[1]}: Address already in use "
          "(another socket uses that port)" in err2, f"S3 port shared: no reason given: {err2}")
    check("LeakSanitizer" not in err2 and "AddressSanitizer" not in err2,
          f"S3 port shared: sanitizer report: {err2}")
    other.close()

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
    started(tmp)
    signals_while_starting(tmp)
    refused_reload_changes_nothing(tmp)
    reload_from_fifo(tmp)


if __name__ == "__main__":
    run_main(main, "s3w-serve-start-")
