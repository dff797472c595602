#!/usr/bin/env bash
# fuzz.sh: build the control-request fuzzer (tests/fuzz_ctl.c: libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, coverage over the control and dataplane libraries) with clang in its
# own build directory, then run it for a bounded time over a seed corpus of valid requests.
#
#   tests/fuzz.sh [SECONDS]     default 60; FUZZ_BUILD=DIR (default build-fuzz at the top)
#
# Exits 0 when the fuzzer found nothing, 77 when clang is missing, non-zero with the crashing
# input saved as DIR/crash-* otherwise. Not part of `meson test`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build=${FUZZ_BUILD:-$here/build-fuzz}

command -v clang >/dev/null || { echo "SKIP: clang is not installed" >&2; exit 77; }
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$here" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
		-Dc_link_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$build" tests/fuzz_ctl >/dev/null

# Seeds: one valid request per file, every core command with typical arguments.
corpus=$build/fuzz_ctl-corpus
mkdir -p "$corpus"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s' "$line" >"$corpus/seed-$n"
done <<'SEEDS'
{"cmd":"status"}
{"cmd":"status","id":1}
{"cmd":"bridge/add","args":{"name":"br1"}}
{"cmd":"bridge/del","args":{"name":"br1"}}
{"cmd":"bridge/list"}
{"cmd":"port/add","args":{"bridge":"fz","name":"tyf0","existing":false,"up":true}}
{"cmd":"port/del","args":{"name":"p3"}}
{"cmd":"port/list","args":{"bridge":"fz"}}
{"cmd":"link/set","args":{"port":"p1","up":false}}
{"cmd":"link/set","args":{"port":"p1","up":true}}
{"cmd":"partition/cut","args":{"from":["p0","p1"],"to":"p2","oneway":true}}
{"cmd":"partition/heal","args":{"from":"p0","to":["p2"]}}
{"cmd":"partition/isolate","args":{"port":"p0"}}
{"cmd":"partition/unisolate","args":{"port":"p0"}}
{"cmd":"partition/heal_all","args":{"bridge":"fz"}}
{"cmd":"partition/list"}
{"cmd":"counters/get","args":{"port":["p0","p1"]}}
{"cmd":"counters/get","args":{"bridge":"fz"}}
{"cmd":"counters/reset","args":{"port":"p0"}}
{"cmd":"fdb/show","args":{"bridge":"fz"}}
{"cmd":"fdb/flush","args":{"bridge":"fz","port":"p1"}}
{"cmd":"fdb/set_age","args":{"bridge":"fz","age_ms":1000}}
{"cmd":"log/set","args":{"level":"warn"}}
{"cmd":"impair/set","args":{"target":{"port":"p0","dir":"tx"},"loss":10,"delay_ms":1}}
{"cmd":"impair/clear_all"}
{"cmd":"capture/start","args":{"port":"p0","mode":"loop"}}
{"cmd":"capture/list"}
SEEDS

dict=$build/fuzz_ctl.dict
{
	for w in cmd args id name bridge port type existing up from to oneway level age_ms target dir \
		mode knobs loss delay_ms jitter_ms rate_bps seed status bridge/add bridge/del \
		bridge/list port/add port/del port/list link/set partition/cut partition/heal \
		partition/isolate partition/unisolate partition/heal_all partition/list counters/get \
		counters/reset fdb/show fdb/flush fdb/set_age log/set impair/set impair/get \
		impair/clear impair/list capture/start capture/stop capture/list capture/read \
		fz p0 p1 p2 p3 tap true false null; do
		printf '"%s"\n' "\\\"$w\\\""
	done
} >"$dict"

echo "fuzz.sh: running $build/tests/fuzz_ctl for $secs s over $n seeds"
"$build/tests/fuzz_ctl" -max_total_time="$secs" -timeout=10 -max_len=4096 -dict="$dict" \
	-artifact_prefix="$build/" -print_final_stats=1 "$corpus"
