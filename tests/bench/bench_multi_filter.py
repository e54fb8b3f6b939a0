#!/usr/bin/env python3
"""A BENCH_CONFIG_FILTER for bench_proxy.sh (issue 14): the bench config
with two named upstreams instead of one.

  bench_proxy.sh runs: python3 bench_multi_filter.py CONFIG WORKDIR ORIGIN_PORT

- "primary", the default upstream, points at a 127.0.0.1 port nothing
  listens on, with credentials of its own: a request routed to the default
  instead of the bucket's upstream fails (bench_proxy.sh's first request of
  each run checks for a 2xx and stops otherwise), so the figures are those
  of routed requests;
- "store" is the bench config's upstream (the origin nginx) with its
  credentials, and the bench bucket names it.
Everything else in the config (limits, audit, identities) stays as it is.
"""
import json
import os
import socket
import sys


def dead_port():
    """A port of 127.0.0.1 that was free a moment ago and has no listener."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench_multi_filter.py CONFIG WORKDIR ORIGIN_PORT")
    path, _workdir, origin = sys.argv[1:4]
    with open(path) as f:
        cfg = json.load(f)
    up = cfg.pop("upstream")
    creds = cfg.pop("credentials")
    if up["endpoint"] != f"http://127.0.0.1:{origin}":
        sys.exit(f"bench_multi_filter: the bench upstream is {up['endpoint']}, not the origin")
    primary = dict(up, name="primary", endpoint=f"http://127.0.0.1:{dead_port()}",
                   credentials={"chain": [{"type": "static", "access_key_id": "AKIABENCHPRIMARY0001",
                                           "secret": "benchprimarysecretbenchprimarysecret0001"}]})
    store = dict(up, name="store", credentials=creds)
    cfg["upstreams"] = [primary, store]
    cfg["default_upstream"] = "primary"
    names = [b["name"] for b in cfg["buckets"]]
    if names != ["bkt"]:
        sys.exit(f"bench_multi_filter: expected the one bucket bkt, found {names}")
    cfg["buckets"][0]["upstream"] = "store"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
    os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
