#!/bin/bash
# bench/capture.sh - what a capture costs: TCP throughput (iperf3, one stream) between two
# namespace guests through one tapyard daemon, without a capture and with a capture running on
# both NICs (snaplen 128, written to a pcapng file), in one run; each capture mode (bpf: tc taps
# and a ring buffer; loop: the dataplane's hook) is measured in turn, rounds interleaved.
#
# Usage: bench/capture.sh [--duration S] [--rounds N] [--modes LIST] [--no-write] [--tapyard PATH]
#   --duration S    seconds per measurement (default 5)
#   --rounds N      rounds of (none, each mode); figures are medians (default 3)
#   --modes LIST    capture modes to measure, out of bpf,loop (default bpf,loop)
#   --no-write      keep captured frames in memory only (no pcapng file)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Prints, per mode: throughput without and with the capture, their ratio, frames captured,
# frames the capture dropped (ring buffer or file writer behind) and frames the switch dropped
# while capturing (its rx_dropped + tx_dropped counters). Figures are printed, never asserted.
# Owns every name starting with "typq": namespaces typqA/typqB, TAPs typq0/typq1, bridge
# typqbr; everything is removed on every exit path.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=5
ROUNDS=3
MODES=bpf,loop
WRITE=1
TAPYARD=${TAPYARD:-$(cd "$BENCH_DIR/.." && pwd)/build/tapyard}
PREFIX=typq
NS_A=${PREFIX}A NS_B=${PREFIX}B
ADDR_A=10.83.0.1 ADDR_B=10.83.0.2
PORT=5203
SOCK=/run/tapyard/$PREFIX-$$.sock
WORK=
DAEMON=
declare -A TPUT CAPTURED CAPDROP SWDROP

usage()
{
	sed -n '7,12s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

log() { printf '# %s\n' "$*" >&2; }
ctl() { "$TAPYARD" ctl --socket "$SOCK" "$@"; }

cleanup()
{
	if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
		kill -TERM "$DAEMON"
		for _ in $(seq 50); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	for l in ${PREFIX}0 ${PREFIX}1; do ip link del "$l" 2>/dev/null; done
	rm -f "$SOCK"
	[ -n "$WORK" ] && rm -rf "$WORK"
	if ip -o link show | grep -q ": $PREFIX" || ip netns list | grep -q "^$PREFIX"; then
		log "cleanup: something named $PREFIX* is left"
	fi
}

parse_args()
{
	while [ $# -gt 0 ]; do
		case $1 in
		--duration) DURATION=${2:-}; shift 2 || usage 2 ;;
		--rounds) ROUNDS=${2:-}; shift 2 || usage 2 ;;
		--modes) MODES=${2:-}; shift 2 || usage 2 ;;
		--no-write) WRITE=0; shift ;;
		--tapyard) TAPYARD=${2:-}; shift 2 || usage 2 ;;
		-h | --help) usage 0 ;;
		*) echo "capture.sh: unknown argument $1" >&2; usage 2 ;;
		esac
	done
	if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 1 || DURATION > 600)); then
		echo "capture.sh: --duration must be 1..600" >&2
		exit 2
	fi
	if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then
		echo "capture.sh: --rounds must be 1..20" >&2
		exit 2
	fi
	for m in ${MODES//,/ }; do
		case $m in bpf | loop) ;; *) echo "capture.sh: unknown mode $m" >&2; exit 2 ;; esac
	done
}

# The daemon with one bridge and two TAPs, each moved into its own namespace.
setup()
{
	mkdir -p /run/tapyard
	"$TAPYARD" daemon --socket "$SOCK" --bridge ${PREFIX}br --tap ${PREFIX}0 --tap ${PREFIX}1 \
		>"$WORK/daemon.log" 2>&1 </dev/null &
	DAEMON=$!
	for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
	ctl status >/dev/null 2>&1 || { log "the daemon did not start: $(tail -2 "$WORK/daemon.log")"; return 1; }
	local ns tap addr
	for side in A:0:$ADDR_A B:1:$ADDR_B; do
		IFS=: read -r ns tap addr <<<"$side"
		ns=${PREFIX}$ns tap=${PREFIX}$tap
		ip netns add "$ns" && ip -n "$ns" link set lo up && ip link set "$tap" netns "$ns" &&
			ip -n "$ns" link set "$tap" name eth0 && ip -n "$ns" addr add "$addr/24" dev eth0 &&
			ip -n "$ns" link set eth0 up || return 1
	done
	ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -q "$ADDR_B" >/dev/null
}

