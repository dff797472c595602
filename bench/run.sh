#!/bin/bash
# bench/run.sh - throughput and small-frame packet rate between two network namespaces,
# over a veth pair, the kernel bridge, tapyard and vde_switch, in one run, as ratios to the
# kernel bridge.
#
# Usage: bench/run.sh [--duration S] [--only LIST] [--tapyard PATH]
#   --duration S    seconds per measurement (default 5)
#   --rounds N      measure every path N times, interleaved, and print the medians (default 1)
#   --only LIST     comma-separated paths out of veth,bridge,tapyard,vde (default: all)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Owns every name starting with "tyb": namespaces tybA/tybB, bridge tybbr, veths tybv*/tybp*/tybq*,
# TAPs tyb0/tyb1, the tapyard switch tybsw. Everything it creates is removed on every exit path
# (trap EXIT INT TERM), and it checks at the end that nothing with that prefix is left.
# Timing figures are printed and written to bench/results/*.json, never asserted.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=5
ROUNDS=1
ONLY=veth,bridge,tapyard,vde
TAPYARD=${TAPYARD:-$(cd "$BENCH_DIR/.." && pwd)/build/tapyard}

NS_A=tybA
NS_B=tybB
ADDR_A=10.77.0.1
ADDR_B=10.77.0.2
PREFIX=tyb
TCP_PORT=5201
UDP_PORT=5202
SOCK=/run/tapyard/bench-$$.sock
# Every host link this script may create; teardown deletes exactly these.
LINKS="tybva tybvb tybbr tybpa tybpb tybqa tybqb tyb0 tyb1 tybsw"

WORK=
PIDS=()
CLEANED=0
REASON=
declare -A TCP1 TCP4 UDP_RX UDP_TX UDP_LOSS NOTE

