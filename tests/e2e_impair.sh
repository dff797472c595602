#!/usr/bin/env bash
# End to end: impairments on real TAPs between two namespace guests, set with `tapyard ctl impair`.
# A one-way delay adds to the RTT once per delayed direction, and only the direction set counts
# delayed frames; random loss shows in ping's statistics within binomial bounds; a 100 Mbit/s rate
# carries iperf3 TCP at 100 Mbit/s within 3%, counted as the rate counts, in Ethernet bytes (as
# netem does): TCP goodput times 1514/1448 at MTU 1500. Only what the impairment imposes is
# asserted (lower bounds exact, upper bounds loose); nothing about the machine's own speed.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
LAB_PREFIX=tyi$(($$ % 100)) # tyi + a number: two runs at once (two build trees) do not collide
LAB_SUBNET=10.79.9
LAB_STATIC_ARP=1 # no ARP: every frame counted below is the test's
. "$(dirname "$0")/../examples/lab.sh"
lab_require iperf3 python3

IPERF_PID=
e2e_cleanup() {
	local rc=$?
	[ -n "$IPERF_PID" ] && kill "$IPERF_PID" 2>/dev/null && wait "$IPERF_PID" 2>/dev/null
	lab_cleanup
	return $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# ge A B: A >= B (decimals)
ge() { python3 -c "import sys; sys.exit(0 if float('$1') >= float('$2') else 1)" ||
	{ echo "    expected $1 >= $2" >&2; return 1; }; }

lab_start 2 || { echo "not ok - lab start"; exit 1; }
A=$(lab_tap 0) B=$(lab_tap 1)

# ping_rtts FROM TO COUNT INTERVAL: prints "min median" RTT in ms of the replies.
ping_rtts() {
	lab_exec "$1" ping -n -c "$3" -i "$4" -W 2 "$(lab_ip "$2")" |
		python3 -c 'import sys, re, statistics
t = [float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read())]
print("%.3f %.3f" % (min(t), statistics.median(t)) if t else "0 0")'
}

# impair_stat TARGET... NAME: one counter of a target's statistics.
impair_stat() {
	local name=${*: -1}
	lab_ctl --json impair show "${@:1:$#-1}" |
		python3 -c "import json, sys; print(json.load(sys.stdin)['result']['stats']['$name'])"
}

check "guests reach each other" lab_ping 0 1 3

# --- one-way delay: 20 ms on a -> b only
read -r base_min base_med <<<"$(ping_rtts 0 1 50 0.01)"
echo "# baseline RTT: min $base_min ms, median $base_med ms"
lab_ctl impair set --from "$A" --to "$B" delay 20ms >/dev/null
read -r d_min d_med <<<"$(ping_rtts 0 1 50 0.02)"
echo "# a -> b delayed 20 ms: RTT min $d_min ms, median $d_med ms"
check "every RTT carries the 20 ms" ge "$d_min" 20
check "the median RTT is about base + 20 ms (loose upper bound)" \
	ge "$(python3 -c "print($base_med + 20 + 20)")" "$d_med"
check "50 requests were delayed on a -> b" eval '[ "$(impair_stat --from "$A" --to "$B" delayed)" -ge 50 ]'
check "b -> a has no impairment" eval \
	'lab_ctl impair show --from "$B" --to "$A" | grep -q "^$B -> $A:\$"'
read -r r_min r_med <<<"$(ping_rtts 1 0 50 0.02)"
echo "# b pings a (its replies are delayed): RTT min $r_min ms, median $r_med ms"
check "b's pings see the delay once, on a's replies" ge "$r_min" 20
lab_ctl impair set --from "$B" --to "$A" delay 20ms >/dev/null
read -r dd_min dd_med <<<"$(ping_rtts 0 1 50 0.02)"
echo "# both directions delayed 20 ms: RTT min $dd_min ms, median $dd_med ms"
check "both directions: every RTT carries 40 ms" ge "$dd_min" 40
check "both directions: median about base + 40 ms (loose)" \
	ge "$(python3 -c "print($base_med + 40 + 20)")" "$dd_med"

# --- the same with the loop polling for the last 200 us before each deadline
timer_sent() { lab_ctl --json impair timer | python3 -c 'import json, sys
print(json.load(sys.stdin)["result"]["sent"])'; }
sent0=$(timer_sent)
lab_ctl impair timer 200us >/dev/null
check "impair timer reports the spin" eval 'lab_ctl impair timer | grep -q "^spin: 200 us "'
read -r s_min s_med <<<"$(ping_rtts 0 1 50 0.02)"
echo "# both directions delayed 20 ms, spin 200 us: RTT min $s_min ms, median $s_med ms"
check "with the spin, every RTT still carries 40 ms" ge "$s_min" 40
check "the lateness histogram counted 100 more delayed frames" eval \
	'[ $(($(timer_sent) - sent0)) -ge 100 ]'
check "impair timer refuses a spin over 1000 us" eval \
	'! lab_ctl impair timer 2ms 2>&1 | grep -q "^spin" && lab_ctl impair timer | grep -q "^spin: 200 us "'
lab_ctl impair timer 0 >/dev/null
lab_ctl impair clear-all >/dev/null

# --- 10% random loss on a -> b, seeded
lab_ctl counters reset >/dev/null
lab_ctl impair set --from "$A" --to "$B" loss 10% seed 42 >/dev/null
out=$(lab_exec 0 ping -n -q -c 1000 -i 0.002 -W 1 "$(lab_ip 1)")
lost=$(python3 -c 'import re, sys
m = re.search(r"(\d+) packets transmitted, (\d+) received", sys.stdin.read())
print(int(m.group(1)) - int(m.group(2)))' <<<"$out")
echo "# 10% loss: ping lost $lost of 1000"
check "ping loss within 5 sigma of 10% (100 +- 47)" eval '[ "$lost" -ge 53 ] && [ "$lost" -le 147 ]'
check "b's port counted drop_impair_loss = ping's losses" \
	eval '[ "$(lab_counter "$B" drop_impair_loss)" -eq "$lost" ]'
check "the target's statistics agree" eval '[ "$(impair_stat --from "$A" --to "$B" dropped_loss)" -eq "$lost" ]'
lab_ctl impair clear-all >/dev/null

# --- 100 Mbit/s rate on a -> b: iperf3 TCP a -> b
lab_ctl impair set --from "$A" --to "$B" rate 100mbit limit-bytes 2mb >/dev/null
lab_exec 1 iperf3 -s -1 -B "$(lab_ip 1)" >/dev/null 2>&1 &
IPERF_PID=$!
sleep 0.5
bps=$(lab_exec 0 iperf3 -c "$(lab_ip 1)" -t 6 -O 2 -J 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
wait "$IPERF_PID" 2>/dev/null
IPERF_PID=
eth=$(python3 -c "print(${bps:-0} * 1514 / 1448)")
echo "# iperf3 through rate 100mbit: TCP goodput ${bps:-none} bit/s, Ethernet $eth bit/s"
check "iperf3 gets 100 Mbit/s (of Ethernet frames) within 3%" eval \
	'[ -n "$bps" ] && ge "$eth" 97e6 && ge 103e6 "$eth"'
lab_ctl impair clear-all >/dev/null

check "no impairment is left" eval '[ "$(lab_ctl impair list)" = "no impairments" ]'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
