#!/bin/bash
# bench/netdev.sh - TCP between two network namespaces through tapyard's netdev ports (on the host
# ends of veth pairs), the kernel bridge (the same veths) and tapyard's own TAP ports (the TAPs
# moved into the namespaces), in one run, as ratios to the kernel bridge.
#
# Usage: bench/netdev.sh [--duration S] [--rounds N] [--streams N] [--tapyard PATH]
#   --duration S    seconds per measurement (default 4)
#   --rounds N      measure every path N times, interleaved, and print medians (default 3)
#   --streams N     parallel TCP streams (iperf3 -P, default 1)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Owns every name starting with "tyndb": namespaces tyndbA/tyndbB, bridge tyndbbr, veths
# tyndba/tyndbb, TAPs tyndbt0/tyndbt1. Everything is removed on every exit path. Figures are
# printed, never asserted.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAPYARD=${TAPYARD:-$BENCH_DIR/../build/tapyard}
DURATION=4
ROUNDS=3
STREAMS=1
NS_A=tyndbA
NS_B=tyndbB
WORK=
DPID=
declare -A GBPS
. "$BENCH_DIR/lib.sh"

usage() { sed -n '6,10s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

# Undo one path: stop the daemon, delete the namespaces and links.
teardown() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
		DPID=
	fi
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	for l in tyndba tyndbb tyndbbr tyndbt0 tyndbt1; do ip link del "$l" 2>/dev/null; done
	return 0
}

on_exit() {
	teardown
	[ -n "$WORK" ] && rm -rf "$WORK"
}

# ns_eth NS ADDR: address and bring up NS's eth0.
ns_eth() {
	ip -n "$1" addr add "$2/24" dev eth0 && ip -n "$1" link set eth0 up && ip -n "$1" link set lo up
}

# Two namespaces, each with eth0 on a veth whose host end is tyndba / tyndbb.
veths() {
	ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
	ip link add tyndba type veth peer name eth0 netns "$NS_A" || return 1
	ip link add tyndbb type veth peer name eth0 netns "$NS_B" || return 1
	ns_eth "$NS_A" 10.76.0.1 && ns_eth "$NS_B" 10.76.0.2
}

daemon() { bench_daemon "$WORK/b.sock" "$WORK/daemon.log" "$@"; }

setup_bridge() {
	veths || return 1
	ip link add tyndbbr type bridge && ip link set tyndbbr up || return 1
	ip link set tyndba master tyndbbr up && ip link set tyndbb master tyndbbr up
}

setup_netdev() {
	veths && daemon --bridge lan --netdev tyndba --netdev tyndbb
}

# tapyard creates and holds the TAPs; each moves into its namespace as eth0.
setup_tap() {
	ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
	daemon --bridge lan --tap tyndbt0 --tap tyndbt1 || return 1
	ip link set tyndbt0 netns "$NS_A" name eth0 && ip link set tyndbt1 netns "$NS_B" name eth0 ||
		return 1
	ns_eth "$NS_A" 10.76.0.1 && ns_eth "$NS_B" 10.76.0.2
}

# TCP A -> B for DURATION seconds; prints Gbit/s received.
measure() {
	ip netns exec "$NS_B" iperf3 -s -1 -p 5301 >/dev/null 2>&1 &
	local srv=$!
	for _ in $(seq 50); do
		ip netns exec "$NS_B" ss -ltn 2>/dev/null | grep -q ':5301 ' && break
		sleep 0.05
	done
	ip netns exec "$NS_A" iperf3 -c 10.76.0.2 -p 5301 -t "$DURATION" -P "$STREAMS" -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
	local rc=$?
	wait "$srv" 2>/dev/null
	return $rc
}

# bench_path PATH ROUND: set the path up, measure, tear it down.
bench_path() {
	local v
	if ! "setup_$1"; then
		log "$1: set-up failed"
		teardown
		return 1
	fi
	v=$(measure) || v=
	teardown
	log "round $2: $1 ${v:-failed} Gbit/s"
	GBPS[$1]="${GBPS[$1]:-} ${v:-nan}"
}

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		--duration) DURATION=$2; shift 2 ;;
		--rounds) ROUNDS=$2; shift 2 ;;
		--streams) STREAMS=$2; shift 2 ;;
		--tapyard) TAPYARD=$2; shift 2 ;;
		-h | --help) usage 0 ;;
		*) usage 2 ;;
		esac
	done
	[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
	for t in iperf3 ip python3 ss; do command -v "$t" >/dev/null || { log "needs $t"; exit 1; }; done
	[ -x "$TAPYARD" ] || { log "no tapyard binary at $TAPYARD"; exit 1; }
	WORK=$(mktemp -d /tmp/tyndb-XXXXXX) && chmod 755 "$WORK" || exit 1
	trap on_exit EXIT
	trap 'exit 130' INT TERM
	teardown
	for ((r = 1; r <= ROUNDS; r++)); do
		for p in bridge netdev tap; do bench_path "$p" "$r"; done
	done
	local base
	base=$(median <<<"${GBPS[bridge]}")
	printf 'TCP, %s stream(s), %s s, median of %s rounds (%s)\n' "$STREAMS" "$DURATION" "$ROUNDS" "$(uname -r)"
	printf '%-28s %10s %10s\n' path Gbit/s ratio
	for p in bridge netdev tap; do
		local m
		m=$(median <<<"${GBPS[$p]}")
		printf '%-28s %10s %10s\n' "$(label "$p")" "$m" "$(ratio "$m" "$base")"
	done
}

label() {
	case $1 in
	bridge) echo "kernel bridge (veths)" ;;
	netdev) echo "tapyard netdev (veths)" ;;
	tap) echo "tapyard tap (its TAPs)" ;;
	esac
}

main "$@"
