#!/usr/bin/env bash
# Installs everything s3warden needs to build, test and run its demo on
# Debian 12. Idempotent; safe to run again. Needs root (or sudo).
#
# Prints, as its last line, `S3W_PYTHON=<path>`: a Python 3 with boto3,
# the aws cli and moto (an existing one when it has them; otherwise a venv
# under .venv/ into which they are pip-installed - only when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

pkgs=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libssl-dev zlib1g-dev libuv1-dev node-llhttp libcjson-dev libcmocka-dev
  libcurl4-openssl-dev libisal-dev
  python3 python3-venv python3-awscrt curl ca-certificates
  s3cmd nginx-light haproxy wrk openssl
  radosgw ceph-mon ceph-osd ceph-common uuid-runtime
  restic rclone
  systemd rsyslog rsyslog-gnutls  # rsyslog-gnutls: the TLS syslog receiver of test_audit_delivery.py
  chromium  # the headless browser of tests/integration/test_post_cors.py
)
# Node.js + npm (for the JavaScript SDK client test): Debian's, unless a
# node is already installed some other way.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# nginx-light, haproxy and radosgw may start system services on install; tests
# start their own instances on other ports, so stop the packaged ones if running.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl stop nginx 2>/dev/null || true
  $SUDO systemctl stop haproxy 2>/dev/null || true
fi

# A Python with boto3, the aws cli and moto: use one that has them. Under
# sudo, PATH is sudo's secure_path: a pyenv Python of root's or of the
# user who ran sudo is looked for too.
has_py_deps() { "$1" -c 'import boto3, botocore, moto, awscli' >/dev/null 2>&1; }
sudo_home=
if [ -n "${SUDO_USER:-}" ]; then sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6 || true); fi
py=
for cand in "${S3W_PYTHON:-}" "$(command -v python3 || true)" "${HOME:-/root}/.pyenv/shims/python3" \
            "${sudo_home:+$sudo_home/.pyenv/shims/python3}" /usr/bin/python3; do
  if [ -n "$cand" ] && [ -x "$cand" ] && has_py_deps "$cand"; then py=$cand; break; fi
done
if [ -z "$py" ]; then
  if [ ! -x .venv/bin/python3 ]; then
    /usr/bin/python3 -m venv .venv >&2
  fi
  if ! has_py_deps .venv/bin/python3; then
    echo "install-deps: pip install moto[server] boto3 awscli into .venv" >&2
    .venv/bin/pip install -q 'moto[server]' boto3 awscli >&2
  fi
  py=$PWD/.venv/bin/python3
fi
echo "S3W_PYTHON=$py"
