#!/usr/bin/env python3
"""s3warden in front of Ceph RGW over HTTPS (issue 12, "Tests"): the
upstream client's TLS - certificate chain checked against upstream.ca_file,
host name checked against the certificate, SNI - with RGW's beast serving a
certificate from a throwaway CA made here with openssl.

test_rgw.py's checks run again over TLS (its ThroughRgw class, with its
module's UP and PX pointed at the TLS pair), then what TLS adds: the SDKs'
default trailer uploads from a client that itself speaks TLS to s3warden,
and the refusals - an unknown CA or a name the certificate does not carry
is a 502 BadGateway whose log line says why, and nothing reaches RGW.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3w_it import *  # noqa: E402,F401,F403
import test_rgw as plain  # noqa: E402

BUCKET = plain.BUCKET
ALICE = plain.ALICE
PENDING = {}
UP = PX = PXS = None
CA = CERT = KEY = None


def make_ca(d):
    """A CA and a server certificate it signed for DNS:localhost and
    IP:127.0.0.1, P-256, valid two days. Returns (ca, cert, key) paths."""
    def run(*args):
        p = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {p.stderr}")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=s3warden integration test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    return tuple(os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key"))


def proxy(name, endpoint=None, listener_tls=False, **upstream):
    """An s3warden for test_rgw.py's world in front of UP; endpoint and
    upstream fields (ca_file, tls_verify) as given."""
    def cfg(port, audit):
        c = render_config(plain.W, UP, port, audit, decode_aws_chunked=True,
                          tls=(CERT, KEY) if listener_tls else None)
        if endpoint:
            c["upstream"]["endpoint"] = endpoint
        c["upstream"].update(upstream)
        return c
    return Proxy(cfg, name).start()


def setUpModule():
    global UP, PX, PXS, CA, CERT, KEY
    CA, CERT, KEY = make_ca(tmpdir("tls-ca"))
    UP = Rgw(buckets=[BUCKET], tls=(CERT, KEY, CA)).start()
    assert UP.endpoint.startswith("https://127.0.0.1:"), UP.endpoint
    PX = proxy("rgw-tls", ca_file=CA)
    # clients that speak TLS to s3warden too: the SDKs then send their
    # default STREAMING-UNSIGNED-PAYLOAD-TRAILER uploads (aws-chunked)
    PXS = proxy("rgw-tls2", listener_tls=True, ca_file=CA)
    plain.UP, plain.PX = UP, PX


def tearDownModule():
    cleanup_all()


class ThroughRgwTls(plain.ThroughRgw):
    """All of test_rgw.py's checks, s3warden to RGW over TLS."""


