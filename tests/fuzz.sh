#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets (tests/fuzz_*.c: the control requests, frame parsing,
# virtio-net headers, checksum completion, GSO segmentation and the real loop with impairments
# and captures) with clang, AddressSanitizer and UndefinedBehaviorSanitizer in their own build
# directory, then run each for a bounded time over its seeds in tests/fuzz_corpus/<target>/.
#
#   tests/fuzz.sh [SECONDS] [TARGET...]    SECONDS per target (default 60); all targets by default
#                                          FUZZ_BUILD=DIR (default build-fuzz at the top)
#
# Prints one line per target (executions, new inputs kept) and "fuzz: N passed, N failed, N
# skipped". Exits 0 when no target found anything, 77 when clang or libFuzzer is missing, 1 with
# the crashing input saved as DIR/<target>-crash-* otherwise. Not part of `meson test`.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_ctl fuzz_frame fuzz_vnet fuzz_csum fuzz_gso fuzz_loop)
build=${FUZZ_BUILD:-$here/build-fuzz}

skip() {
	echo "SKIP: $1" >&2
	echo "fuzz: 0 passed, 0 failed, ${#targets[@]} skipped"
	exit 77
}
command -v clang >/dev/null || skip "clang is not installed"
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null ||
	skip "clang has no libFuzzer (Debian: libclang-rt-14-dev)"
# The build failing is a failure of every target, said with the compiler's words.
build_failed() {
	echo "$1 (clang); its output:" >&2
	grep -E -A12 'error|FAILED|ERROR' "$2" | head -40 >&2
	echo "fuzz: 0 passed, ${#targets[@]} failed, 0 skipped"
	exit 1
}
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$here" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
		-Dc_link_args=-fsanitize=fuzzer-no-link >"$build/setup.log" 2>&1 ||
		build_failed "meson setup of $build failed" "$build/setup.log"
fi
ninja -C "$build" "${targets[@]/#/tests/}" >"$build/ninja.log" 2>&1 ||
	build_failed "building the fuzz targets failed" "$build/ninja.log"

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

# One target: new inputs go to the build directory, the seeds in the tree are only read.
run_one() {
	local t=$1 corpus=$build/$1-corpus log=$build/$1.log extra=() rc
	mkdir -p "$corpus"
	[ "$t" = fuzz_ctl ] && extra=(-dict="$dict" -max_len=4096)
	[ "$t" = fuzz_loop ] && extra=(-max_len=8192)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		"$build/tests/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 "${extra[@]}" \
		-artifact_prefix="$build/$t-" -print_final_stats=1 "$corpus" \
		"$here/tests/fuzz_corpus/$t" >"$log" 2>&1
	rc=$?
	local execs
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
	if [ $rc -eq 0 ]; then
		echo "$t: ok, ${execs:-?} executions in $secs s, $(ls "$corpus" | wc -l) inputs kept"
		return 0
	fi
	echo "$t: FAILED (exit $rc); its log: $log"
	grep -E "ERROR|runtime error|Test unit written|SUMMARY" "$log" | head -5 | sed 's/^/  /'
	return 1
}

pass=0 fail=0
for t in "${targets[@]}"; do
	if run_one "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "fuzz: $pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
