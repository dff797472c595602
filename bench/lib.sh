# shellcheck shell=bash
# bench/lib.sh - what the shell benches share: logging, medians and ratios of the figures, and a
# tapyard daemon started and waited for. Source it after setting TAPYARD.

log() { printf '# %s\n' "$*" >&2; }

# median: the median of the numbers on stdin (space or newline separated; "nan" when none).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "nan")}'; }

# ratio M BASE: M / BASE to two places, or "-" when either is not a number.
ratio() { awk -v m="$1" -v b="$2" 'BEGIN { if (b > 0 && m == m + 0) printf "%.2f", m / b; else print "-" }'; }

# bench_daemon SOCKET LOG ARGS...: a tapyard daemon on SOCKET (stderr appended to LOG), its pid in
# DPID; returns once it answers, 1 when it died or stayed silent for 5 s.
bench_daemon() {
	local sock=$1 logf=$2
	shift 2
	"$TAPYARD" daemon --socket "$sock" "$@" 2>>"$logf" &
	DPID=$!
	for _ in $(seq 100); do
		"$TAPYARD" ctl --socket "$sock" status >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