class TlsClients(Case):
    def client(self):
        return s3_client(PXS.endpoint, ALICE.id, ALICE.secret, verify=CA)

    def test_boto3_put_get_list_delete(self):
        s3 = PX.client(ALICE)
        data = os.urandom(300_000)
        s3.put_object(Bucket=BUCKET, Key="tls/a.bin", Body=data)
        self.assertStored(UP, BUCKET, "tls/a.bin", data)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="tls/a.bin")["Body"].read(), data)
        r = s3.get_object(Bucket=BUCKET, Key="tls/a.bin", Range="bytes=1000-1999")
        self.assertEqual(r["Body"].read(), data[1000:2000])
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="tls/")["Contents"]]
        self.assertIn("tls/a.bin", keys)
        s3.delete_object(Bucket=BUCKET, Key="tls/a.bin")
        self.assertIsNone(UP.get(BUCKET, "tls/a.bin"))

    def test_boto3_default_trailer_upload(self):
        # boto3's default over https: aws-chunked with a CRC32 trailer,
        # which s3warden verifies and decodes for RGW 16
        s3 = self.client()
        sent = {}
        s3.meta.events.register("before-send.s3.PutObject",
                                lambda request, **_: sent.update(
                                    (k.lower(), v) for k, v in request.headers.items()))
        data = os.urandom(2 * 1024 * 1024 + 5)
        s3.put_object(Bucket=BUCKET, Key="tls/trailer.bin", Body=data)
        self.assertEqual((sent.get("x-amz-content-sha256"), sent.get("content-encoding")),
                         (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER", b"aws-chunked"), sent)
        self.assertStored(UP, BUCKET, "tls/trailer.bin", data)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="tls/trailer.bin")["Body"].read(), data)

    def test_boto3_multipart_three_parts(self):
        s3 = self.client()
        parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), os.urandom(123_457)]
        u = s3.create_multipart_upload(Bucket=BUCKET, Key="tls/mp.bin")["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            r = s3.upload_part(Bucket=BUCKET, Key="tls/mp.bin", UploadId=u, PartNumber=i, Body=p)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket=BUCKET, Key="tls/mp.bin", UploadId=u,
                                     MultipartUpload={"Parts": done})
        self.assertStored(UP, BUCKET, "tls/mp.bin", b"".join(parts))
        self.assertEqual(UP.uploads(BUCKET), [])

    def test_cli_cp_both_ways(self):
        d = tmpdir("tls-cli")
        data = os.urandom(9 * 1024 * 1024 + 3)  # over the cli's 8 MiB: two parts
        src, back = os.path.join(d, "src"), os.path.join(d, "back")
        with open(src, "wb") as f:
            f.write(data)
        self.assertCliOk(aws(PXS.endpoint, ALICE, "s3", "cp", src, f"s3://{BUCKET}/tls/cli.bin",
                             "--ca-bundle", CA))
        self.assertStored(UP, BUCKET, "tls/cli.bin", data)
        self.assertCliOk(aws(PXS.endpoint, ALICE, "s3", "cp", f"s3://{BUCKET}/tls/cli.bin", back,
                             "--ca-bundle", CA))
        with open(back, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertCliOk(aws(PXS.endpoint, ALICE, "s3", "rm", f"s3://{BUCKET}/tls/cli.bin",
                             "--ca-bundle", CA))
        self.assertIsNone(UP.get(BUCKET, "tls/cli.bin"))


class Refused(Case):
    """The upstream's certificate not trusted: 502 BadGateway, the reason
    in s3warden's log, nothing stored upstream."""

    def refused(self, px, authority, reason):
        before = UP.snapshot(BUCKET)
        data = os.urandom(1000)
        u = f"{px.endpoint}/{BUCKET}/refused/x"
        r = raw(px.endpoint, "PUT", f"/{BUCKET}/refused/x",
                sign("PUT", u, ALICE, {"Content-Length": str(len(data))}, body=data), data)
        self.assertEqual((r.status, r.code), (502, "BadGateway"), r)
        rid = r.headers.get("x-amz-request-id")
        self.assertTrue(rid, r.headers)
        line = (f"request_id={rid} upstream default ({authority}): "
                f"TLS handshake with the upstream failed: certificate verification: {reason}")
        self.assertTrue(wait_until(lambda: line in px.log_text(), 5), px.log_tail())
        self.assertClientError(lambda: px.client(ALICE).get_object(Bucket=BUCKET, Key="refused/x"),
                               "BadGateway", status=502)
        self.assertUnchanged(UP, BUCKET, before)

    def test_unknown_ca(self):
        # no ca_file: the system's CAs, which do not know the test CA
        px = proxy("rgw-tls-noca")
        self.refused(px, f"127.0.0.1:{UP.tls_port}", "unable to get local issuer certificate")

    def test_name_not_in_certificate(self):
        # the right CA, but a name the certificate does not carry (a
        # .localhost name is the loopback address, RFC 6761, so s3warden
        # reaches the same RGW under it)
        px = proxy("rgw-tls-name", endpoint=f"https://wrong-name.localhost:{UP.tls_port}", ca_file=CA)
        self.refused(px, f"wrong-name.localhost:{UP.tls_port}", "hostname mismatch")

    def test_verify_off_accepts(self):
        # tls_verify false takes any certificate from anyone on the path:
        # for a lab's self-signed upstream only, never in production
        px = proxy("rgw-tls-noverify", endpoint=f"https://wrong-name.localhost:{UP.tls_port}",
                   tls_verify=False)
        s3 = px.client(ALICE)
        data = os.urandom(70_000)
        s3.put_object(Bucket=BUCKET, Key="tls/noverify", Body=data)
        self.assertStored(UP, BUCKET, "tls/noverify", data)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="tls/noverify")["Body"].read(), data)


if __name__ == "__main__":
    main(PENDING)
