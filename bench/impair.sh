#!/usr/bin/env bash
# bench/impair.sh - how exactly tapyard's impairments do what they are told, between two namespace
# guests on real TAPs:
#   delay   one-way delay of 64-byte UDP probes (one per 250 us, 3 s) for delay 1 ms and 10 ms, without
#           and with jitter (normal, 20% of the delay): observed p50 and p99 against the configured
#           distribution's (delay; delay + 2.326 jitter), the error being observed minus configured.
#           The switch's own one-way latency without any rule is shown first: it is part of the error.
#           Each rule runs with the delay timer sleeping until a deadline (spin 0), polling for as
#           long before it as the loop's learned wake-up tail (`impair timer auto`, the default) and
#           polling for the last 200 us before it (`impair timer 200us`). late_p99: how late the switch
#           itself sent the delayed frames against their send times (p99, from its histogram: an
#           upper bound), which leaves out the forwarding path's own latency; cpu: the switch's CPU
#           time over the run, in % of one core.
#   rate    1 Mbit/s .. 5 Gbit/s: the Ethernet bit rate that came through against the configured
#           rate. udp: UDP flooded through it, frames of payload + 42 bytes counted by the receiver
#           from first to last arrival (up to 1 Gbit/s: beyond, this machine cannot carry a flood of
#           single frames). tcp: iperf3 TCP, 8 streams so that the shaper rather than one stream's
#           congestion control sets the pace, at MTU 9000 (GSO frames, counted as their wire packets):
#           bytes received plus retransmitted segments (they crossed the link too), times 9014/8948
#           for the headers, over the run (from 1 Gbit/s).
#   cost    iperf3 TCP a -> b through tapyard with no rule, and with a 0 ms delay rule on the pair
#           (every frame takes the impairment path and is sent at once), median of --rounds runs.
#
# Usage: bench/impair.sh [--rounds N] [--only delay,rate,cost] [--spins LIST] [--tapyard PATH]
#        (root; ~7 min) --rounds N: delay rows and cost runs measured N times (default 5),
#        interleaved; medians shown. --spins: the timer settings of the delay rows (0,auto,200us).
#        The delay rows also go to bench/results/impair-*.json, with the delay-error CDF of the
#        last round per timer setting, and to a chart (bench/charts.sh) when gnuplot is there.
# Owns every name starting with "tybei" (namespaces tybein0/1, TAPs tybei0/1, bridge tybeibr) and
# removes them on every exit path. Figures are printed, never asserted.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAPYARD=${TAPYARD:-$BENCH_DIR/../build/tapyard}
ROUNDS=5
ONLY=delay,rate,cost
SPINS=0,auto,200us
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--spins) SPINS=$2; shift 2 ;;
	--tapyard) TAPYARD=$2; shift 2 ;;
	*) sed -n '2,26s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
TAPYARD=$(realpath "$TAPYARD")

LAB_PREFIX=tybei
LAB_SUBNET=10.79.8
LAB_STATIC_ARP=1
. "$BENCH_DIR/../examples/lab.sh"
lab_require iperf3 python3 cc

