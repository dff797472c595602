#!/usr/bin/env bash
# tapyard quick start: install what is missing, build, then run the demo lab or the test suite.
#
#   ./quickstart.sh demo    three namespace guests on a tapyard bridge: ping, partition, counters
#   ./quickstart.sh test    the whole test suite (unit, loop, end-to-end); prints "N passed, N failed, N skipped"
#   ./quickstart.sh build   install and build only
#   ./quickstart.sh deps    install the Debian packages only
#
# Needs Debian 12 (or newer) and root for the demo and the end-to-end tests.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${TAPYARD_BUILD:-$here/build}

packages=(gcc libc6-dev pkg-config meson ninja-build liburing-dev libbpf-dev bpftool clang llvm
	libnl-3-dev libnl-route-3-dev libjansson-dev liblua5.4-dev lua5.4 libcmocka-dev
	iproute2 iputils-ping iperf3 tcpdump python3 xz-utils)
# QEMU guests (tapyard image build fetches the kernel and busybox itself): without
# recommends, which would bring a desktop's worth of display libraries.
packages_norec=(qemu-system-x86)

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

deps() {
	local missing=() norec=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	for p in "${packages_norec[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			norec+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && [ ${#norec[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing packages: ${missing[*]} ${norec[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "quickstart: installing ${missing[*]} ${norec[*]}"
	apt-get update -q >/dev/null
	[ ${#missing[@]} -eq 0 ] ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	[ ${#norec[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${norec[@]}" >/dev/null
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

run_tests() {
	build
	local log rc=0
	log=$(mktemp)
	meson test -C "$build" --print-errorlogs "$@" 2>&1 | tee "$log" || rc=$?
	summary "$log"
	rm -f "$log"
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
