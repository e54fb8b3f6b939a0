"""s3w_rsyslog - Debian's rsyslogd as the syslog sink's receiver, for the
audit integration tests (test_audit_sinks.py, test_audit_delivery.py,
test_audit_count.py).

    rs = Rsyslog("rsyslog-1").start()           # plain TCP on 127.0.0.1:rs.port
    rs = Rsyslog("rsyslog-2", (ca, cert, key))  # RFC 5425 TLS (rsyslog-gnutls)
    rs.ids()                                    # requestID -> count received

Each instance runs `rsyslogd -n` with its own config in its own directory
(s3w_it.tmpdir) and is stopped at cleanup (s3w_it.on_cleanup).
"""

import json
import os
import shutil
import signal
import socket
import subprocess

from s3w_it import complete_lines, free_port, on_cleanup, tmpdir, wait_until

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


class Rsyslog:
    """rsyslogd -n with its own config: one input on 127.0.0.1:port (plain
    TCP, or TLS through the gtls driver with tls=(ca, cert, key)), every
    message's MSG part written as one line to received.log."""

    def __init__(self, name, tls=None):
        self.dir = tmpdir(name)
        self.port = free_port()
        self.out = os.path.join(self.dir, "received.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.proc = None
        if tls:
            ca, cert, key = tls
            head = (f'global(workDirectory="{self.dir}" defaultNetstreamDriver="gtls"\n'
                    f'       defaultNetstreamDriverCAFile="{ca}"\n'
                    f'       defaultNetstreamDriverCertFile="{cert}"\n'
                    f'       defaultNetstreamDriverKeyFile="{key}")\n'
                    # RFC 5425: TLS on the TCP input; anon: no client certificate asked
                    f'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"\n'
                    f'       streamDriver.authMode="anon")\n')
        else:
            head = f'global(workDirectory="{self.dir}")\nmodule(load="imtcp")\n'
        with open(self.conf, "w") as f:
            f.write(head + f'''input(type="imtcp" port="{self.port}" address="127.0.0.1")
template(name="msgonly" type="string" string="%msg%\\n")
action(type="omfile" file="{self.out}" template="msgonly")
''')

    def start(self):
        with open(os.path.join(self.dir, "rsyslogd.out"), "ab") as log:
            self.proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", self.conf, "-i", os.path.join(self.dir, "rsyslogd.pid")],
                stdout=log, stderr=subprocess.STDOUT)
        on_cleanup(self.stop)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False
        if not wait_until(listening, 10):
            raise AssertionError("rsyslogd did not listen on %d: %s" % (self.port, self.output()))
        return self

    def output(self):
        try:
            with open(os.path.join(self.dir, "rsyslogd.out"), errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ids(self, field="requestID"):
        """field -> count, of the JSON records received."""
        out = {}
        for line in complete_lines(self.out):  # rsyslogd may be mid-line
            v = json.loads(line)[field]
            out[v] = out.get(v, 0) + 1
        return out
