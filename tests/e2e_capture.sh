#!/usr/bin/env bash
# End to end: captures on a running daemon through `tapyard ctl capture ...`, two namespace guests
# on real TAPs. A NIC capture while the guests ping sees exactly the ICMP requests and replies in
# the right directions (eBPF taps, mode bpf); a bridge capture sees every NIC; a frame cut by a
# partition shows as dropped by the partition; the pcapng file reads back in tcpdump; the loop
# path (mode loop) gives the same frames; a capture only observes (a tc filter after its tap still
# drops what it drops); nothing stays attached after stop, nor after the daemon
# is killed -9 and `tapyard cleanup` ran (tc filter show inside the namespaces proves it).
#
# The TAPs are made persistent before the daemon opens them, so that they (and any tap on them)
# outlive a kill -9, as a hypervisor's TAPs would.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
LAB_PREFIX=typ
LAB_SUBNET=10.81.0
LAB_STATIC_ARP=1 # no ARP: the captures below hold exactly the pings
. "$(dirname "$0")/../examples/lab.sh"
lab_require tc
lab_trap
OUT=$(mktemp -d /tmp/typ-e2e.XXXXXX)
trap 'rm -rf "$OUT"; lab_cleanup' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }

A=$(lab_tap 0) B=$(lab_tap 1)
for t in "$A" "$B"; do ip tuntap add dev "$t" mode tap vnet_hdr || exit 1; done
lab_start 3 || { echo "not ok - lab start"; exit 1; }
C=$(lab_tap 2)

