#!/bin/bash
# bench/scale.sh - how the cost of a switch grows, tapyard beside the kernel bridge, in one run:
#   ports     2, 8 and 32 ports (one namespace each), one TCP stream (iperf3) per pair of ports
#             (0->1, 2->3, ...), all at once: the pairs' summed throughput and the switch's CPU;
#   flood     a 32-port bridge, namespace 0 sending 64-byte UDP broadcasts at --flood-kpps: the
#             copies delivered per second to the 31 others, the share of copies that arrived, and
#             the switch's CPU;
#   fdb       a 2-port bridge whose MAC table first learns 10,000 source addresses (sent from
#             namespace 0 through a packet socket), then tcp1 and round trips against the same
#             bridge with an empty table: the table's cost, and how many addresses it holds.
#
# Usage: bench/scale.sh [--duration S] [--rounds N] [--flood-kpps K] [--only LIST] [--tapyard PATH]
#   --duration S      seconds per measurement (default 5)
#   --rounds N        every measurement N times, interleaved; medians shown (default 1)
#   --flood-kpps K    offered broadcast rate in thousands of frames a second (default 10)
#   --only LIST       rows out of ports,flood,fdb (default: all)
#   --tapyard PATH    tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Owns every name starting with "tybes": namespaces tybes0..tybes31, TAPs tybest*, veths tybesh*,
# bridges tybesbr (kernel) and tybessw (tapyard). Removed on every exit path. Figures are printed
# and written to bench/results/scale-*.json, never asserted.
set -u -o pipefail

SCALE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/run.sh
. "$SCALE_DIR/run.sh"

PREFIX=tybes
SOCK=/run/tapyard/bench-scale-$$.sock
SUBNET=10.78.0
ONLY=ports,flood,fdb
FLOOD_KPPS=10
NPORTS=0
RR_COUNT=5000
declare -A SV SALL

usage()
{
	sed -n '12,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit "${1:-0}"
}

# Namespace, address and host interface of port i.
sns() { echo "tybes$1"; }
sip() { echo "$SUBNET.$(($1 + 1))"; }

# Remove every namespace and link of the current setup and stop its processes.
teardown()
{
	local pid i

	for pid in "${PIDS[@]}"; do
		stop_pid "${pid%%:*}" "${pid#*:}"
	done
	for ((i = 0; i < 32; i++)); do
		ip netns del "$(sns "$i")" 2>/dev/null
		ip link del "tybesh$i" 2>/dev/null
		ip link del "tybest$i" 2>/dev/null
	done
	ip link del tybesbr 2>/dev/null
	rm -f "$SOCK"
	NPORTS=0
	SWITCH_PID=
}

# Move IFNAME into port i's namespace as eth0, addressed and up.
sattach()
{
	local ns

	ns=$(sns "$1")
	run ip netns add "$ns" && run ip -n "$ns" link set lo up &&
		run ip link set "$2" netns "$ns" && run ip -n "$ns" link set "$2" name eth0 &&
		run ip -n "$ns" addr add "$(sip "$1")/24" dev eth0 && run ip -n "$ns" link set eth0 up
}

# N ports on a kernel bridge: one veth pair each.
ssetup_bridge()
{
	local n=$1 i

	run ip link add tybesbr type bridge && run ip link set tybesbr up || return 1
	for ((i = 0; i < n; i++)); do
		run ip link add "tybesh$i" type veth peer name "tybesp$i" &&
			run ip link set "tybesh$i" master tybesbr up && sattach "$i" "tybesp$i" || return 1
	done
	NPORTS=$n
}

# N ports on one tapyard bridge: one TAP each.
ssetup_tapyard()
{
	local n=$1 i args=() taps=()

	for ((i = 0; i < n; i++)); do
		args+=(--tap "tybest$i")
		taps+=("tybest$i")
	done
	mkdir -p /run/tapyard
	"$TAPYARD" daemon --socket "$SOCK" --bridge tybessw "${args[@]}" \
		>"$WORK/tapyard.log" 2>&1 </dev/null &
	SWITCH_PID=$!
	track "$SWITCH_PID"
	wait_links 10 "${taps[@]}" || return 1
	for ((i = 0; i < n; i++)); do
		sattach "$i" "tybest$i" || return 1
	done
	NPORTS=$n
}

# Set up PATH with N ports and check that port 1 answers port 0.
ssetup()
{
	REASON=
	teardown
	"ssetup_$1" "$2" &&
		run_waited timeout -k 5 15 ip netns exec "$(sns 0)" ping -c 2 -i 0.2 -W 2 "$(sip 1)" \
			>/dev/null 2>&1 || { log "$1, $2 ports: setup failed: $REASON"; return 1; }
}

