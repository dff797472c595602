#!/bin/bash
# bench/soak.sh - a soak of one tapyard daemon: iperf3 TCP between two namespace guests for N
# minutes while the impairments on the path change every half second, one NIC's link flaps every
# few seconds and a capture (loop mode, in memory) runs on both NICs. Every SAMPLE seconds it
# samples the daemon's RSS, open fds and threads and every drop counter of both ports (summed),
# prints the series as a table at the end and writes it to a data file, and a chart (PNG) of
# RSS, fds and threads when gnuplot is installed (Debian: gnuplot-nox).
#
# Usage: bench/soak.sh [--minutes N] [--sample S] [--out DIR] [--tapyard PATH]
#   --minutes N     how long (default 3; a real soak: 30)
#   --sample S      seconds between samples (default 10)
#   --out DIR       where soak.dat and soak.png go (default bench/results/soak-<time>)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Figures are printed, never asserted; not part of the test suite. Owns every name starting with
# "tytr": namespaces tytrA/tytrB, TAPs tytr0/tytr1, bridge tytrbr; all removed on every exit path.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MINUTES=3
SAMPLE=10
OUT=
TAPYARD=${TAPYARD:-$(cd "$BENCH_DIR/.." && pwd)/build/tapyard}
PREFIX=tytr
NS_A=${PREFIX}A NS_B=${PREFIX}B
ADDR_A=10.84.0.1 ADDR_B=10.84.0.2
PORT=5204
SOCKDIR=/run/tapyard
SOCK=$SOCKDIR/$PREFIX-$$.sock
WORK=
DAEMON=
CHURN=
IPERF=()
DROPS=(drop_link_down drop_partition drop_impair_loss drop_queue_full drop_no_buffer drop_runt
	drop_oversize drop_malformed drop_tx_error drop_no_offload drop_port_gone)

usage()
{
	sed -n '9,13s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

log() { printf '# %s\n' "$*" >&2; }
ctl() { "$TAPYARD" ctl --socket "$SOCK" "$@"; }

cleanup()
{
	[ -n "$CHURN" ] && kill "$CHURN" 2>/dev/null && wait "$CHURN" 2>/dev/null
	for p in "${IPERF[@]}"; do kill "$p" 2>/dev/null; done
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
		--minutes) MINUTES=${2:-}; shift 2 || usage 2 ;;
		--sample) SAMPLE=${2:-}; shift 2 || usage 2 ;;
		--out) OUT=${2:-}; shift 2 || usage 2 ;;
		--tapyard) TAPYARD=${2:-}; shift 2 || usage 2 ;;
		-h | --help) usage 0 ;;
		*) echo "soak.sh: unknown argument $1" >&2; usage 2 ;;
		esac
	done
	if ! [[ $MINUTES =~ ^[0-9]+$ ]] || ((MINUTES < 1 || MINUTES > 1440)); then
		echo "soak.sh: --minutes must be 1..1440" >&2
		exit 2
	fi
	if ! [[ $SAMPLE =~ ^[0-9]+$ ]] || ((SAMPLE < 1 || SAMPLE > 600)); then
		echo "soak.sh: --sample must be 1..600" >&2
		exit 2
	fi
	[ -n "$OUT" ] || OUT=$BENCH_DIR/results/soak-$(date +%Y%m%d-%H%M%S)
}

# The daemon with one bridge and two TAPs, each moved into its own namespace, and captures.
setup()
{
	mkdir -p -m 0755 "$SOCKDIR"
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
	ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -q "$ADDR_B" >/dev/null || return 1
	for p in ${PREFIX}0 ${PREFIX}1; do
		ctl capture start "$p" --snaplen 128 --mode loop >/dev/null || return 1
	done
}

# iperf3 A -> B for the whole soak; restarted if a flap ends it early.
traffic()
{
	local end=$((SECONDS + MINUTES * 60)) left

	ip netns exec "$NS_B" iperf3 -s -p $PORT >/dev/null 2>&1 &
	IPERF+=($!)
	sleep 0.5
	while ((SECONDS < end - 2)); do
		left=$((end - SECONDS))
		ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -p $PORT -t "$left" -i 0 >>"$WORK/iperf.log" 2>&1
		sleep 0.2
	done
}

