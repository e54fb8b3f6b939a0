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
   --config` and use every top-level section the loader accepts, but for
   those of several upstreams (`upstreams`, `default_upstream`,
   `credential_sets`), which the worked examples of docs/config.md
   (docs/examples/multi-upstream-*.json) use instead: each of those must
   validate without a warning, and together with the README's they use
   every top-level section.
3. Every ```console block in README.md and docs/*.md is run: each
   `$ s3warden ...` line is executed (from the source root, stderr merged
   into stdout) and must print exactly the lines that follow it (compared as
   JSON values when both sides are JSON, e.g. `s3warden simulate` output);
   a trailing `[exit N]` line asserts the exit status (default 0). A ```json
   block after `<!-- docs-test: file PATH -->` (README.md, docs/config.md)
   must equal PATH (inputs shown inline are the ones run).

4. Statements checked against the code (issue 19):
   - every `NAME.md` a file of the repository names (docs, scripts, code
     comments, tests) exists in the repository, relative to that file or to
     the root; the design notes kept outside it (EXTERNAL_NOTES) may be
     named by code comments only, never by the user guide (README.md,
     docs/, config/FORMAT.md, deploy/);
   - every `README.md, "Section"` (or `README "Section"`) names a heading
     of README.md;
   - the unlisted-buckets default is the loader's (config/load.c,
     load_unlisted_buckets): the docs/config.md row says so, and every
     paragraph of the guide that gives an unlisted bucket the caller's own
     account names the `caller_account` setting that does it;
   - the refusal of SigV2 presigned URLs the README quotes is the message
     sigv4/verify.c sends.

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
    out = []
    # the loader's tables, and those of the sections it hands to their own
    # files (config/cors.c: its tables are named *_fields)
    for rel, pat in (("config/load.c", r"\w+"), ("config/cors.c", r"\w+_fields")):
        text = read(rel)
        for m in re.finditer(r"static const char \*const (" + pat + r")\[\]\s*=\s*\{(.*?)\};",
                             text, re.S):
            names = re.findall(r'"([^"]*)"', m.group(2))
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{rel}:{line} {m.group(1)}[]", frozenset(names)))
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
    used = set(cfg)
    multi = sorted(f for f in os.listdir(os.path.join(SRC, "docs", "examples"))
                   if f.startswith("multi-upstream-") and f.endswith(".json"))
    if len(multi) < 3:
        fail(f"docs/examples: {len(multi)} multi-upstream-*.json worked examples, want 3")
    for name in multi:
        rel = os.path.join("docs", "examples", name)
        mtext = read(rel)
        used |= set(json.loads(mtext))
        validate(rel, mtext, warnings_ok=False)
    missing = sorted(root - used)
    if missing:
        fail(f"README.md: the complete example (with docs/examples/multi-upstream-*.json) "
             f"does not use the top-level fields {missing}")
    validate("README.md: the complete example", text, warnings_ok=True)


def validate(what, text, warnings_ok):
    """`s3warden validate --config` on text must say OK (and, unless
    warnings_ok, print nothing else)."""
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
    if r.returncode != 0 or "OK (" not in r.stdout or (r.stderr and not warnings_ok):
        fail(f"{what} does not validate cleanly (exit {r.returncode}):\n{r.stdout}{r.stderr}")


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


# ---- 4. statements checked against the code ------------------------------------
# Design notes the authors keep beside the repository, not in it: code
# comments may cite them for the reasoning behind a rule; the user guide
# may not (a reader of the repository cannot open them).
EXTERNAL_NOTES = {"IAM-SEMANTICS.md", "STYLE.md"}
USER_GUIDE = ("README.md", "docs/", "config/FORMAT.md", "deploy/")
SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", "subprojects"}


def repo_files():
    """Text files of the source tree (build directories, tests/testdata and
    fetched packages left out), as paths relative to SRC."""
    out = []
    for d, dirs, files in os.walk(SRC):
        rel = os.path.relpath(d, SRC)
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")
                         and os.path.join(rel, x) not in ("tests/testdata", "./tests/testdata"))
        for f in sorted(files):
            path = os.path.normpath(os.path.join(rel, f))
            try:
                if os.path.getsize(os.path.join(SRC, path)) > 2_000_000:
                    continue
                out.append((path, read(path)))
            except (UnicodeDecodeError, OSError):
                continue
    return out


def check_references(files):
    """Every NAME.md a file names exists; README sections named exist."""
    headings = {re.sub(r"^#+\s*", "", l).strip() for l in read("README.md").splitlines()
                if re.match(r"^#{1,6} ", l)}
    n = 0
    me = os.path.relpath(os.path.abspath(__file__), SRC)
    for path, text in files:
        if path == me:  # its own docstring describes the patterns
            continue
        flat = re.sub(r"https?://\S+", "", text)
        for m in re.finditer(r"(?<![\w/.-])((?:\.\.?/|[\w-]+/)*[\w-]+\.md)\b", flat):
            n += 1
            ref = m.group(1)
            line = flat.count("\n", 0, m.start()) + 1
            here = os.path.normpath(os.path.join(os.path.dirname(path), ref))
            if os.path.exists(os.path.join(SRC, here)) or os.path.exists(os.path.join(SRC, ref)):
                continue
            if os.path.basename(ref) in EXTERNAL_NOTES and ref == os.path.basename(ref) and \
                    not path.startswith(USER_GUIDE):
                continue
            fail(f"{path}:{line}: names {ref}, which is not in the repository")
        # a section named across a line break of a comment: join the lines
        joined = re.sub(r"\s*\n\s*(?:\*|#|//)?\s*", " ", text)
        for m in re.finditer(r'README(?:\.md)?,? "([^"]+)"', joined):
            if m.group(1) not in headings:
                fail(f"{path}: names README section \"{m.group(1)}\", which README.md does not have")
    if n < 20:
        fail(f"only {n} .md references found - has the search stopped working?")


def paragraphs(text):
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def check_unlisted_default():
    load = read("config/load.c")
    m = re.search(r"static void load_unlisted_buckets\(.*?\{\s*L->cfg->unlisted_buckets = "
                  r"CONFIG_UNLISTED_(\w+);", load, re.S)
    if not m:
        fail("config/load.c: load_unlisted_buckets no longer starts by setting the default")
        return
    default = m.group(1).lower()
    if f'"{default}"' not in load:
        fail(f"config/load.c: the default {default!r} is not a value the loader accepts")
    row = next((l for l in read("docs/config.md").splitlines() if l.startswith("| `unlisted_buckets` |")), "")
    if f'`"{default}"` (default)' not in row:
        fail(f'docs/config.md: the unlisted_buckets row does not give the loader\'s default "{default}"')
    for rel in ["README.md"] + [os.path.join("docs", f) for f in sorted(os.listdir(os.path.join(SRC, "docs")))
                                if f.endswith(".md")]:
        for para in paragraphs(read(rel)):
            flat = " ".join(para.split())
            if re.search(r"not listed|unlisted|not in the config|does not list", flat) and \
                    re.search(r"caller's own|caller's account", flat) and "caller_account" not in flat:
                fail(f"{rel}: gives unlisted buckets the caller's own account without naming the "
                     f"\"caller_account\" setting (default: \"{default}\"): {flat[:160]}...")


def check_sigv2_message():
    verify = read("sigv4/verify.c")
    m = re.search(r'query_has\(query, "AWSAccessKeyId"\).*?SIGV4_ERR_INVALID_REQUEST,\s*((?:"[^"]*"\s*)+)\)',
                  verify, re.S)
    if not m:
        fail("sigv4/verify.c: the SigV2 presigned-URL refusal was not found")
        return
    msg = "".join(re.findall(r'"([^"]*)"', m.group(1)))
    if f"400 InvalidRequest: {msg}" not in read("README.md"):
        fail(f"README.md: the SigV2 refusal it quotes is not sigv4/verify.c's: 400 InvalidRequest: {msg}")


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("S3W_BIN must name the s3warden binary", file=sys.stderr)
        return 2
    loader = check_tables()
    check_complete_example(loader)
    if check_inline_files("README.md") < 1:
        fail("README.md: no <!-- docs-test: file ... --> input found")
    if check_inline_files("docs/config.md") < 3:
        fail("docs/config.md: the three worked examples of several upstreams are not shown "
             "with <!-- docs-test: file ... -->")
    ncmds = run_console_blocks("README.md")
    docs_dir = os.path.join(SRC, "docs")
    for name in sorted(os.listdir(docs_dir)):
        if name.endswith(".md"):
            ncmds += run_console_blocks(os.path.join("docs", name))
    check_references(repo_files())
    check_unlisted_default()
    check_sigv2_message()
    if ncmds < 10:
        fail(f"only {ncmds} documented s3warden commands were found and run")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(loader)} loader field tables, {ncmds} documented commands checked, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