# One TCP stream per pair of ports, all at once for DURATION s; RESULT: the summed Gbit/s.
pairs_tcp()
{
	local n=$NPORTS k srv=() js=()

	for ((k = 0; k + 1 < n; k += 2)); do
		timeout -k 5 $((DURATION + 30)) ip netns exec "$(sns $((k + 1)))" iperf3 -s -1 \
			-p $TCP_PORT >/dev/null 2>&1 &
		srv+=($!)
		track $!
	done
	sleep 0.5
	for ((k = 0; k + 1 < n; k += 2)); do
		timeout -k 5 $((DURATION + 20)) ip netns exec "$(sns "$k")" iperf3 -c \
			"$(sip $((k + 1)))" -p $TCP_PORT -t "$DURATION" -J >"$WORK/pair$k.json" 2>&1 &
		js+=($!)
		track $!
	done
	for k in "${js[@]}" "${srv[@]}"; do
		wait "$k" 2>/dev/null
		stop_pid "$k"
	done
	RESULT=$(cat "$WORK"/pair*.json | awk '/"sum_received"/ { f = 1 }
		f && /"bits_per_second"/ { gsub(/[^0-9.e+-]/, "", $2); s += $2; f = 0 }
		END { printf "%.2f\n", s / 1e9 }')
	rm -f "$WORK"/pair*.json
}

# CPU of the switch in % of one core between tick counts T0 and T1 over SECS seconds.
cpu_pct()
{
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v d="$(($2 - $1))" -v hz="$(getconf CLK_TCK)" -v s="$3" \
		'BEGIN { printf "%.0f\n", d * 100 / hz / s }'
}

# Row "ports": summed throughput and switch CPU with N ports.
row_ports()
{
	local path=$1 n=$2 t0

	ssetup "$path" "$n" || return 0
	log "$path, $n ports: $((n / 2)) TCP streams, $DURATION s"
	t0=$(cpu_ticks "${SWITCH_PID:-x}")
	pairs_tcp
	SV[ports$n,gbps,$path]=$RESULT
	SV[ports$n,cpu,$path]=$(cpu_pct "$t0" "$(cpu_ticks "${SWITCH_PID:-x}")" "$DURATION")
}

# Row "flood": broadcasts from port 0 on a 32-port bridge, counted by the 31 others.
row_flood()
{
	local path=$1 i t0 rx=0 sent r

	ssetup "$path" 32 || return 0
	log "$path, 32 ports: broadcast at $FLOOD_KPPS kpps, $DURATION s"
	for ((i = 1; i < 32; i++)); do
		timeout -k 5 $((DURATION + 30)) ip netns exec "$(sns "$i")" "$UDPRATE" recv \
			$UDP_PORT $((DURATION + 5)) >"$WORK/flood$i.txt" 2>&1 &
		track $!
	done
	sleep 0.5
	t0=$(cpu_ticks "${SWITCH_PID:-x}")
	run_waited timeout -k 5 $((DURATION + 20)) ip netns exec "$(sns 0)" "$UDPRATE" send \
		"$SUBNET.255" $UDP_PORT "$DURATION" 18 $((FLOOD_KPPS * 1000)) >"$WORK/flood-tx.txt" 2>&1
	SV[flood,cpu,$path]=$(cpu_pct "$t0" "$(cpu_ticks "${SWITCH_PID:-x}")" "$DURATION")
	teardown_receivers
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$WORK/flood-tx.txt")
	for ((i = 1; i < 32; i++)); do
		r=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/flood$i.txt")
		rx=$((rx + ${r:-0}))
	done
	[ -n "$sent" ] && ((sent > 0)) || return 0
	SV[flood,kpps,$path]=$(awk -v r="$rx" -v s="$DURATION" 'BEGIN { printf "%.1f\n", r / s / 1e3 }')
	SV[flood,share,$path]=$(awk -v r="$rx" -v s="$sent" 'BEGIN { printf "%.3f\n", r / (31 * s) }')
}

# Wait for every tracked receiver to finish (each stops 1 s after its last datagram).
teardown_receivers()
{
	local p

	for p in "${PIDS[@]}"; do
		[ "${p%%:*}" = "$SWITCH_PID" ] && continue
		wait_gone "${p%%:*}" 10
		stop_pid "${p%%:*}"
	done
}

# Send 10,000 frames from distinct source MACs out of port 0's eth0 (to a unicast address
# nobody has, so they flood but nothing answers), 100 at a time with a 2 ms pause, so that no
# queue on the way overflows (a lost frame is an address not learned).
fdb_fill()
{
	ip netns exec "$(sns 0)" python3 -c 'import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for i in range(10000):
    src = bytes([0x02, 0xfd, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255])
    s.send(bytes([0x02, 0xee, 0, 0, 0, 1]) + src + b"\x88\xb5" + bytes(46))
    if i % 100 == 99:
        time.sleep(0.002)'
}

# How many addresses the bridge holds now.
fdb_count()
{
	case $1 in
	bridge) bridge fdb show br tybesbr 2>/dev/null | grep -c '^02:fd:' ;;
	tapyard) "$TAPYARD" ctl --socket "$SOCK" fdb show tybessw 2>/dev/null | grep -ci '02:fd:' ;;
	esac
}