usage()
{
	sed -n '6,10s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

# Progress and cleanup messages go to fd 3, a copy of the original stdout, so that they are
# seen even from a trap that fires inside a redirected command.
log()
{
	printf '# %s\n' "$*" >&3
}

# Run a command; on failure keep its first words of stderr in REASON and return 1.
run()
{
	if ! "$@" 2>"$WORK/err"; then
		REASON="'$*' failed: $(head -c 200 "$WORK/err" | tr '\n' ' ')"
		return 1
	fi
}

# Is pid running (not a zombie) and, if a name is given, running that command?
pid_alive()
{
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	[ -z "${2:-}" ] || [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# Run a command in the background and wait for it, so that a signal to this script runs its
# trap at once (bash defers traps until a foreground child exits); returns its exit status.
# Background children ignore SIGINT; cleanup stops them by pid.
run_waited()
{
	local pid rc

	"$@" &
	pid=$!
	track "$pid"
	wait "$pid"
	rc=$?
	stop_pid "$pid"
	return $rc
}

# Wait up to SECS seconds for pid to exit; returns 1 if it is still running.
wait_gone()
{
	local pid=$1 i

	for ((i = 0; i < $2 * 10; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	! pid_alive "$pid"
}

# Remember a pid this run started (NAME: its command, checked before signalling a pid
# that is not our child).
track()
{
	PIDS+=("$1:${2:-}")
}

# SIGTERM a pid we started, SIGKILL it after 5 s, reap it if it is our child, forget it.
# Sets STOP_RC to its exit status when it was our child.
stop_pid()
{
	local pid=$1 name=${2:-} keep=() p

	if pid_alive "$pid" "$name"; then
		kill -TERM "$pid" 2>/dev/null
		if ! wait_gone "$pid" 5; then
			log "pid $pid ignored SIGTERM for 5 s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			wait_gone "$pid" 2
		fi
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	for p in "${PIDS[@]}"; do
		[ "${p%%:*}" = "$pid" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
	return 0
}

# Kill every process this run started, remove every namespace and link it made.
teardown()
{
	local pid l

	for pid in "${PIDS[@]}"; do
		stop_pid "${pid%%:*}" "${pid#*:}"
	done
	for l in $LINKS; do
		ip link show "$l" >/dev/null 2>&1 && ip link del "$l" 2>/dev/null
	done
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -f "$SOCK"
}

# Print whatever with our prefix is still there; returns 1 if anything is.
leftovers()
{
	local left pid

	left=$({
		ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
		ip netns list | awk '{ print "netns " $1 }'
	} | grep -E "^(netns )?$PREFIX" | tr '\n' ' ')
	[ -e "$SOCK" ] && left+="$SOCK "
	for pid in "${PIDS[@]}"; do
		pid_alive "${pid%%:*}" "${pid#*:}" && left+="pid ${pid%%:*} "
	done
	[ -z "$left" ] && return 0
	echo "$left"
	return 1
}

cleanup()
{
	local left

	[ "$CLEANED" = 1 ] && return 0
	CLEANED=1
	teardown
	[ -n "$WORK" ] && rm -rf "$WORK"
	if left=$(leftovers); then
		log "cleanup: nothing named $PREFIX* left"
	else
		log "cleanup: LEFT BEHIND: $left"
		return 1
	fi
}

on_exit()
{
	local rc=$?

	cleanup || rc=1
	exit "$rc"
}

on_signal()
{
	log "interrupted, cleaning up"
	exit "$1"
}

# Install iperf3, vde2 and a C compiler if their commands are missing.
ensure_tools()
{
	local pkgs=()

	command -v iperf3 >/dev/null || pkgs+=(iperf3)
	command -v cc >/dev/null || pkgs+=(gcc libc6-dev)
	command -v ping >/dev/null || pkgs+=(iputils-ping)
	command -v ss >/dev/null || pkgs+=(iproute2)
	if wanted vde && ! command -v vde_switch >/dev/null; then
		pkgs+=(vde2)
	fi
	[ ${#pkgs[@]} = 0 ] && return 0
	log "installing ${pkgs[*]}"
	run_waited timeout -k 5 300 apt-get update -qq &&
		run_waited env DEBIAN_FRONTEND=noninteractive timeout -k 5 600 \
			apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

wanted()
{
	case ",$ONLY," in *",$1,"*) return 0 ;; esac
	return 1
}

# Create both namespaces with loopback up.
ns_create()
{
	run ip netns add "$NS_A" && run ip netns add "$NS_B" &&
		run ip netns exec "$NS_A" ip link set lo up &&
		run ip netns exec "$NS_B" ip link set lo up
}

# Move interface IF into namespace NS, name it eth0, give it ADDR/24 and bring it up.
ns_attach()
{
	local ns=$1 ifname=$2 addr=$3

	run ip link set "$ifname" netns "$ns" &&
		run ip netns exec "$ns" ip link set "$ifname" name eth0 &&
		run ip netns exec "$ns" ip addr add "$addr/24" dev eth0 &&
		run ip netns exec "$ns" ip link set eth0 up
}

# Wait up to SECS seconds for host interfaces to appear.
wait_links()
{
	local secs=$1 i l missing

	shift
	for ((i = 0; i < secs * 10; i++)); do
		missing=
		for l in "$@"; do
			ip link show "$l" >/dev/null 2>&1 || missing+=" $l"
		done
		[ -z "$missing" ] && return 0
		sleep 0.1
	done
	REASON="interface(s)$missing did not appear within $secs s"
	return 1
}

setup_veth()
{
	ns_create && run ip link add tybva type veth peer name tybvb &&
		ns_attach "$NS_A" tybva "$ADDR_A" && ns_attach "$NS_B" tybvb "$ADDR_B"
}

setup_bridge()
{
	ns_create && run ip link add tybbr type bridge && run ip link set tybbr up || return 1
	run ip link add tybpa type veth peer name tybqa &&
		run ip link add tybpb type veth peer name tybqb &&
		run ip link set tybpa master tybbr up && run ip link set tybpb master tybbr up &&
		ns_attach "$NS_A" tybqa "$ADDR_A" && ns_attach "$NS_B" tybqb "$ADDR_B"
}

setup_tapyard()
{
	local pid i rc

	if [ ! -x "$TAPYARD" ]; then
		REASON="no executable $TAPYARD"
		return 1
	fi
	mkdir -p /run/tapyard
	"$TAPYARD" daemon --socket "$SOCK" --bridge tybsw --tap tyb0 --tap tyb1 \
		>"$WORK/tapyard.log" 2>&1 </dev/null &
	pid=$!
	track "$pid"
	TAPYARD_PID=$pid
	for ((i = 0; ; i++)); do
		if ! pid_alive "$pid"; then
			stop_pid "$pid"
			TAPYARD_PID=
			REASON="daemon exited with status $STOP_RC: $(tail -n 2 "$WORK/tapyard.log" | tr '\n' ' ')"
			return 1
		fi
		run_waited timeout -k 1 2 "$TAPYARD" ctl --socket "$SOCK" status >/dev/null 2>&1 && break
		if ((i >= 100)); then
			REASON="'tapyard ctl status' did not succeed within 10 s"
			return 1
		fi
		sleep 0.1
	done
	wait_links 5 tyb0 tyb1 && ns_create &&
		ns_attach "$NS_A" tyb0 "$ADDR_A" && ns_attach "$NS_B" tyb1 "$ADDR_B"
}

setup_vde()
{
	local pid i help

	help=$(vde_switch --help 2>&1)
	if ! grep -q -- '--tap' <<<"$help"; then
		REASON="this vde_switch has no --tap option (tuntap module missing)"
		return 1
	fi
	run vde_switch --sock "$WORK/vde.ctl" --mgmt "$WORK/vde.mgmt" --rcfile /dev/null \
		--tap tyb0 --tap tyb1 --daemon --pidfile "$WORK/vde.pid" </dev/null || return 1
	for ((i = 0; i < 50; i++)); do
		[ -s "$WORK/vde.pid" ] && break
		sleep 0.1
	done
	pid=$(cat "$WORK/vde.pid" 2>/dev/null)
	if [ -z "$pid" ]; then
		REASON="vde_switch wrote no pidfile within 5 s"
		return 1
	fi
	track "$pid" vde_switch
	VDE_PID=$pid
	wait_links 5 tyb0 tyb1 && ns_create &&
		ns_attach "$NS_A" tyb0 "$ADDR_A" && ns_attach "$NS_B" tyb1 "$ADDR_B"
}

# TAPs of a switch still present, in the host or moved into the namespaces as eth0.
taps_left()
{
	local left=

	ip link show tyb0 >/dev/null 2>&1 && left+=" tyb0"
	ip link show tyb1 >/dev/null 2>&1 && left+=" tyb1"
	ip netns exec "$NS_A" ip link show eth0 >/dev/null 2>&1 && left+=" $NS_A/eth0"
	ip netns exec "$NS_B" ip link show eth0 >/dev/null 2>&1 && left+=" $NS_B/eth0"
	echo "$left"
}

# Stop a switch that owns TAPs tyb0/tyb1 with SIGTERM; set STATUS to how it exited and
# whether its TAPs went away with it (within 2 s).
stop_tap_switch()
{
	local pid=$1 name=$2 left i

	stop_pid "$pid" "$name"
	STATUS="exited with status $STOP_RC on SIGTERM"
	[ -n "$name" ] && STATUS="exited on SIGTERM"
	for ((i = 0; i < 20; i++)); do
		left=$(taps_left)
		[ -z "$left" ] && break
		sleep 0.1
	done
	if [ -n "$left" ]; then
		STATUS+=", TAPs LEFT BEHIND:$left"
	else
		STATUS+=", TAPs gone"
	fi
}

# Wait until something in namespace B listens on PROTO (t or u) PORT.
wait_listen()
{
	local i

	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NS_B" ss -ln"$1" |
			awk -v p=":$2\$" '$4 ~ p { f = 1 } END { exit !f }' && return 0
		sleep 0.1
	done
	return 1
}

# TCP throughput in Gbit/s with N streams, as the receiver counted it, into RESULT
# (empty on failure).
measure_tcp()
{
	local n=$1 spid json=$WORK/tcp$1.json

	RESULT=
	timeout -k 5 $((DURATION + 30)) ip netns exec "$NS_B" iperf3 -s -1 -p $TCP_PORT \
		>"$WORK/iperf3-server.log" 2>&1 &
	spid=$!
	track "$spid"
	wait_listen t $TCP_PORT || { stop_pid "$spid"; return 1; }
	run_waited timeout -k 5 $((DURATION + 20)) \
		ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p $TCP_PORT -t "$DURATION" -P "$n" -J >"$json" 2>&1
	wait_gone "$spid" 5
	stop_pid "$spid"
	RESULT=$(awk '/"sum_received"/ { f = 1 }
	     f && /"bits_per_second"/ { gsub(/[^0-9.e+-]/, "", $2); printf "%.2f\n", $2 / 1e9; exit }' \
		"$json")
	[ -n "$RESULT" ] || log "iperf3 -P $n gave no result: $(head -c 300 "$json" | tr '\n' ' ')"
}

# 64-byte frame rate: "rx_kpps tx_kpps loss_pct" as the receiver counted, into RESULT
# (empty on failure).
measure_udp()
{
	local rpid rx tx

	RESULT=
	timeout -k 5 $((DURATION + 30)) ip netns exec "$NS_B" "$UDPRATE" recv $UDP_PORT \
		$((DURATION + 15)) >"$WORK/udp-rx.txt" 2>&1 &
	rpid=$!
	track "$rpid"
	wait_listen u $UDP_PORT || { stop_pid "$rpid"; return 1; }
	run_waited timeout -k 5 $((DURATION + 20)) \
		ip netns exec "$NS_A" "$UDPRATE" send "$ADDR_B" $UDP_PORT "$DURATION" >"$WORK/udp-tx.txt" 2>&1
	wait_gone "$rpid" 10
	stop_pid "$rpid"
	rx=$(cat "$WORK/udp-rx.txt")
	tx=$(cat "$WORK/udp-tx.txt")
	RESULT=$(parse_udp "$rx" "$tx")
	[ -n "$RESULT" ] || log "udprate gave no result: receiver '$rx', sender '$tx'"
}

# Turn udprate's "received=N seconds=S pps=R" and "sent=N seconds=S pps=R" into
# "rx_kpps tx_kpps loss_pct".
parse_udp()
{
	awk -v rx="$1" -v tx="$2" 'function get(s, k,    a, n, i, kv) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) { split(a[i], kv, "="); if (kv[1] == k) return kv[2] }
		return ""
	}
	BEGIN {
		r = get(rx, "received"); s = get(tx, "sent")
		if (r == "" || s == "")
			exit 1
		loss = s > 0 ? 100 * (s - r) / s : 0
		if (loss < 0)
			loss = 0
		printf "%.1f %.1f %.1f\n", get(rx, "pps") / 1e3, get(tx, "pps") / 1e3, loss
	}'
}

# Set up one path, check that A reaches B, measure it, tear it down.
bench_path()
{
	local path=$1 label=$2

	STATUS=
	REASON=
	TAPYARD_PID=
	VDE_PID=
	log "$label: setting up"
	if ! "setup_$path"; then
		NOTE[$path]="skipped ($REASON)"
		echo "$label: skipped ($REASON)"
		teardown
		return 0
	fi
	if ! run_waited timeout -k 5 15 \
		ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 "$ADDR_B" >/dev/null 2>&1; then
		NOTE[$path]="failed (no ping from $ADDR_A to $ADDR_B)"
		echo "$label: ${NOTE[$path]}"
	else
		log "$label: tcp, 1 stream, $DURATION s"
		measure_tcp 1
		TCP1[$path]=$RESULT
		log "$label: tcp, 4 streams, $DURATION s"
		measure_tcp 4
		TCP4[$path]=$RESULT
		log "$label: udp 64-byte frames, $DURATION s"
		measure_udp
		if [ -n "$RESULT" ]; then
			read -r "UDP_RX[$path]" "UDP_TX[$path]" "UDP_LOSS[$path]" <<<"$RESULT"
		fi
	fi
	[ -n "$TAPYARD_PID" ] && stop_tap_switch "$TAPYARD_PID" ""
	[ -n "$VDE_PID" ] && stop_tap_switch "$VDE_PID" vde_switch
	if [ -n "$STATUS" ]; then
		log "$label: $STATUS"
		NOTE[$path]="${NOTE[$path]:+${NOTE[$path]}; }$STATUS"
	fi
	teardown
}

# Rounds interleave the paths, so a busy moment on a shared machine hits all of them alike; the
# table shows each figure's median over the rounds.
declare -A ALL_TCP1 ALL_TCP4 ALL_UDP_RX ALL_UDP_TX ALL_UDP_LOSS
collect_round()
{
	local p=$1
	ALL_TCP1[$p]+="${TCP1[$p]:-} "
	ALL_TCP4[$p]+="${TCP4[$p]:-} "
	ALL_UDP_RX[$p]+="${UDP_RX[$p]:-} "
	ALL_UDP_TX[$p]+="${UDP_TX[$p]:-} "
	ALL_UDP_LOSS[$p]+="${UDP_LOSS[$p]:-} "
	TCP1[$p]= TCP4[$p]= UDP_RX[$p]= UDP_TX[$p]= UDP_LOSS[$p]=
}

# The median of the numbers given (empty when none).
median()
{
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{v[NR] = $1} END {if (NR) printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

take_medians()
{
	local p
	for p in "${PATHS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the collected lists is intended
		{
			TCP1[$p]=$(median ${ALL_TCP1[$p]})
			TCP4[$p]=$(median ${ALL_TCP4[$p]})
			UDP_RX[$p]=$(median ${ALL_UDP_RX[$p]})
			UDP_TX[$p]=$(median ${ALL_UDP_TX[$p]})
			UDP_LOSS[$p]=$(median ${ALL_UDP_LOSS[$p]})
		}
		((ROUNDS > 1)) && log "$(label_of "$p") tcp1 per round: ${ALL_TCP1[$p]}"
	done
}

# a / b to two decimals, or "-" when either is missing.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# A JSON number, or null when empty or "-".
jnum()
{
	case $1 in "" | -) echo null ;; *) echo "$1" ;; esac
}

label_of()
{
	case $1 in vde) echo vde_switch ;; *) echo "$1" ;; esac
}

print_table()
{
	local p b1=${TCP1[bridge]:-} b4=${TCP4[bridge]:-} bu=${UDP_RX[bridge]:-}

	printf '\n%-11s %12s %12s %11s %8s %11s %11s %12s\n' path 'tcp1(Gbit/s)' \
		'tcp4(Gbit/s)' 'udp64(kpps)' 'loss(%)' tcp1/bridge tcp4/bridge udp64/bridge
	for p in "${PATHS[@]}"; do
		printf '%-11s %12s %12s %11s %8s %11s %11s %12s\n' "$(label_of "$p")" \
			"${TCP1[$p]:--}" "${TCP4[$p]:--}" "${UDP_RX[$p]:--}" "${UDP_LOSS[$p]:--}" \
			"$(ratio "${TCP1[$p]:-}" "$b1")" "$(ratio "${TCP4[$p]:-}" "$b4")" \
			"$(ratio "${UDP_RX[$p]:-}" "$bu")"
	done
	for p in "${PATHS[@]}"; do
		[ -n "${NOTE[$p]:-}" ] && echo "$(label_of "$p"): ${NOTE[$p]}"
	done
	echo
}

# One JSON object with the run's parameters and each path's figures and ratios.
write_json()
{
	local file=$1 p sep='' b1=${TCP1[bridge]:-} b4=${TCP4[bridge]:-} bu=${UDP_RX[bridge]:-}

	{
		printf '{\n  "date": "%s",\n  "kernel": "%s",\n  "cpus": %s,\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)"
		printf '  "duration_s": %s,\n  "udp_payload_bytes": 18,\n  "paths": {' "$DURATION"
		for p in "${PATHS[@]}"; do
			printf '%s\n    "%s": {"tcp1_gbps": %s, "tcp4_gbps": %s, ' "$sep" \
				"$(label_of "$p")" "$(jnum "${TCP1[$p]:-}")" "$(jnum "${TCP4[$p]:-}")"
			printf '"udp64_rx_kpps": %s, "udp64_tx_kpps": %s, "udp64_loss_pct": %s, ' \
				"$(jnum "${UDP_RX[$p]:-}")" "$(jnum "${UDP_TX[$p]:-}")" \
				"$(jnum "${UDP_LOSS[$p]:-}")"
			printf '"tcp1_vs_bridge": %s, "tcp4_vs_bridge": %s, "udp64_vs_bridge": %s, ' \
				"$(jnum "$(ratio "${TCP1[$p]:-}" "$b1")")" \
				"$(jnum "$(ratio "${TCP4[$p]:-}" "$b4")")" \
				"$(jnum "$(ratio "${UDP_RX[$p]:-}" "$bu")")"
			printf '"note": "%s"}' "$(printf '%s' "${NOTE[$p]:-}" | tr -d '\042\134' | tr '\n\t' '  ')"
			sep=,
		done
		printf '\n  }\n}\n'
	} >"$file"
}

parse_args()
{
	while [ $# -gt 0 ]; do
		case $1 in
		--duration) DURATION=${2:-}; shift 2 || usage 2 ;;
		--rounds) ROUNDS=${2:-}; shift 2 || usage 2 ;;
		--only) ONLY=${2:-}; shift 2 || usage 2 ;;
		--tapyard) TAPYARD=${2:-}; shift 2 || usage 2 ;;
		-h | --help) usage 0 ;;
		*) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
		esac
	done
	if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then
		echo "run.sh: --rounds must be 1..20" >&2
		exit 2
	fi
	if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 1 || DURATION > 600)); then
		echo "run.sh: --duration must be 1..600 seconds" >&2
		exit 2
	fi
	ONLY=${ONLY//vde_switch/vde}
	PATHS=()
	for p in veth bridge tapyard vde; do
		wanted "$p" && PATHS+=("$p")
	done
	for p in ${ONLY//,/ }; do
		case $p in veth | bridge | tapyard | vde) ;; *)
			echo "run.sh: unknown path '$p' in --only (veth,bridge,tapyard,vde)" >&2
			exit 2 ;;
		esac
	done
	[ ${#PATHS[@]} -gt 0 ] || usage 2
}

main()
{
	local p out left

	exec 3>&1
	parse_args "$@"
	if [ "$(id -u)" != 0 ]; then
		echo "run.sh: needs root (namespaces, bridges, TAPs)" >&2
		exit 1
	fi
	if left=$(leftovers); then :; else
		echo "run.sh: $left already exist (another run?); remove them first" >&2
		exit 1
	fi
	WORK=$(mktemp -d /tmp/tyb-bench.XXXXXX)
	trap on_exit EXIT
	trap 'on_signal 130' INT
	trap 'on_signal 143' TERM
	ensure_tools || { echo "run.sh: could not install the tools it needs" >&2; exit 1; }
	UDPRATE=$WORK/udprate
	cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$UDPRATE" "$BENCH_DIR/udprate.c" ||
		{ echo "run.sh: could not build bench/udprate.c" >&2; exit 1; }
	log "paths: ${PATHS[*]}; $DURATION s per measurement; $(nproc) cpus; kernel $(uname -r)"
	local r
	for ((r = 1; r <= ROUNDS; r++)); do
		((ROUNDS > 1)) && log "round $r of $ROUNDS"
		for p in "${PATHS[@]}"; do
			bench_path "$p" "$(label_of "$p")"
			collect_round "$p"
		done
	done
	take_medians
	print_table
	mkdir -p "$BENCH_DIR/results"
	out=$BENCH_DIR/results/bench-$(date +%Y%m%d-%H%M%S).json
	write_json "$out"
	log "results written to $out"
}

main "$@"