# Change the knobs every half second (loss, delay, jitter, duplicate, reorder, rate, corrupt, in
# turn), flap tytr1's link every 5 s for 200 ms.
churn()
{
	local knobs=("loss 1%" "delay 2ms" "delay 1ms jitter 500us" "duplicate 1%" "delay 2ms reorder 5%"
		"rate 500mbit" "corrupt 0.1%" "loss 0.5% delay 1ms") i=0 n=0
	while :; do
		# shellcheck disable=SC2086 # the knob words split on purpose
		ctl impair set --port ${PREFIX}1 --dir rx ${knobs[i]} --replace >/dev/null 2>&1
		i=$(((i + 1) % ${#knobs[@]}))
		n=$((n + 1))
		if ((n % 10 == 0)); then
			ctl link set ${PREFIX}1 down >/dev/null 2>&1
			sleep 0.2
			ctl link set ${PREFIX}1 up >/dev/null 2>&1
		fi
		sleep 0.5
	done
}

# One sample: seconds, RSS kB, fds, threads, then each drop counter summed over both ports.
sample()
{
	local t=$1 rss thr fds line c v

	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON/status")
	thr=$(awk '/^Threads:/ {print $2}' "/proc/$DAEMON/status")
	fds=$(find "/proc/$DAEMON/fd" -mindepth 1 -maxdepth 1 | wc -l)
	line="$t $rss $fds $thr"
	for c in "${DROPS[@]}"; do
		v=$(ctl counters ${PREFIX}0 ${PREFIX}1 --value "$c" | awk '{s += $1} END {print s + 0}')
		line+=" $v"
	done
	echo "$line"
}

chart()
{
	if ! command -v gnuplot >/dev/null; then
		log "no gnuplot (Debian: apt-get install gnuplot-nox): no chart, the data is in $OUT/soak.dat"
		return 0
	fi
	gnuplot <<EOF
set terminal png size 900,500
set output "$OUT/soak.png"
set title "tapyard soak: ${MINUTES} min of iperf3, impairment churn, link flaps, captures"
set xlabel "seconds"
set ylabel "RSS (MiB)"
set y2label "fds, threads"
set y2tics
set key top left
plot "$OUT/soak.dat" using 1:(\$2/1024) with linespoints title "RSS", \
     "" using 1:3 axes x1y2 with lines title "fds", \
     "" using 1:4 axes x1y2 with lines title "threads"
EOF
	log "chart: $OUT/soak.png"
}

main()
{
	parse_args "$@"
	[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (namespaces, TAPs)" >&2; exit 1; }
	command -v iperf3 >/dev/null || { echo "soak.sh: iperf3 is not installed" >&2; exit 1; }
	[ -x "$TAPYARD" ] || { echo "soak.sh: no executable $TAPYARD" >&2; exit 1; }
	WORK=$(mktemp -d /tmp/tytr-soak.XXXXXX)
	mkdir -p "$OUT"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	setup || { echo "soak.sh: setup failed" >&2; exit 1; }
	log "soak: $MINUTES min, a sample every $SAMPLE s; daemon pid $DAEMON"
	traffic &
	IPERF+=($!)
	churn &
	CHURN=$!
	local t0=$SECONDS end=$((SECONDS + MINUTES * 60)) hdr
	hdr="# t rss_kb fds threads ${DROPS[*]}"
	echo "$hdr" >"$OUT/soak.dat"
	sample 0 >>"$OUT/soak.dat"
	while ((SECONDS < end)); do
		sleep "$SAMPLE"
		sample $((SECONDS - t0)) >>"$OUT/soak.dat"
	done
	kill "$CHURN" 2>/dev/null
	wait "$CHURN" 2>/dev/null
	CHURN=
	column -t "$OUT/soak.dat"
	grep -h "receiver" "$WORK/iperf.log" | awk '{print "# iperf3 run: " $(NF-2) " " $(NF-1)}' >&2
	chart
	log "data: $OUT/soak.dat"
}

main "$@"
