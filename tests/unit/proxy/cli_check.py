"""What the command-line tests of the unit suite share (test_explain_cli,
test_replay_cli, test_serve_start): the binary and source tree meson names,
seed 002's example config, and checks that collect failures rather than
stop at the first. Needs S3W_BIN and S3W_SOURCE_ROOT (set by meson)."""
import os
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


def run_main(main, prefix):
    """main(scratch directory); exits 1 if any check failed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        main(scratch)
    print(f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)