# One iperf3 TCP run A -> B; prints Gbit/s as the receiver counted.
tcp_gbps()
{
	local spid

	ip netns exec "$NS_B" iperf3 -s -1 -p $PORT >/dev/null 2>&1 &
	spid=$!
	for _ in $(seq 50); do
		ip netns exec "$NS_B" ss -lnt | grep -q ":$PORT " && break
		sleep 0.1
	done
	ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p $PORT -t "$DURATION" -J >"$WORK/tcp.json" 2>&1
	wait "$spid" 2>/dev/null
	awk '/"sum_received"/ { f = 1 }
	     f && /"bits_per_second"/ { gsub(/[^0-9.e+-]/, "", $2); printf "%.2f\n", $2 / 1e9; exit }' \
		"$WORK/tcp.json"
}

# The switch's drops on both ports since the last reset.
switch_drops()
{
	local n=0 p c

	for p in ${PREFIX}0 ${PREFIX}1; do
		for c in rx_dropped tx_dropped; do
			n=$((n + $(ctl counters "$p" --value "$c")))
		done
	done
	echo "$n"
}

# A capture's field from the stop line "frames N dropped N evicted N".
stop_field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$1"; }

# Measure once with no capture (mode "none") or with captures on both NICs in mode m.
measure()
{
	local m=$1 ids=() id stop g args=()

	ctl counters reset >/dev/null
	if [ "$m" != none ]; then
		for p in ${PREFIX}0 ${PREFIX}1; do
			args=(--snaplen 128 --mode "$m")
			[ "$WRITE" = 1 ] && args+=(--write "$WORK/$p.pcapng")
			id=$(ctl capture start "$p" "${args[@]}") || return 1
			ids+=("$id")
		done
	fi
	g=$(tcp_gbps)
	TPUT[$m]+="${g:-0} "
	SWDROP[$m]=$((${SWDROP[$m]:-0} + $(switch_drops)))
	for id in "${ids[@]}"; do
		stop=$(ctl capture stop "$id")
		CAPTURED[$m]=$((${CAPTURED[$m]:-0} + $(stop_field "$stop" frames)))
		CAPDROP[$m]=$((${CAPDROP[$m]:-0} + $(stop_field "$stop" dropped)))
	done
	rm -f "$WORK"/*.pcapng
	log "$m: $g Gbit/s"
}

median()
{
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

main()
{
	parse_args "$@"
	[ "$(id -u)" = 0 ] || { echo "capture.sh: needs root (namespaces, TAPs)" >&2; exit 1; }
	command -v iperf3 >/dev/null || { echo "capture.sh: iperf3 is not installed" >&2; exit 1; }
	[ -x "$TAPYARD" ] || { echo "capture.sh: no executable $TAPYARD" >&2; exit 1; }
	WORK=$(mktemp -d /tmp/typq-bench.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	setup || { echo "capture.sh: setup failed" >&2; exit 1; }
	log "$ROUNDS round(s) of $DURATION s: none, ${MODES//,/, }; snaplen 128 on both NICs$(
		[ "$WRITE" = 1 ] && echo ", written to pcapng")"
	for ((r = 1; r <= ROUNDS; r++)); do
		measure none
		for m in ${MODES//,/ }; do measure "$m"; done
	done
	local base g
	# shellcheck disable=SC2086 # the lists split on purpose
	base=$(median ${TPUT[none]})
	printf '\n%-6s %11s %7s %10s %12s %12s\n' mode 'tcp(Gbit/s)' ratio captured cap_dropped sw_dropped
	printf '%-6s %11s %7s %10s %12s %12s\n' none "$base" 1.00 - - "${SWDROP[none]}"
	for m in ${MODES//,/ }; do
		# shellcheck disable=SC2086
		g=$(median ${TPUT[$m]})
		printf '%-6s %11s %7s %10s %12s %12s\n' "$m" "$g" \
			"$(awk -v a="$g" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
			"${CAPTURED[$m]}" "${CAPDROP[$m]}" "${SWDROP[$m]}"
	done
	echo "(captured, cap_dropped and sw_dropped are totals over the $ROUNDS round(s))"
}

main "$@"
