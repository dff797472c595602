#!/usr/bin/env bash
# tapyard quick start: install what is missing, build, then run the demo lab or the test suite.
#
#   ./quickstart.sh demo    three namespace guests on a tapyard bridge: ping, partition, counters
#   ./quickstart.sh test    the whole test suite (unit, loop, end-to-end), then the unit suite under
#                           ASan+UBSan (leak detection on), the loop, server and capture tests under
#                           TSan, and each fuzzer for 8 s; ends with "tests: N passed, N failed, N skipped"
#   ./quickstart.sh test --quick   the plain suite only (what a developer runs between edits)
#   ./quickstart.sh build   install and build only
#   ./quickstart.sh deps    install the Debian packages only
#
# Needs Debian 12 (or newer) and root for the demo and the end-to-end tests.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${TAPYARD_BUILD:-$here/build}

packages=(gcc libc6-dev pkg-config meson ninja-build liburing-dev libbpf-dev bpftool clang llvm
	libnl-3-dev libnl-route-3-dev libjansson-dev liblua5.4-dev lua5.4 libcmocka-dev
	iproute2 iputils-ping iperf3 tcpdump python3 libclang-rt-14-dev
	xz-utils)
# Installed without their recommends (QEMU's would pull in a GUI, OVMF and the block drivers).
lean_packages=(qemu-system-x86)

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

# The packages of the arguments that are not installed, one a line.
missing_of() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			echo "$p"
	done
}

deps() {
	local missing lean
	mapfile -t missing < <(missing_of "${packages[@]}")
	mapfile -t lean < <(missing_of "${lean_packages[@]}")
	[ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing packages: ${missing[*]} ${lean[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "quickstart: installing ${missing[*]} ${lean[*]}"
	apt-get update -q >/dev/null
	[ ${#missing[@]} -eq 0 ] ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	[ ${#lean[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${lean[@]}" >/dev/null
}

build() {
	deps
	local log
	log=$(mktemp)
	if [ ! -f "$build/build.ninja" ] && ! meson setup "$build" "$here" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "quickstart: meson setup failed" >&2
		exit 1
	fi
	if ! ninja -C "$build" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "quickstart: build failed" >&2
		exit 1
	fi
	rm -f "$log"
}

# meson's closing table, turned into the one line any CI reads: "N passed, N failed, N skipped".
summary() {
	awk '/^Ok:/ {ok=$2} /^Fail:/ {f=$2} /^Timeout:/ {t=$2} /^Unexpected Pass:/ {u=$3}
	     /^Skipped:/ {s=$2}
	     END {printf "tests: %d passed, %d failed, %d skipped\n", ok, f+t+u, s}' "$1"
}

# One part of the test run: "NAME: N passed, N failed, N skipped (S s)" into $parts, output shown.
part() {
	local name=$1 t0=$SECONDS log rc=0 line
	shift
	log=$(mktemp)
	"$@" 2>&1 | tee "$log" || rc=$?
	if grep -q '^fuzz: ' "$log"; then
		line=$(grep '^fuzz: ' "$log" | tail -n1)
	else
		line=$(summary "$log")
	fi
	[ $rc -eq 77 ] && rc=0 # a part the machine cannot run counts its skips
	[ $rc -ne 0 ] && [[ "$line" == *" 0 failed"* ]] && line=${line/ 0 failed/ 1 failed}
	parts+=("$name: ${line#*: } ($((SECONDS - t0)) s)")
	rm -f "$log"
	return $rc
}

# A build directory of the tree with the sanitizers san (meson's b_sanitize); then ninja TARGETS.
sanitizer_build() {
	local dir=$1 san=$2
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$here" -Db_sanitize="$san" -Db_lundef=false >/dev/null || return 1
	fi
	ninja -C "$dir" "$@" >/dev/null
}

asan_tests() {
	sanitizer_build "$build-asan" address,undefined || return 1
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$build-asan" --print-errorlogs --suite unit
}

tsan_tests() {
	local t=(loop loop_impair server capture ctl)
	sanitizer_build "$build-tsan" thread "${t[@]/#/tests/test_}" || return 1
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		meson test -C "$build-tsan" --no-rebuild --print-errorlogs "${t[@]}"
}

run_tests() {
	local quick=0 rc=0 p f s
	parts=()
	[ "${1:-}" = --quick ] && quick=1 && shift
	build
	part plain meson test -C "$build" --print-errorlogs "$@" || rc=1
	if [ $quick -eq 0 ] && [ $# -eq 0 ]; then
		part asan asan_tests || rc=1
		part tsan tsan_tests || rc=1
		part fuzz env FUZZ_BUILD="$build-fuzz" bash "$here/tests/fuzz.sh" 8 || rc=1
	fi
	printf '%s\n' "${parts[@]}"
	printf '%s\n' "${parts[@]}" | awk '{gsub(/,/, ""); p += $2; f += $4; s += $6}
		END {printf "tests: %d passed, %d failed, %d skipped\n", p, f, s}'
	return $rc
}

case "${1:-}" in
demo)
	build
	exec bash "$here/examples/demo.sh" "$build/tapyard"
	;;
test)
	shift
	run_tests "$@"
	;;
build) build ;;
deps) deps ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
