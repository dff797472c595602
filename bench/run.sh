#!/bin/bash
# bench/run.sh - throughput, zero-loss small-frame rate, round-trip latency and switch CPU between
# two network namespaces, over a veth pair, the kernel bridge, tapyard, bench's own minimal
# forwarder, Open vSwitch's userspace datapath (without and with userspace TSO) and vde_switch,
# in one run, as ratios to the kernel bridge; then charts of it (bench/charts.sh).
#
# Usage: bench/run.sh [--duration S] [--rounds N] [--only LIST] [--tapyard PATH] [--trial S]
#   --duration S    seconds per throughput measurement (default 5)
#   --rounds N      measure every path N times, interleaved, and print the medians (default 1)
#   --only LIST     paths out of veth,bridge,tapyard,tapyard-rps,minfwd,minfwd2,
#                   minfwd-port,ovs,ovs-tso,vde
#                   (default: all)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#   --trial S       seconds per offered rate in the zero-loss search (default 2)
#   --rr-count N    request/response exchanges per latency measurement (default 20000)
#   --no-charts     JSON only
#
# Owns every name starting with "tybe": namespaces tybeA/tybeB, bridge tybebr, veths tybev*/tybep*/
# tybeq*, TAPs tybe0/tybe1, the tapyard switch tybesw, the OVS bridge tybeovs (and OVS's own
# ovs-netdev, only when this run created it). Everything it creates is removed on every exit path
# (trap EXIT INT TERM), and it checks at the end that nothing with that prefix is left.
# Timing figures are printed and written to bench/results/*.json, never asserted.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=5
ROUNDS=1
ALL_PATHS="veth bridge tapyard tapyard-rps minfwd minfwd2 minfwd-port ovs ovs-tso vde"
ONLY=${ALL_PATHS// /,}
TRIAL=2
RR_COUNT=20000
CHARTS=1
TAPYARD=${TAPYARD:-$(cd "$BENCH_DIR/.." && pwd)/build/tapyard}

NS_A=tybeA
NS_B=tybeB
ADDR_A=10.77.0.1
ADDR_B=10.77.0.2
PREFIX=tybe
TCP_PORT=5201
UDP_PORT=5202
RR_PORT=5203
SOCK=/run/tapyard/bench-$$.sock
# Every host link this script may create; teardown deletes exactly these.
LINKS="tybeva tybevb tybebr tybepa tybepb tybeqa tybeqb tybe0 tybe1 tybesw tybeovs"

WORK=
OVS_DB=
OVS_NETDEV_OURS=
PIDS=()
CLEANED=0
REASON=
# Figures of the current round, V[metric,path]; all rounds' figures, ALL[metric,path]; the metrics:
METRICS="tcp1 tcp4 udp_rx udp_tx udp_loss zl_kpps rr_p50 rr_p99 cpu_gbit mcpu1 mcpu4 cores1 cores4"
declare -A V ALL NOTE CDF

usage()
{
	sed -n '7,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
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

	ovs_unbridge
	for pid in "${PIDS[@]}"; do
		stop_pid "${pid%%:*}" "${pid#*:}"
	done
	for l in $LINKS; do
		ip link show "$l" >/dev/null 2>&1 && ip link del "$l" 2>/dev/null
	done
	if [ -n "$OVS_NETDEV_OURS" ] && ip link show ovs-netdev >/dev/null 2>&1; then
		ip link del ovs-netdev 2>/dev/null
	fi
	OVS_NETDEV_OURS=
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

# Install iperf3, vde2, Open vSwitch, gnuplot and a C compiler if their commands are missing.
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
	if { wanted ovs || wanted ovs-tso; } && ! command -v ovs-vswitchd >/dev/null; then
		pkgs+=(openvswitch-switch)
	fi
	((CHARTS)) && ! command -v gnuplot >/dev/null && pkgs+=(gnuplot-nox)
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
	ns_create && run ip link add tybeva type veth peer name tybevb &&
		ns_attach "$NS_A" tybeva "$ADDR_A" && ns_attach "$NS_B" tybevb "$ADDR_B"
}

setup_bridge()
{
	ns_create && run ip link add tybebr type bridge && run ip link set tybebr up || return 1
	run ip link add tybepa type veth peer name tybeqa &&
		run ip link add tybepb type veth peer name tybeqb &&
		run ip link set tybepa master tybebr up && run ip link set tybepb master tybebr up &&
		ns_attach "$NS_A" tybeqa "$ADDR_A" && ns_attach "$NS_B" tybeqb "$ADDR_B"
}

setup_tapyard()
{
	local pid i rc

	if [ ! -x "$TAPYARD" ]; then
		REASON="no executable $TAPYARD"
		return 1
	fi
	mkdir -p /run/tapyard
	"$TAPYARD" daemon --socket "$SOCK" --bridge tybesw --tap tybe0 --tap tybe1 \
		>"$WORK/tapyard.log" 2>&1 </dev/null &
	pid=$!
	track "$pid"
	TAPYARD_PID=$pid
	SWITCH_PID=$pid
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
	wait_links 5 tybe0 tybe1 && ns_create &&
		ns_attach "$NS_A" tybe0 "$ADDR_A" && ns_attach "$NS_B" tybe1 "$ADDR_B"
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
		--tap tybe0 --tap tybe1 --daemon --pidfile "$WORK/vde.pid" </dev/null || return 1
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
	SWITCH_PID=$pid
	wait_links 5 tybe0 tybe1 && ns_create &&
		ns_attach "$NS_A" tybe0 "$ADDR_A" && ns_attach "$NS_B" tybe1 "$ADDR_B"
}

# tapyard with RPS on both guests' eth0 (rps_cpus: every CPU): the receiving guest's stack, which
# otherwise runs inside the loop's TAP writes, is handed to a backlog on the other core.
setup_tapyard_rps()
{
	local mask ns

	mask=$(printf '%x' $(((1 << $(nproc)) - 1)))
	setup_tapyard || return 1
	for ns in "$NS_A" "$NS_B"; do
		run ip netns exec "$ns" sh -c "echo $mask >/sys/class/net/eth0/queues/rx-0/rps_cpus" ||
			return 1
	done
}

# bench/minfwd.c with THREADS threads: the two-copy floor of a TAP-fd switch.
setup_minfwd()
{
	"$MINFWD" tybe0 tybe1 "${1:-1}" >"$WORK/minfwd.log" 2>&1 </dev/null &
	MINFWD_PID=$!
	SWITCH_PID=$MINFWD_PID
	track "$MINFWD_PID"
	if ! wait_links 5 tybe0 tybe1; then
		REASON+=" ($(head -c 200 "$WORK/minfwd.log"))"
		return 1
	fi
	ns_create && ns_attach "$NS_A" tybe0 "$ADDR_A" && ns_attach "$NS_B" tybe1 "$ADDR_B"
}

# minfwd with one thread per direction: what a second core does for the floor.
setup_minfwd2()
{
	setup_minfwd 2
}

# minfwd with one thread per TAP, frames crossing through a queue: what two loops, each owning
# one of the ports, would do for the floor (one frame's two copies on two cores).
setup_minfwd_port()
{
	setup_minfwd port
}

# ovs-vsctl on this run's private database.
ovs_ctl()
{
	ovs-vsctl --db="unix:$OVS_DB/db.sock" --timeout=10 "$@"
}

# Delete the OVS bridge while ovs-vswitchd still runs, so that it removes the TAPs it made.
ovs_unbridge()
{
	[ -n "$OVS_DB" ] && [ -n "$SWITCH_PID" ] && pid_alive "$SWITCH_PID" ovs-vswitchd &&
		ovs_ctl --if-exists del-br tybeovs 2>/dev/null
	OVS_DB=
}

# Start a private ovsdb-server and ovs-vswitchd in $WORK/ovs; TSO=1 turns on userspace TSO
# (read by ovs-vswitchd at start only).
ovs_start()
{
	local d=$WORK/ovs tso=$1 i

	rm -rf "$d" && mkdir -p "$d" || return 1
	export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
	run ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
	ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --unixctl="$d/ovsdb.ctl" \
		--log-file="$d/ovsdb.log" </dev/null >/dev/null 2>&1 &
	track $! ovsdb-server
	OVS_DB=$d
	for ((i = 0; i < 50; i++)); do
		[ -S "$d/db.sock" ] && break
		sleep 0.1
	done
	run ovs_ctl --no-wait init || return 1
	if [ "$tso" = 1 ]; then
		run ovs_ctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true ||
			return 1
	fi
	ovs-vswitchd "unix:$d/db.sock" --unixctl="$d/vswitchd.ctl" --log-file="$d/vswitchd.log" \
		</dev/null >/dev/null 2>&1 &
	SWITCH_PID=$!
	track "$SWITCH_PID" ovs-vswitchd
}

# Open vSwitch's userspace datapath (datapath_type=netdev) switching two type=tap ports.
setup_ovs()
{
	local tso=${1:-0}

	if ! command -v ovs-vswitchd >/dev/null; then
		REASON="ovs-vswitchd is not installed (Debian package openvswitch-switch)"
		return 1
	fi
	if ip link show ovs-netdev >/dev/null 2>&1; then
		REASON="an interface ovs-netdev already exists (another Open vSwitch is running)"
		return 1
	fi
	OVS_NETDEV_OURS=1
	ovs_start "$tso" &&
		run ovs_ctl add-br tybeovs -- set bridge tybeovs datapath_type=netdev &&
		run ovs_ctl add-port tybeovs tybe0 -- set Interface tybe0 type=tap &&
		run ovs_ctl add-port tybeovs tybe1 -- set Interface tybe1 type=tap &&
		wait_links 5 tybe0 tybe1 && ns_create &&
		ns_attach "$NS_A" tybe0 "$ADDR_A" && ns_attach "$NS_B" tybe1 "$ADDR_B"
}

setup_ovs_tso()
{
	setup_ovs 1
}

# TAPs of a switch still present, in the host or moved into the namespaces as eth0.
taps_left()
{
	local left=

	ip link show tybe0 >/dev/null 2>&1 && left+=" tybe0"
	ip link show tybe1 >/dev/null 2>&1 && left+=" tybe1"
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
# The machine's CPU ticks "busy total" so far, all CPUs (/proc/stat; busy: all but idle and iowait).
stat_ticks()
{
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# Sample stat_ticks into FILE over the middle of a DURATION-second measurement (its first and
# last second left out when it is long enough).
stat_window()
{
	local file=$1 edge=0

	((DURATION >= 3)) && edge=1
	{ sleep "$edge"; stat_ticks; sleep $((DURATION - 2 * edge)); stat_ticks; } >"$file"
}

# From a stat_window FILE and the rate GBPS measured meanwhile: "cores ms_per_gbit": the cores
# the whole machine kept busy (sender, receiver, switch and the kernel's work for them) and its CPU
# time per gigabit; empty without both samples.
machine_cpu()
{
	awk -v n="$(nproc)" -v g="$2" 'NR == 1 { b = $1; t = $2 } NR == 2 { b = $1 - b; t = $2 - t }
		END { if (NR == 2 && t > 0) { c = n * b / t; m = (g > 0) ? sprintf("%.1f", c * 1000 / g) : ""
			printf "%.2f %s\n", c, m } }' "$1"
}

measure_tcp()
{
	local n=$1 spid json=$WORK/tcp$1.json stat

	RESULT=
	MCPU=
	timeout -k 5 $((DURATION + 30)) ip netns exec "$NS_B" iperf3 -s -1 -p $TCP_PORT \
		>"$WORK/iperf3-server.log" 2>&1 &
	spid=$!
	track "$spid"
	wait_listen t $TCP_PORT || { stop_pid "$spid"; return 1; }
	stat_window "$WORK/stat$n" &
	stat=$!
	track "$stat"
	run_waited timeout -k 5 $((DURATION + 20)) \
		ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p $TCP_PORT -t "$DURATION" -P "$n" -J >"$json" 2>&1
	wait_gone "$spid" 5
	stop_pid "$spid"
	wait "$stat"
	stop_pid "$stat"
	RESULT=$(awk '/"sum_received"/ { f = 1 }
	     f && /"bits_per_second"/ { gsub(/[^0-9.e+-]/, "", $2); printf "%.2f\n", $2 / 1e9; exit }' \
		"$json")
	[ -n "$RESULT" ] && MCPU=$(machine_cpu "$WORK/stat$n" "$RESULT")
	[ -n "$RESULT" ] || log "iperf3 -P $n gave no result: $(head -c 300 "$json" | tr '\n' ' ')"
}

# The user + system CPU clock ticks of pid so far (all its threads), or nothing.
cpu_ticks()
{
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# Milliseconds of the switch's CPU per gigabit received during one tcp1 measurement of GBPS over
# DURATION seconds, from tick counts T0 and T1; empty without a switch process or a rate.
cpu_per_gbit()
{
	local t0=$1 t1=$2 gbps=$3

	[ -n "$t0" ] && [ -n "$t1" ] && [ -n "$gbps" ] || return 0
	awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v g="$gbps" -v s="$DURATION" \
		'BEGIN { if (g > 0) printf "%.1f\n", d * 1000 / hz / (g * s) }'
}

# One trial of the 64-byte flood: offer PPS frames a second (0: as fast as the sender goes) for
# SECS seconds; RESULT is "rx_kpps tx_kpps loss_pct" as the receiver counted (empty on failure).
udp_trial()
{
	local pps=$1 secs=$2 rpid rx tx

	RESULT=
	timeout -k 5 $((secs + 30)) ip netns exec "$NS_B" "$UDPRATE" recv $UDP_PORT \
		$((secs + 5)) >"$WORK/udp-rx.txt" 2>&1 &
	rpid=$!
	track "$rpid"
	wait_listen u $UDP_PORT || { stop_pid "$rpid"; return 1; }
	run_waited timeout -k 5 $((secs + 20)) ip netns exec "$NS_A" "$UDPRATE" send "$ADDR_B" \
		$UDP_PORT "$secs" 18 "$pps" >"$WORK/udp-tx.txt" 2>&1
	wait_gone "$rpid" $((secs + 10))
	stop_pid "$rpid"
	rx=$(cat "$WORK/udp-rx.txt")
	tx=$(cat "$WORK/udp-tx.txt")
	RESULT=$(parse_udp "$rx" "$tx")
	[ -n "$RESULT" ] || log "udprate gave no result: receiver '$rx', sender '$tx'"
}

# Turn udprate's "received=N seconds=S pps=R" and "sent=N seconds=S pps=R" into
# "rx_kpps tx_kpps loss_pct" (loss to three decimals: the search's threshold is 0.1%).
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
		printf "%.1f %.1f %.3f\n", get(rx, "pps") / 1e3, get(tx, "pps") / 1e3, loss
	}'
}

# RFC 2544-style zero-loss rate of 64-byte frames: the highest offered rate (kpps) at which the
# receiver saw under 0.1% loss, by binary search between 0 and MAX_KPPS (the unpaced sender's
# rate) in ZL_STEPS trials of TRIAL seconds, into RESULT. A rate passes on the sender's achieved
# rate, not the one asked for. Logs each trial.
ZL_STEPS=6
measure_zero_loss()
{
	local max=$1 lo=0 hi mid i rx tx loss pass=

	RESULT=
	hi=$(awk -v m="$max" 'BEGIN { printf "%d\n", m }')
	((hi > 0)) || return 1
	for ((i = 0; i <= ZL_STEPS; i++)); do
		((i == 0)) && mid=$hi || mid=$(((lo + hi) / 2))
		udp_trial $((mid * 1000)) "$TRIAL" || return 1
		read -r rx tx loss <<<"$RESULT"
		if awk -v l="$loss" 'BEGIN { exit !(l < 0.1) }'; then
			pass=$tx
			lo=$mid
			log "  offered $mid kpps: sent $tx, received $rx, loss $loss% - pass"
			((i == 0)) && break # the sender's own limit passes: nothing above to find
		else
			hi=$mid
			log "  offered $mid kpps: sent $tx, received $rx, loss $loss% - fail"
		fi
	done
	RESULT=${pass:-0}
}

# Round-trip latency of 64-byte UDP request/response exchanges, one at a time: RESULT is
# "p50_us p99_us", and CDF_LINE the 0..100th percentiles (empty on failure).
measure_rr()
{
	local spid out

	RESULT=
	CDF_LINE=
	timeout -k 5 120 ip netns exec "$NS_B" "$RR" server $RR_PORT 100 >/dev/null 2>&1 &
	spid=$!
	track "$spid"
	wait_listen u $RR_PORT || { stop_pid "$spid"; return 1; }
	run_waited timeout -k 5 100 ip netns exec "$NS_A" "$RR" client "$ADDR_B" $RR_PORT \
		"$RR_COUNT" >"$WORK/rr.txt" 2>&1
	stop_pid "$spid"
	out=$(head -n 1 "$WORK/rr.txt")
	RESULT=$(sed -n 's/.*p50_us=\([0-9.]*\).*p99_us=\([0-9.]*\).*/\1 \2/p' <<<"$out")
	CDF_LINE=$(sed -n 's/^cdf=//p' "$WORK/rr.txt")
	[ -n "$RESULT" ] || log "rr gave no result: $(head -c 200 "$WORK/rr.txt")"
}

# Every measurement of one path that reaches B; fills V[*,path].
measure_path()
{
	local path=$1 label=$2 t0 t1

	log "$label: tcp, 1 stream, $DURATION s"
	t0=$(cpu_ticks "${SWITCH_PID:-x}")
	measure_tcp 1
	t1=$(cpu_ticks "${SWITCH_PID:-x}")
	V[tcp1,$path]=$RESULT
	V[cpu_gbit,$path]=$(cpu_per_gbit "$t0" "$t1" "$RESULT")
	read -r "V[cores1,$path]" "V[mcpu1,$path]" <<<"$MCPU"
	log "$label: tcp, 4 streams, $DURATION s"
	measure_tcp 4
	V[tcp4,$path]=$RESULT
	read -r "V[cores4,$path]" "V[mcpu4,$path]" <<<"$MCPU"
	log "$label: udp 64-byte flood, $DURATION s"
	udp_trial 0 "$DURATION"
	[ -n "$RESULT" ] && read -r "V[udp_rx,$path]" "V[udp_tx,$path]" "V[udp_loss,$path]" <<<"$RESULT"
	log "$label: zero-loss rate of 64-byte frames, $TRIAL s per trial"
	[ -n "${V[udp_tx,$path]:-}" ] && measure_zero_loss "${V[udp_tx,$path]}" &&
		V[zl_kpps,$path]=$RESULT
	log "$label: round trips, $RR_COUNT exchanges"
	if measure_rr; then
		read -r "V[rr_p50,$path]" "V[rr_p99,$path]" <<<"$RESULT"
		CDF[$path]=$CDF_LINE
	fi
}

# Set up one path, check that A reaches B, measure it, tear it down.
bench_path()
{
	local path=$1 label=$2

	STATUS=
	REASON=
	TAPYARD_PID=
	VDE_PID=
	MINFWD_PID=
	SWITCH_PID=
	log "$label: setting up"
	if ! "setup_${path//-/_}"; then
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
		measure_path "$path" "$label"
	fi
	[ -n "$TAPYARD_PID" ] && stop_tap_switch "$TAPYARD_PID" ""
	[ -n "$VDE_PID" ] && stop_tap_switch "$VDE_PID" vde_switch
	[ -n "$MINFWD_PID" ] && stop_tap_switch "$MINFWD_PID" ""
	if [ -n "$STATUS" ]; then
		log "$label: $STATUS"
		case "; ${NOTE[$path]:-}; " in *"; $STATUS; "*) ;; # said in an earlier round
		*) NOTE[$path]="${NOTE[$path]:+${NOTE[$path]}; }$STATUS" ;;
		esac
	fi
	teardown
}

# Rounds interleave the paths, so a busy moment on a shared machine hits all of them alike; the
# table shows each figure's median over the rounds.
collect_round()
{
	local p=$1 m

	for m in $METRICS; do
		ALL[$m,$p]+="${V[$m,$p]:-} "
		V[$m,$p]=
	done
}

# The median of the numbers given (empty when none).
median()
{
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
		awk '{v[NR] = $1} END {if (NR) printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

take_medians()
{
	local p m

	for p in "${PATHS[@]}"; do
		for m in $METRICS; do
			# shellcheck disable=SC2086 # word splitting of the collected lists is intended
			V[$m,$p]=$(median ${ALL[$m,$p]:-})
		done
		((ROUNDS > 1)) && log "$(label_of "$p") tcp1 per round: ${ALL[tcp1,$p]:-}"
	done
}

# a / b to two decimals, or "-" when either is missing.
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# a - b to one decimal, or "-" when either is missing.
minus()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "") print "-"; else printf "%.1f\n", a - b }'
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