# Row "fdb": tcp1 and round trips on 2 ports with an empty table, then with 10,000 addresses.
row_fdb()
{
	local path=$1 full

	for full in 0 1; do
		ssetup "$path" 2 || return 0
		NS_A=$(sns 0) NS_B=$(sns 1) ADDR_A=$(sip 0) ADDR_B=$(sip 1)
		if ((full)); then
			fdb_fill || log "$path: could not send the 10,000 addresses"
			SV[fdb,held,$path]=$(fdb_count "$path")
		fi
		log "$path, fdb $((full * 10000)): tcp1 and round trips"
		measure_tcp 1
		SV[fdb$full,tcp1,$path]=$RESULT
		measure_rr && SV[fdb$full,rr50,$path]=${RESULT%% *}
	done
}

# Every key of SV measured in one round goes into SALL.
scale_collect()
{
	local k

	for k in "${!SV[@]}"; do
		SALL[$k]+="${SV[$k]} "
	done
	SV=()
}

scale_round()
{
	local path n

	for path in bridge tapyard; do
		if wanted ports; then
			for n in 2 8 32; do row_ports "$path" "$n"; done
		fi
		wanted flood && row_flood "$path"
		wanted fdb && row_fdb "$path"
		teardown
	done
	scale_collect
}

# The median of key K over the rounds, or "-".
smed()
{
	local m

	# shellcheck disable=SC2086 # the list is meant to split
	m=$(median ${SALL[$1]:-})
	echo "${m:--}"
}

scale_print()
{
	local n p

	printf '\n%-22s %12s %12s %8s\n' row bridge tapyard ratio
	for n in 2 8 32; do
		printf '%-22s %12s %12s %8s\n' "$n ports, Gbit/s" "$(smed "ports$n,gbps,bridge")" \
			"$(smed "ports$n,gbps,tapyard")" \
			"$(ratio "$(smed "ports$n,gbps,tapyard")" "$(smed "ports$n,gbps,bridge")")"
		printf '%-22s %12s %12s\n' "$n ports, switch cpu%" - "$(smed "ports$n,cpu,tapyard")"
	done
	printf '%-22s %12s %12s %8s\n' "flood 32, kpps copies" "$(smed flood,kpps,bridge)" \
		"$(smed flood,kpps,tapyard)" \
		"$(ratio "$(smed flood,kpps,tapyard)" "$(smed flood,kpps,bridge)")"
	printf '%-22s %12s %12s\n' "flood 32, arrived" "$(smed flood,share,bridge)" \
		"$(smed flood,share,tapyard)"
	printf '%-22s %12s %12s\n' "flood 32, switch cpu%" - "$(smed flood,cpu,tapyard)"
	for p in 0 1; do
		printf '%-22s %12s %12s %8s\n' "fdb $((p * 10000)), tcp1 Gbit/s" \
			"$(smed "fdb$p,tcp1,bridge")" "$(smed "fdb$p,tcp1,tapyard")" \
			"$(ratio "$(smed "fdb$p,tcp1,tapyard")" "$(smed "fdb$p,tcp1,bridge")")"
		printf '%-22s %12s %12s\n' "fdb $((p * 10000)), rr p50 us" "$(smed "fdb$p,rr50,bridge")" \
			"$(smed "fdb$p,rr50,tapyard")"
	done
	printf '%-22s %12s %12s\n' "fdb 10000, held" "$(smed fdb,held,bridge)" \
		"$(smed fdb,held,tapyard)"
	echo
}

scale_json()
{
	local k sep=''

	printf '{\n  "date": "%s",\n  "kernel": "%s",\n  "cpus": %s,\n  "loadavg": "%s",\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  "duration_s": %s,\n  "rounds": %s,\n  "flood_kpps": %s,\n  "medians": {' \
		"$DURATION" "$ROUNDS" "$FLOOD_KPPS"
	for k in $(printf '%s\n' "${!SALL[@]}" | sort); do
		printf '%s\n    "%s": %s' "$sep" "$k" "$(jnum "$(smed "$k")")"
		sep=,
	done
	printf '\n  }\n}\n'
}

scale_args()
{
	while [ $# -gt 0 ]; do
		case $1 in
		--duration) DURATION=${2:-}; shift 2 || usage 2 ;;
		--rounds) ROUNDS=${2:-}; shift 2 || usage 2 ;;
		--flood-kpps) FLOOD_KPPS=${2:-}; shift 2 || usage 2 ;;
		--only) ONLY=${2:-}; shift 2 || usage 2 ;;
		--tapyard) TAPYARD=${2:-}; shift 2 || usage 2 ;;
		-h | --help) usage 0 ;;
		*) echo "scale.sh: unknown argument $1" >&2; usage 2 ;;
		esac
	done
	[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 600)) &&
		[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 20)) &&
		[[ $FLOOD_KPPS =~ ^[0-9]+$ ]] && ((FLOOD_KPPS >= 1)) || usage 2
}

scale_main()
{
	local r out

	scale_args "$@"
	CHARTS=0
	bench_begin
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r of $ROUNDS"
		scale_round
	done
	scale_print
	mkdir -p "$BENCH_DIR/results"
	out=$BENCH_DIR/results/scale-$(date +%Y%m%d-%H%M%S).json
	scale_json >"$out"
	log "results written to $out"
	if command -v gnuplot >/dev/null; then "$BENCH_DIR/charts.sh" "$out"; fi
}

scale_main "$@"
