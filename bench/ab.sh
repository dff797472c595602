#!/bin/bash
# bench/ab.sh - A/B two tapyard binaries in one run, interleaved (A B, B A, A B, ...), by measures
# that load on the machine disturbs little:
#   udp   64-byte frames offered at --rate kpps (below the zero-loss rate) for --duration s; per
#         frame forwarded: the switch's CPU time in ns (/proc/PID/task/*/schedstat, all threads),
#         its system calls (perf stat -e raw_syscalls:sys_enter on its pid) and its io_uring
#         completions and batches (its own loop counters, tapyard ctl status);
#   tcp1  one iperf3 stream for --duration s: Gbit/s, and the switch's CPU ms per Gbit.
# Prints the medians per binary and B/A; writes bench/results/ab-*.json.
#
# Usage: bench/ab.sh [--rounds N] [--duration S] [--rate KPPS] A_BINARY B_BINARY
# Owns every name starting with "tybe" (it uses run.sh's setup). Figures are printed, never asserted.
set -u -o pipefail

AB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/run.sh
. "$AB_DIR/run.sh"

RATE=50
ROUNDS=3
ONLY=tapyard
CHARTS=0
declare -A AB

usage()
{
	sed -n '11,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit "${1:-0}"
}

# Nanoseconds the process pid has run, all its threads.
run_ns()
{
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}

# The loop counters "batches cqes reads" of the running daemon.
loop_counters()
{
	"$TAPYARD" ctl --socket "$SOCK" --json status | python3 -c 'import json, sys
l = json.load(sys.stdin)["result"]["loop"]; print(l["batches"], l["cqes"], l["reads"])'
}

# One udp measurement of the running daemon (pid SWITCH_PID) into AB[*,label].
ab_udp()
{
	local label=$1 c0 c1 n0 n1 perf_out calls b0 q0 r0 b1 q1 r1

	c0=$(loop_counters)
	n0=$(run_ns "$SWITCH_PID")
	perf stat -x, -e raw_syscalls:sys_enter -p "$SWITCH_PID" -o "$WORK/perf.txt" \
		sleep $((DURATION + 2)) &
	perf_out=$!
	track "$perf_out"
	udp_trial $((RATE * 1000)) "$DURATION"
	wait "$perf_out"
	stop_pid "$perf_out"
	n1=$(run_ns "$SWITCH_PID")
	c1=$(loop_counters)
	read -r b0 q0 r0 <<<"$c0"
	read -r b1 q1 r1 <<<"$c1"
	calls=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$WORK/perf.txt")
	((r1 > r0)) || return 1
	AB[cpu_ns_frame,$label]+="$(((n1 - n0) / (r1 - r0))) "
	AB[cqes_frame,$label]+="$(awk -v a=$((q1 - q0)) -v f=$((r1 - r0)) 'BEGIN { printf "%.3f", a / f }') "
	AB[batches_frame,$label]+="$(awk -v a=$((b1 - b0)) -v f=$((r1 - r0)) 'BEGIN { printf "%.3f", a / f }') "
	[[ $calls =~ ^[0-9]+$ ]] &&
		AB[syscalls_frame,$label]+="$(awk -v a="$calls" -v f=$((r1 - r0)) 'BEGIN { printf "%.3f", a / f }') "
	AB[udp_loss,$label]+="$(awk '{ print $3 }' <<<"$RESULT") "
}

# One tcp1 measurement into AB[*,label].
ab_tcp()
{
	local label=$1 n0 n1

	n0=$(run_ns "$SWITCH_PID")
	measure_tcp 1
	n1=$(run_ns "$SWITCH_PID")
	[ -n "$RESULT" ] || return 1
	AB[tcp1,$label]+="$RESULT "
	AB[cpu_ms_gbit,$label]+="$(awk -v n=$((n1 - n0)) -v g="$RESULT" -v s="$DURATION" \
		'BEGIN { printf "%.2f", n / 1e6 / (g * s) }') "
}

# Set up tapyard from binary BIN, measure it as LABEL, tear down.
ab_one()
{
	local label=$1

	TAPYARD=$2
	STATUS='' REASON='' TAPYARD_PID='' SWITCH_PID=''
	if ! setup_tapyard; then
		log "$label: setup failed: $REASON"
		teardown
		return 0
	fi
	log "$label: udp at $RATE kpps, then tcp1, $DURATION s each"
	ab_udp "$label" || log "$label: udp measurement failed"
	ab_tcp "$label" || log "$label: tcp measurement failed"
	stop_tap_switch "$TAPYARD_PID" ""
	teardown
}

ab_print()
{
	local m a b f='%-16s %12s %12s %8s\n'

	printf "\n$f" measure "A" "B" "B/A"
	for m in cpu_ns_frame syscalls_frame cqes_frame batches_frame udp_loss tcp1 cpu_ms_gbit; do
		# shellcheck disable=SC2086 # the lists are meant to split
		a=$(median ${AB[$m,A]:-}) b=$(median ${AB[$m,B]:-})
		printf "$f" "$m" "${a:--}" "${b:--}" "$(ratio "$b" "$a")"
	done
	printf 'A: %s\nB: %s\n' "$BIN_A" "$BIN_B"
	for m in cpu_ns_frame syscalls_frame tcp1; do
		printf '%s per round: A %s| B %s\n' "$m" "${AB[$m,A]:-}" "${AB[$m,B]:-}"
	done
}

ab_json()
{
	local m sep=''

	printf '{\n  "date": "%s",\n  "loadavg": "%s",\n  "a": "%s",\n  "b": "%s",\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$BIN_A" "$BIN_B"
	printf '  "rounds": %s,\n  "duration_s": %s,\n  "rate_kpps": %s,\n  "runs": {' \
		"$ROUNDS" "$DURATION" "$RATE"
	for m in "${!AB[@]}"; do
		printf '%s\n    "%s": [%s]' "$sep" "$m" "$(echo ${AB[$m]} | tr ' ' ',')"
		sep=,
	done
	printf '\n  }\n}\n'
}

ab_main()
{
	local r out

	while [ $# -gt 2 ]; do
		case $1 in
		--rounds) ROUNDS=$2; shift 2 ;;
		--duration) DURATION=$2; shift 2 ;;
		--rate) RATE=$2; shift 2 ;;
		*) usage 2 ;;
		esac
	done
	[ $# = 2 ] || usage 2
	BIN_A=$(realpath "$1") BIN_B=$(realpath "$2")
	[ -x "$BIN_A" ] && [ -x "$BIN_B" ] || { echo "ab.sh: $1 or $2 is not executable" >&2; exit 2; }
	command -v perf >/dev/null || { echo "ab.sh: needs perf (linux-perf)" >&2; exit 1; }
	bench_begin
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r of $ROUNDS"
		if ((r % 2)); then
			ab_one A "$BIN_A"; ab_one B "$BIN_B"
		else
			ab_one B "$BIN_B"; ab_one A "$BIN_A"
		fi
	done
	ab_print
	mkdir -p "$BENCH_DIR/results"
	out=$BENCH_DIR/results/ab-$(date +%Y%m%d-%H%M%S).json
	ab_json >"$out"
	log "results written to $out"
}

ab_main "$@"
