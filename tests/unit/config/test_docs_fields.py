#!/usr/bin/env python3
"""The user guide cannot drift from the code (issue 6, "config reference ...
checked against the loader so it cannot drift").

1. Field tables: every field table of the loader (config/load.c, the
   `static const char *const NAME[] = {"field", ..., NULL}` lists that
   check_fields() enforces) must equal, as a set, exactly one table of
   docs/config.md (first column, in backticks), and every table of
   docs/config.md whose first header cell is "field" or "type" must equal
   one loader table. A field added to or removed from either side fails here.
2. The README's complete example config (the ```json block after the marker
   `<!-- docs-test: complete-config -->`) must pass `s3warden validate
   --config` and use every top-level section the loader accepts.
3. Every ```console block in README.md and docs/*.md is run: each
   `$ s3warden ...` line is executed (from the source root, stderr merged
   into stdout) and must print exactly the lines that follow it (compared as
   JSON values when both sides are JSON, e.g. `s3warden simulate` output);
   a trailing `[exit N]` line asserts the exit status (default 0). A ```json
   block after `<!-- docs-test: file PATH -->` must equal PATH (inputs shown
   inline are the ones run).

Needs S3W_BIN (the s3warden binary) and S3W_SOURCE_ROOT (set by meson).
"""
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile

SRC = os.environ.get("S3W_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("S3W_BIN")

failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


# ---- 1. field tables -------------------------------------------------------
def loader_tables():
    text = read("config/load.c")
    out = []
    for m in re.finditer(r"static const char \*const (\w+)\[\]\s*=\s*\{(.*?)\};", text, re.S):
        names = re.findall(r'"([^"]*)"', m.group(2))
        line = text.count("\n", 0, m.start()) + 1
        out.append((f"config/load.c:{line} {m.group(1)}[]", frozenset(names)))
    return out


def doc_tables(rel):
    """Tables of a markdown file: (where, header first cell, set of first-column names)."""
    lines = read(rel).splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1]):
            head = lines[i].strip("|").split("|")[0].strip()
            start = i + 1
            names = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cell = lines[i].strip("|").split("|")[0].strip()
                m = re.fullmatch(r"`([^`]+)`", cell)
                if m:
                    names.append(m.group(1))
                elif head in ("field", "type"):
                    fail(f"{rel}:{i + 1}: first cell is not a `field`: {cell!r}")
                i += 1
            if len(names) != len(set(names)):
                fail(f"{rel}:{start}: a field is listed twice: {sorted(names)}")
            out.append((f"{rel}:{start}", head, frozenset(names)))
        else:
            i += 1
    return out


def check_tables():
    loader = loader_tables()
    docs = [t for t in doc_tables("docs/config.md") if t[1] in ("field", "type")]
    if len(loader) < 20:
        fail(f"config/load.c: only {len(loader)} field tables found - has the loader's style changed?")
    for where, names in loader:
        if not any(d[2] == names for d in docs):
            best = max(docs, key=lambda d: len(d[2] & names), default=None)
            hint = ""
            if best:
                hint = (f"; nearest docs table {best[0]}: missing from the docs {sorted(names - best[2])},"
                        f" not in the loader {sorted(best[2] - names)}")
            fail(f"{where} {sorted(names)} has no matching table in docs/config.md{hint}")
    for where, _, names in docs:
        if not any(l[1] == names for l in loader):
            best = max(loader, key=lambda l: len(l[1] & names))
            fail(f"{where}: documented fields {sorted(names)} match no loader table; nearest "
                 f"{best[0]}: undocumented {sorted(best[1] - names)}, unknown to the loader "
                 f"{sorted(names - best[1])}")
    return loader