# The ratio of metric M of path P to the bridge's.
vs_bridge()
{
	ratio "${V[$1,$2]:-}" "${V[$1,bridge]:-}"
}

# How far tcp1 or tcp4 (M) of path P could go with every core busy at its whole-machine CPU per
# gigabit, as a ratio to the bridge's figure: "Gbit/s ratio", or empty.
ceiling()
{
	local m=$1 p=$2

	awk -v n="$(nproc)" -v c="${V[mcpu${m#tcp},$p]:-}" -v b="${V[$m,bridge]:-}" \
		'BEGIN { if (c > 0 && b > 0) printf "%.1f %.2f\n", n * 1000 / c, n * 1000 / c / b }'
}

print_table()
{
	local p c1 c4 f='%-10s %7s %7s %8s %8s %7s %7s %7s %7s %8s %8s %8s %6s %6s %6s\n'

	printf "\n$f" path tcp1 tcp4 zl64 flood64 'loss' rr_p50 rr_p99 'added' 'cpu' m_cpu1 m_cpu4 \
		tcp1 tcp4 zl64
	printf "$f" '' Gbit/s Gbit/s kpps kpps_rx '%' us us us_p50 ms/Gbit ms/Gbit ms/Gbit /br /br /br
	for p in "${PATHS[@]}"; do
		printf "$f" "$(label_of "$p")" "${V[tcp1,$p]:--}" "${V[tcp4,$p]:--}" \
			"${V[zl_kpps,$p]:--}" "${V[udp_rx,$p]:--}" "${V[udp_loss,$p]:--}" \
			"${V[rr_p50,$p]:--}" "${V[rr_p99,$p]:--}" \
			"$(minus "${V[rr_p50,$p]:-}" "${V[rr_p50,veth]:-}")" "${V[cpu_gbit,$p]:--}" \
			"${V[mcpu1,$p]:--}" "${V[mcpu4,$p]:--}" \
			"$(vs_bridge tcp1 "$p")" "$(vs_bridge tcp4 "$p")" "$(vs_bridge zl_kpps "$p")"
	done
	echo "m_cpu: the whole machine's CPU time per Gbit during tcp1 and tcp4 (sender, receiver,"
	echo "switch and the kernel's work for them); cores busy during tcp1 and tcp4, out of $(nproc):"
	for p in "${PATHS[@]}"; do
		c1=$(ceiling tcp1 "$p") c4=$(ceiling tcp4 "$p")
		printf '  %-11s %5s %5s' "$(label_of "$p")" "${V[cores1,$p]:--}" "${V[cores4,$p]:--}"
		[ -n "$c1" ] && [ -n "$c4" ] && printf '   all cores at this cost: tcp1 %s, tcp4 %s Gbit/s (%s, %s of the bridge)' \
			${c1% *} ${c4% *} ${c1#* } ${c4#* }
		echo
	done
	for p in "${PATHS[@]}"; do
		[ -n "${NOTE[$p]:-}" ] && echo "$(label_of "$p"): ${NOTE[$p]}"
	done
	echo
}

# One path's JSON object.
path_json()
{
	local p=$1

	printf '"tcp1_gbps": %s, "tcp4_gbps": %s, ' "$(jnum "${V[tcp1,$p]:-}")" \
		"$(jnum "${V[tcp4,$p]:-}")"
	printf '"udp64_rx_kpps": %s, "udp64_tx_kpps": %s, "udp64_loss_pct": %s, ' \
		"$(jnum "${V[udp_rx,$p]:-}")" "$(jnum "${V[udp_tx,$p]:-}")" \
		"$(jnum "${V[udp_loss,$p]:-}")"
	printf '"zero_loss_kpps": %s, "rr_p50_us": %s, "rr_p99_us": %s, "added_p50_us": %s, ' \
		"$(jnum "${V[zl_kpps,$p]:-}")" "$(jnum "${V[rr_p50,$p]:-}")" \
		"$(jnum "${V[rr_p99,$p]:-}")" "$(jnum "$(minus "${V[rr_p50,$p]:-}" "${V[rr_p50,veth]:-}")")"
	printf '"cpu_ms_per_gbit": %s, ' "$(jnum "${V[cpu_gbit,$p]:-}")"
	printf '"machine_cpu_ms_per_gbit_tcp1": %s, "machine_cpu_ms_per_gbit_tcp4": %s, ' \
		"$(jnum "${V[mcpu1,$p]:-}")" "$(jnum "${V[mcpu4,$p]:-}")"
	printf '"machine_cores_busy_tcp1": %s, "machine_cores_busy_tcp4": %s, ' \
		"$(jnum "${V[cores1,$p]:-}")" "$(jnum "${V[cores4,$p]:-}")"
	printf '"tcp1_vs_bridge": %s, "tcp4_vs_bridge": %s, "zero_loss_vs_bridge": %s, ' \
		"$(jnum "$(vs_bridge tcp1 "$p")")" "$(jnum "$(vs_bridge tcp4 "$p")")" \
		"$(jnum "$(vs_bridge zl_kpps "$p")")"
	printf '"rr_cdf_us": [%s], ' "${CDF[$p]:-}"
	printf '"note": "%s"' "$(printf '%s' "${NOTE[$p]:-}" | tr -d '\042\134' | tr '\n\t' '  ')"
}

# One JSON object with the run's parameters and each path's figures and ratios.
write_json()
{
	local file=$1 p sep=''

	{
		printf '{\n  "date": "%s",\n  "kernel": "%s",\n  "cpus": %s,\n  "loadavg": "%s",\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)" \
			"$(cut -d' ' -f1-3 /proc/loadavg)"
		printf '  "duration_s": %s,\n  "rounds": %s,\n  "trial_s": %s,\n' "$DURATION" \
			"$ROUNDS" "$TRIAL"
		printf '  "udp_payload_bytes": 18,\n  "rr_count": %s,\n  "paths": {' "$RR_COUNT"
		for p in "${PATHS[@]}"; do
			printf '%s\n    "%s": {' "$sep" "$(label_of "$p")"
			path_json "$p"
			printf '}'
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
		--trial) TRIAL=${2:-}; shift 2 || usage 2 ;;
		--rr-count) RR_COUNT=${2:-}; shift 2 || usage 2 ;;
		--no-charts) CHARTS=0; shift ;;
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
	if ! [[ $TRIAL =~ ^[0-9]+$ ]] || ((TRIAL < 1 || TRIAL > 60)); then
		echo "run.sh: --trial must be 1..60 seconds" >&2
		exit 2
	fi
	if ! [[ $RR_COUNT =~ ^[0-9]+$ ]] || ((RR_COUNT < 100 || RR_COUNT > 1000000)); then
		echo "run.sh: --rr-count must be 100..1000000" >&2
		exit 2
	fi
	ONLY=${ONLY//vde_switch/vde}
	PATHS=()
	for p in $ALL_PATHS; do
		wanted "$p" && PATHS+=("$p")
	done
	for p in ${ONLY//,/ }; do
		case " $ALL_PATHS " in *" $p "*) ;; *)
			echo "run.sh: unknown path '$p' in --only (${ALL_PATHS// /,})" >&2
			exit 2 ;;
		esac
	done
	[ ${#PATHS[@]} -gt 0 ] || usage 2
}

# Build bench's C programs into $WORK: udprate, rr, minfwd.
build_tools()
{
	local t

	for t in udprate rr minfwd; do
		cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -o "$WORK/$t" \
			"$BENCH_DIR/$t.c" || { echo "run.sh: could not build bench/$t.c" >&2; return 1; }
	done
	UDPRATE=$WORK/udprate
	RR=$WORK/rr
	MINFWD=$WORK/minfwd
}

# Refuse to run as non-root or beside leftovers; make $WORK and the traps.
bench_begin()
{
	local left

	exec 3>&1
	if [ "$(id -u)" != 0 ]; then
		echo "run.sh: needs root (namespaces, bridges, TAPs)" >&2
		exit 1
	fi
	if left=$(leftovers); then :; else
		echo "run.sh: $left already exist (another run?); remove them first" >&2
		exit 1
	fi
	WORK=$(mktemp -d /tmp/tybe-bench.XXXXXX)
	trap on_exit EXIT
	trap 'on_signal 130' INT
	trap 'on_signal 143' TERM
	ensure_tools || { echo "run.sh: could not install the tools it needs" >&2; exit 1; }
	build_tools || exit 1
}

main()
{
	local p r out

	parse_args "$@"
	bench_begin
	log "paths: ${PATHS[*]}; $DURATION s per measurement; $(nproc) cpus; kernel $(uname -r)"
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
	((CHARTS)) && "$BENCH_DIR/charts.sh" "$out"
}

# Sourced (by scale.sh, ab.sh) for its helpers; run as a script, it benchmarks.
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