# The tc filters on guest i's eth0, both hooks (empty when nothing is attached).
filters() { lab_exec "$1" tc filter show dev eth0 ingress; lab_exec "$1" tc filter show dev eth0 egress; }
# Capture id's frames as lines without their timestamps (ICMP id/seq are not in them).
lines() { lab_ctl capture read "$1" --max 100000 | cut -d' ' -f2-; }
count() { grep -c -- "$2" <<<"$1"; }
# Wait until capture id holds n frames (the loop drains the taps asynchronously).
wait_frames() {
	for _ in $(seq 100); do
		[ "$(lab_ctl capture read "$1" --max 100000 | wc -l)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
mode_of() { lab_ctl capture list | awk -v id="$1" '$1 == id { print $3 }'; }

# --- a NIC capture sees exactly the pings, in the guest's directions (eBPF taps)
id=$(lab_ctl capture start "$A" --snaplen 256)
check "capture on $A runs in mode bpf" eq "$(mode_of "$id")" bpf
check "the tap is attached inside guest 0's namespace" eval 'filters 0 | grep -q cap_egress'
check "guest 0 pings guest 1 three times" lab_ping 0 1 3
wait_frames "$id" 6
bpf_lines=$(lines "$id")
check "6 frames: 3 requests and 3 replies" eq "$(wc -l <<<"$bpf_lines")" 6
check "3 echo requests sent by guest 0 (tx)" eq "$(count "$bpf_lines" "^$A tx .* ICMP echo request len 98")" 3
check "3 echo replies received by guest 0 (rx)" eq "$(count "$bpf_lines" "^$A rx .* ICMP echo reply len 98")" 3
check "requests go from .1 to .2" eq "$(count "$bpf_lines" "IPv4 $(lab_ip 0) > $(lab_ip 1) ICMP echo request")" 3
stop=$(lab_ctl capture stop "$id")
check "stop reports 6 frames, 0 dropped" eq "$stop" "frames 6 dropped 0 evicted 0"
check "nothing attached after stop" eq "$(filters 0)" ""

# --- a capture only observes: a tc filter after it still runs (one that drops every frame)
if [ -f "${TC_DROP_OBJ:-}" ]; then
	lab_exec 0 tc qdisc add dev eth0 clsact
	lab_exec 0 tc filter add dev eth0 ingress prio 50000 bpf da obj "$TC_DROP_OBJ" sec tc
	check "a drop filter on guest 0's ingress cuts its pings" eval '! lab_ping 0 1 1'
	id=$(lab_ctl capture start "$A" --snaplen 128)
	check "the capture's filter runs before the drop filter (a lower pref)" eval \
		'[ "$(lab_exec 0 tc filter show dev eth0 ingress | awk "/cap_ingress/ { print \$5 }")" -lt 50000 ]'
	check "while the capture runs, the drop filter still drops" eval '! lab_ping 0 1 1'
	wait_frames "$id" 2
	check "the capture saw the reply the drop filter dropped after it" \
		eq "$(count "$(lines "$id")" "^$A rx .* echo reply")" 1
	lab_ctl capture stop "$id" >/dev/null
	check "the capture leaves the drop filter in place" eval \
		'lab_exec 0 tc filter show dev eth0 ingress | grep -q tc_drop'
	lab_exec 0 tc qdisc del dev eth0 clsact
	check "guest 0 pings again without the drop filter" lab_ping 0 1 1
else
	echo "ok - # SKIP no tc_drop.bpf.o (clang missing): a later filter's run is not checked"
fi

# --- the loop path gives the same frames
id=$(lab_ctl capture start "$A" --snaplen 256 --mode loop)
check "capture with --mode loop runs in mode loop" eq "$(mode_of "$id")" loop
check "guest 0 pings guest 1 three times (loop)" lab_ping 0 1 3
wait_frames "$id" 6
loop_lines=$(lines "$id")
check "mode loop shows the same frames as mode bpf" eq "$loop_lines" "$bpf_lines"
lab_ctl capture stop "$id" >/dev/null

# --- a bridge capture sees every NIC
id=$(lab_ctl capture start --bridge "${LAB_PREFIX}br")
check "guest 1 pings guest 0 once" lab_ping 1 0 1
wait_frames "$id" 4
br_lines=$(lines "$id")
check "bridge capture: 4 frames" eq "$(wc -l <<<"$br_lines")" 4
check "bridge: $B sent the request" eq "$(count "$br_lines" "^$B tx .* echo request")" 1
check "bridge: $A received the request" eq "$(count "$br_lines" "^$A rx .* echo request")" 1
check "bridge: $A sent the reply" eq "$(count "$br_lines" "^$A tx .* echo reply")" 1
check "bridge: $B received the reply" eq "$(count "$br_lines" "^$B rx .* echo reply")" 1
check "both guests' namespaces have a tap" eval 'filters 0 | grep -q cap_ && filters 1 | grep -q cap_'

# --- a partitioned frame shows as dropped by the partition (same bridge capture)
lab_ctl partition cut "$A" "$B" --oneway >/dev/null
check "guest 0 gets no reply across the cut" eval '! lab_ping 0 1 1'
wait_frames "$id" 6
br_lines=$(lines "$id")
check "the request left guest 0 (tx)" eq "$(count "$br_lines" "^$A tx .* echo request")" 1
check "then the switch dropped it: drop_partition, peer $B" \
	eq "$(count "$br_lines" "^$A drop .* echo request len 98 (dropped: drop_partition, peer $B)")" 1
check "guest 1 never received it" eq "$(count "$br_lines" "^$B rx .* echo request")" 0
lab_ctl partition heal "$A" "$B" --oneway >/dev/null
lab_ctl capture stop "$id" >/dev/null
check "nothing attached after the bridge capture stops" eq "$(filters 0)$(filters 1)" ""

# --- the pcapng file reads back in tcpdump (written as frames come, and saved)
id=$(lab_ctl capture start "$A" --write "$OUT/live.pcapng")
check "guest 0 pings guest 1 three times (file)" lab_ping 0 1 3
# no waiting: save and stop take everything the taps recorded before them
lab_ctl capture save "$id" "$OUT/saved.pcapng" >/dev/null
check "stop right after the pings counts all 6 frames" \
	eq "$(lab_ctl capture stop "$id")" "frames 6 dropped 0 evicted 0"
command -v tcpdump >/dev/null || echo "ok - # SKIP tcpdump is not installed: files not read back"
for f in live saved; do
	command -v tcpdump >/dev/null || break
	dump=$(tcpdump -nn -r "$OUT/$f.pcapng" 2>"$OUT/$f.err")
	check "tcpdump reads the $f file" eq "$?" 0
	check "the $f file has 3 requests" eq "$(count "$dump" "ICMP echo request")" 3
	check "the $f file has 3 replies" eq "$(count "$dump" "ICMP echo reply")" 3
	check "tcpdump warns of nothing in the $f file" eq "$(grep -ci warn "$OUT/$f.err")" 0
done
if command -v tshark >/dev/null; then
	check "tshark reads the file without a warning" \
		eq "$(tshark -r "$OUT/live.pcapng" 2>&1 >/dev/null | grep -vc 'Running as user')" 0
fi

# --- follow prints frames as they come
lab_ctl capture start "$A" >"$OUT/id"
id=$(cat "$OUT/id")
lab_ctl capture follow "$id" >"$OUT/follow" &
fpid=$!
lab_ping 0 1 2
wait_frames "$id" 4
lab_ctl capture stop "$id" >/dev/null
wait "$fpid"
check "follow printed 4 lines and ended when the capture stopped" eq "$(wc -l <"$OUT/follow")" 4

# --- a capture does not keep a guest alive: its namespace goes, the port is gone, stop works
id=$(lab_ctl capture start "$C")
ip netns del "$(lab_ns 2)"
for _ in $(seq 50); do lab_ctl port list | grep "$C" | grep -q gone && break; sleep 0.1; done
check "the deleted guest's port is gone while a capture watched it" \
	eval 'lab_ctl port list | grep "$C" | grep -q gone'
check "stopping that capture works" eval 'lab_ctl capture stop "$id" >/dev/null'

# --- kill -9: the taps stay attached; tapyard cleanup removes them
id=$(lab_ctl capture start "$A") && id=$(lab_ctl capture start "$B")
check "both taps attached before the kill" eval 'filters 0 | grep -q cap_ && filters 1 | grep -q cap_'
kill -KILL "$LAB_PID"
wait "$LAB_PID" 2>/dev/null
LAB_PID=
check "the taps outlive the killed daemon" eval 'filters 0 | grep -q cap_egress'
"$TAPYARD" cleanup --socket "$LAB_SOCK" >"$OUT/cleanup" 2>&1
check "tapyard cleanup succeeds" eq "$?" 0
check "cleanup said it removed the tc filters" eval '[ "$(grep -c tc "$OUT/cleanup")" -ge 4 ]'
check "nothing attached in guest 0 after cleanup" eq "$(filters 0)" ""
check "nothing attached in guest 1 after cleanup" eq "$(filters 1)" ""
check "the clsact qdisc tapyard added is gone too" \
	eval '! lab_exec 0 tc qdisc show dev eth0 | grep -q clsact && ! lab_exec 1 tc qdisc show dev eth0 | grep -q clsact'

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
