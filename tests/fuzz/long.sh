#!/usr/bin/env bash
# Long libFuzzer runs, by hand (never in CI): each target in turn for
# -max_total_time seconds with its dictionary (dict/<target>.dict), growing
# a scratch corpus seeded from tests/fuzz/corpus/<target>; then the scratch
# inputs that add coverage are merged (-merge=1) into
# tests/fuzz/corpus/<target>, so the normal build's replay tests run what
# the long runs found. Review and commit the
# corpus changes afterwards.
#
#   tests/fuzz/long.sh [target...]          all targets when none is named
#
# Environment:
#   S3W_FUZZ_LONG_SECONDS  seconds per target (default 1800)
#   S3W_FUZZ_BUILD         libFuzzer build dir (default build-fuzz; made with
#                          clang, ASan+UBSan, -Dfuzz=true if it is missing)
#   S3W_FUZZ_WORK          scratch dir (default: a new mktemp -d, kept: it
#                          holds the logs and any crash-* artifacts)
#   S3W_FUZZ_NO_MERGE=1    leave tests/fuzz/corpus alone
# Runs under nice -n 19 with one job. Per target it prints the seconds run,
# executions, coverage (cov/ft when the seeds were loaded, and at the end) and
# the crash/leak/timeout artifacts found; any artifact makes the exit status
# non-zero. A crash is reproduced with `build-fuzz/tests/fuzz/fuzz_<t> FILE`;
# minimize it with -minimize_crash=1 and add it to the corpus so the replay
# test keeps guarding it.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${S3W_FUZZ_LONG_SECONDS:-1800}
build=${S3W_FUZZ_BUILD:-build-fuzz}
work=${S3W_FUZZ_WORK:-$(mktemp -d /tmp/s3w-fuzz-long.XXXXXX)}
mkdir -p "$work"

if [ ! -d "$build" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null || exit 1
fi
all=$(ninja -C "$build" -t targets all | sed -n 's|^tests/fuzz/fuzz_\([a-z0-9_]*\): .*|\1|p' | sort)
nice -n 19 ninja -C "$build" -j1 $(printf 'tests/fuzz/fuzz_%s ' $all) >/dev/null || exit 1
targets=${*:-$all}

# "#123 pulse  cov: 10 ft: 20 corp: ..." -> "123 10 20"
stat_of() { sed -n 's/^#\([0-9]*\)[[:space:]].*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2 \3/p' "$1"; }

status=0
printf '%-12s %7s %10s %15s %15s %s\n' target seconds execs 'cov start>end' 'ft start>end' findings
for t in $targets; do
    exe=$build/tests/fuzz/fuzz_$t
    seeds=$root/tests/fuzz/corpus/$t
    dict=$root/tests/fuzz/dict/$t.dict
    [ -x "$exe" ] && [ -d "$seeds" ] || { echo "$t: no target or corpus"; status=1; continue; }
    scratch=$work/corpus-$t
    mkdir -p "$scratch"
    log=$work/$t.log
    t0=$(date +%s)
    # -timeout: an input over 10 s is a hang; -max_len: room for the
    # largest seeds (chunked bodies of 64 KiB) without making every input big
    nice -n 19 "$exe" -max_total_time="$seconds" -dict="$dict" -timeout=10 \
        -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 \
        -artifact_prefix="$work/$t-" "$scratch" "$seeds" >"$log" 2>&1
    rc=$?
    t1=$(date +%s)
    # start: once the seed corpus is loaded (INITED), before any fuzzing
    first=$(grep -m1 -P '\tINITED ' "$log" | stat_of /dev/stdin)
    last=$(stat_of "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    findings=$(ls "$work/$t-"* 2>/dev/null | wc -l)
    if [ "$findings" -gt 0 ] || [ "$rc" -ne 0 ]; then
        status=1
    fi
    set -- $first; c0=${2:-?}; f0=${3:-?}
    set -- $last; c1=${2:-?}; f1=${3:-?}
    printf '%-12s %7s %10s %15s %15s %s\n' "$t" $((t1 - t0)) "${execs:-?}" "$c0>$c1" "$f0>$f1" \
        "$findings artifact(s)$([ "$rc" -ne 0 ] && echo ", exit $rc")"
    if [ "${S3W_FUZZ_NO_MERGE:-0}" != 1 ]; then
        # -merge=1 into the committed corpus: its inputs stay (the named
        # seeds), and of the scratch inputs only those that add coverage
        # are copied in (named by their SHA-1)
        n0=$(ls "$seeds" | wc -l)
        if ! nice -n 19 "$exe" -merge=1 -rss_limit_mb=2048 -max_len=70000 -timeout=10 \
               "$seeds" "$scratch" >"$work/$t.merge.log" 2>&1; then
            echo "$t: merge failed (see $work/$t.merge.log)"
            status=1
        fi
        echo "$t: corpus $n0 -> $(ls "$seeds" | wc -l) inputs"
    fi
done
echo "logs and artifacts: $work"
exit $status