WORK=$(mktemp -d /tmp/tybei.XXXXXX)
BG=()
bench_cleanup() {
	local rc=$?
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	lab_cleanup
	rm -rf "$WORK"
	return $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$WORK/owd" "$BENCH_DIR/owd.c" ||
	{ echo "impair.sh: cannot build bench/owd.c" >&2; exit 1; }
lab_start 2 >/dev/null 2>&1 || { echo "impair.sh: lab start failed" >&2; exit 1; }
A=$(lab_tap 0) B=$(lab_tap 1)
PORT=5299

# owd_run SECONDS PAYLOAD INTERVAL_US: receiver in b, sender in a; prints the receiver's line.
owd_run() {
	lab_exec 1 "$WORK/owd" recv $PORT $(($1 + 6)) >"$WORK/rx" &
	local rx=$!
	BG+=("$rx")
	sleep 0.3
	lab_exec 0 "$WORK/owd" send "$(lab_ip 1)" $PORT "$1" "$2" "$3" >/dev/null
	wait "$rx"
	cat "$WORK/rx"
}

# field LINE NAME: the value of NAME=value in LINE.
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
calc() { python3 -c "print($*)"; }

# tcp_run SECONDS [MSS [STREAMS]]: the receiver's goodput in bit/s; with MSS, the bit rate of the
# bytes that crossed the link (received plus retransmitted segments). Several streams keep a shaped
# link busy through each stream's congestion-window cuts, so the shaper, not TCP, sets the rate.
tcp_run() {
	lab_exec 1 iperf3 -s -1 -B "$(lab_ip 1)" >/dev/null 2>&1 &
	local srv=$!
	BG+=("$srv")
	sleep 0.3
	lab_exec 0 iperf3 -c "$(lab_ip 1)" -t "$1" -P "${3:-1}" -J 2>/dev/null | python3 -c 'import json, sys
e = json.load(sys.stdin)["end"]; r = e["sum_received"]; mss = int(sys.argv[1])
print((r["bytes"] + e["sum_sent"].get("retransmits", 0) * mss) * 8 / r["seconds"])' "${2:-0}"
	wait "$srv" 2>/dev/null
}
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if want delay; then
echo "== one-way delay (64-byte UDP, 1 per 250 us, 3 s; microseconds; median of $ROUNDS rounds) =="
# cpu_ticks: the daemon's user + system clock ticks so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$LAB_PID/stat"; }
# late_hist: the switch's lateness histogram of delayed frames (a JSON array).
late_hist() { lab_ctl --json impair timer | python3 -c 'import json, sys
print(json.dumps(json.load(sys.stdin)["result"]["histogram"]))'; }
# Rows: name|spin|delay ms|jitter ms|impair set words.
rows=("none (switch latency)|0|0|0|")
for spin in ${SPINS//,/ }; do
	rows+=("delay 1ms|$spin|1|0|delay 1ms"
		"delay 1ms jitter 0.2ms|$spin|1|0.2|delay 1ms 0.2ms distribution normal"
		"delay 10ms|$spin|10|0|delay 10ms"
		"delay 10ms jitter 2ms|$spin|10|2|delay 10ms 2ms distribution normal")
done
# delay_measure ROW: one run of row ROW, as a JSON line of what it saw.
delay_measure() {
	local name spin d j words line t0 c0 c1 h0
	IFS='|' read -r name spin d j words <<<"${rows[$1]}"
	lab_ctl impair clear-all >/dev/null
	lab_ctl impair timer "$spin" >/dev/null
	# shellcheck disable=SC2086 # words are the knob words
	[ -n "$words" ] && lab_ctl impair set --from "$A" --to "$B" $words >/dev/null
	t0=$(date +%s.%N) c0=$(cpu_ticks) h0=$(late_hist)
	line=$(owd_run 3 64 250)
	c1=$(cpu_ticks)
	python3 -c 'import json, sys
a = sys.argv
print(json.dumps({"row": int(a[1]), "p50": float(a[2] or "nan"), "p99": float(a[3] or "nan"),
    "cpu": float(a[4]), "late": [y - x for x, y in zip(json.loads(a[5]), json.loads(a[6]))],
    "cdf": [float(v) for v in a[7].split(",") if v]}))' \
		"$1" "$(field "$line" p50_us)" "$(field "$line" p99_us)" \
		"$(calc "($c1 - $c0) * 100 / $(getconf CLK_TCK) / ($(date +%s.%N) - $t0)")" "$h0" \
		"$(late_hist)" "$(field "$line" cdf)"
}
for ((k = 0; k < ROUNDS; k++)); do
	for i in "${!rows[@]}"; do delay_measure "$i"; done
done >"$WORK/delay.jsonl"
lab_ctl impair clear-all >/dev/null
lab_ctl impair timer 0 >/dev/null
# The table: medians over the rounds; late_p99 from the rounds' histograms pooled (an upper bound).
printf '%s\n' "${rows[@]}" | python3 -c 'import json, statistics, sys
rows = [l.rstrip("\n").split("|") for l in sys.stdin]
runs = [json.loads(l) for l in open(sys.argv[1])]
out = {"date": sys.argv[2], "kernel": sys.argv[3], "cpus": int(sys.argv[4]), "loadavg": sys.argv[5],
       "rounds": len(runs) // max(len(rows), 1), "rows": [], "delay_error_cdf_us": {}}
print("%-24s %5s %9s %9s %8s %9s %9s %8s %8s %5s" % ("rule", "spin", "want_p50", "got_p50",
      "err_p50", "want_p99", "got_p99", "err_p99", "late_p99", "cpu%"))
for i, (name, spin, d, j, _) in enumerate(rows):
    mine = [r for r in runs if r["row"] == i]
    p50 = statistics.median(r["p50"] for r in mine); p99 = statistics.median(r["p99"] for r in mine)
    cpu = statistics.median(r["cpu"] for r in mine)
    late = [sum(c) for c in zip(*(r["late"] for r in mine))]; n = sum(late); acc = 0; lp = "-"
    for b, c in enumerate(late):
        acc += c
        if n and acc >= 0.99 * n:
            lp = "<%d" % (1 << b); break
    w50 = float(d) * 1000; w99 = (float(d) + 2.326 * float(j)) * 1000
    print("%-24s %5s %9.1f %9.1f %8.1f %9.1f %9.1f %8.1f %8s %5.0f" % (name, spin, w50, p50,
          p50 - w50, w99, p99, p99 - w99, lp, cpu))
    out["rows"].append({"rule": name, "spin": spin, "want_p50_us": w50, "got_p50_us": p50,
                        "want_p99_us": w99, "got_p99_us": p99, "err_p99_us": p99 - w99,
                        "late_p99": lp, "cpu_pct": cpu})
    if j == "0" and d != "0" and mine and mine[-1]["cdf"]:
        mode = {"0": "sleep"}.get(spin, spin)
        out["delay_error_cdf_us"]["timer %s, delay %s ms" % (mode, d)] = [
            round(v - w50, 1) for v in mine[-1]["cdf"]]
json.dump(out, open(sys.argv[6], "w"), indent=1)
for i, (name, spin, d, j, _) in enumerate(rows):
    if j == "0" and d != "0":
        print("p99 error per round, %s, spin %s: %s" % (name, spin, " ".join("%.0f" % (r["p99"] -
              float(d) * 1000) for r in runs if r["row"] == i)))' "$WORK/delay.jsonl" \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$WORK/impair.json"
mkdir -p "$BENCH_DIR/results"
out=$BENCH_DIR/results/impair-$(date +%Y%m%d-%H%M%S).json
cp "$WORK/impair.json" "$out" && echo "results written to $out"
command -v gnuplot >/dev/null && "$BENCH_DIR/charts.sh" "$out"
echo
fi

if want rate; then
echo "== rate (Ethernet bits per second that came through) =="
printf '%-12s %-5s %14s %14s %9s\n' rate probe configured achieved error
rate_row() { # RATE PROBE
	local r=$1 got limit=$(($1 / 8 / 20)) line n win payload=1472 # 50 ms of queue
	[ $limit -lt 262144 ] && limit=262144
	[ "$r" -ge 1000000000 ] && payload=8972
	lab_ctl impair clear-all >/dev/null
	lab_ctl impair set --from "$A" --to "$B" rate "$r" limit-bytes "$limit" >/dev/null
	if [ "$2" = udp ]; then
		line=$(owd_run 4 $payload 0)
		n=$(field "$line" received) win=$(field "$line" window)
		got=$(calc "($n - 1) * ($payload + 42) * 8 / $win if $n and float('$win') > 0 else 0")
	else
		got=$(calc "$(tcp_run 6 8948 8) * 9014 / 8948")
	fi
	printf '%-12s %-5s %14d %14.0f %8.2f%%\n' "$(calc "'%g Mbit/s' % ($r / 1e6)")" "$2" "$r" \
		"$got" "$(calc "($got - $r) * 100 / $r")"
}
for i in 0 1; do ip -n "$(lab_ns $i)" link set eth0 mtu 9000; done
for r in 1000000 10000000 100000000 1000000000; do rate_row $r udp; done
for r in 1000000000 2000000000 5000000000; do rate_row $r tcp; done
for i in 0 1; do ip -n "$(lab_ns $i)" link set eth0 mtu 1500; done
echo
fi

want cost || exit 0
echo "== cost: iperf3 TCP a -> b, 5 s, median of $ROUNDS (Gbit/s) =="
none=() rule=()
for ((k = 0; k < ROUNDS; k++)); do
	lab_ctl impair clear-all >/dev/null
	none+=("$(calc "'%.2f' % ($(tcp_run 5) / 1e9)")")
	lab_ctl impair set --from "$A" --to "$B" delay 0ms >/dev/null
	rule+=("$(calc "'%.2f' % ($(tcp_run 5) / 1e9)")")
done
lab_ctl impair clear-all >/dev/null
med() { python3 -c "import statistics, sys; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }
mn=$(med "${none[@]}") mr=$(med "${rule[@]}")
printf 'no rule: %s (runs: %s)\n0 ms delay rule: %s (runs: %s)\ncost: %s%%\n' "$mn" "${none[*]}" \
	"$mr" "${rule[*]}" "$(calc "'%.1f' % (($mn - $mr) * 100 / $mn)")"