# ---- 2. the complete example ---------------------------------------------------
def check_complete_example(loader):
    readme = read("README.md")
    m = re.search(r"<!-- docs-test: complete-config -->\s*```json\n(.*?)\n```", readme, re.S)
    if not m:
        fail("README.md: no ```json block after <!-- docs-test: complete-config -->")
        return
    text = m.group(1)
    try:
        cfg = json.loads(text)
    except ValueError as e:
        fail(f"README.md: the complete example is not JSON: {e}")
        return
    root = next((n for w, n in loader if "listeners" in n and "sts" in n), frozenset())
    missing = sorted(root - set(cfg))
    if missing:
        fail(f"README.md: the complete example does not use the top-level fields {missing}")
    env = dict(os.environ)
    # secrets the example names by environment variable: fresh random values
    for var in re.findall(r'"secret_env":\s*"([^"]+)"', text):
        env[var] = secrets.token_urlsafe(30)
    for var in re.findall(r'"key_env":\s*"([^"]+)"', text):
        env[var] = secrets.token_hex(32)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "complete.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([BIN, "validate", "--config", path], env=env, capture_output=True,
                           text=True, timeout=60)
    if r.returncode != 0 or "OK (" not in r.stdout:
        fail(f"README.md: the complete example does not validate (exit {r.returncode}):\n"
             f"{r.stdout}{r.stderr}")


# ---- 2b. inputs shown inline ---------------------------------------------------
def check_inline_files(rel):
    """A ```json block after `<!-- docs-test: file PATH -->` must be PATH's
    content (as JSON), so the input shown is the input the commands run."""
    text = read(rel)
    n = 0
    for m in re.finditer(r"<!-- docs-test: file (\S+) -->\s*```json\n(.*?)\n```", text, re.S):
        n += 1
        shown, path = m.group(2), m.group(1)
        try:
            same = json.loads(shown) == json.loads(read(path))
        except (ValueError, OSError) as e:
            fail(f"{rel}: inline copy of {path}: {e}")
            continue
        if not same:
            fail(f"{rel}: the ```json block shown for {path} differs from the file")
    return n


# ---- 3. console blocks -----------------------------------------------------------
def as_json(s):
    try:
        return json.loads(s)
    except ValueError:
        return None


def run_console_blocks(rel):
    text = read(rel)
    n = 0
    for m in re.finditer(r"```console\n(.*?)```", text, re.S):
        line0 = text.count("\n", 0, m.start()) + 2
        cmds = []
        for ln in m.group(1).splitlines():
            if ln.startswith("$ "):
                cmds.append([ln[2:], []])
            elif cmds:
                cmds[-1][1].append(ln)
            else:
                fail(f"{rel}:{line0}: console block does not start with a `$ ` command")
        for cmd, expected in cmds:
            n += 1
            argv = shlex.split(cmd)
            if argv[0] != "s3warden":
                fail(f"{rel}:{line0}: only s3warden commands belong in console blocks: {cmd}")
                continue
            want_rc = 0
            while expected and expected[-1].strip() == "":
                expected.pop()
            if expected and re.fullmatch(r"\[exit \d+\]", expected[-1].strip()):
                want_rc = int(expected.pop().strip()[6:-1])
            r = subprocess.run([BIN] + argv[1:], cwd=SRC, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60)
            got = r.stdout.rstrip("\n")
            want = "\n".join(expected).rstrip("\n")
            gj, wj = as_json(got), as_json(want)
            same = (gj == wj) if (gj is not None and wj is not None) else \
                [l.rstrip() for l in got.splitlines()] == [l.rstrip() for l in want.splitlines()]
            if not same:
                fail(f"{rel}:{line0}: `{cmd}` printed\n{got}\n--- but the docs show\n{want}")
            if r.returncode != want_rc:
                fail(f"{rel}:{line0}: `{cmd}` exited {r.returncode}, the docs say {want_rc}")
    return n


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("S3W_BIN must name the s3warden binary", file=sys.stderr)
        return 2
    loader = check_tables()
    check_complete_example(loader)
    if check_inline_files("README.md") < 1:
        fail("README.md: no <!-- docs-test: file ... --> input found")
    ncmds = run_console_blocks("README.md")
    docs_dir = os.path.join(SRC, "docs")
    for name in sorted(os.listdir(docs_dir)):
        if name.endswith(".md"):
            ncmds += run_console_blocks(os.path.join("docs", name))
    if ncmds < 10:
        fail(f"only {ncmds} documented s3warden commands were found and run")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(loader)} loader field tables, {ncmds} documented commands checked, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
