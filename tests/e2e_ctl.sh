#!/usr/bin/env bash
# End to end: `tapyard daemon` with TAPs in three namespace guests, driven only through
# `tapyard ctl`. UDP both ways across a one-way partition, isolate and heal, a flapping link,
# counters equal to the traffic sent, `ctl watch`, a start from --config (and a refused bad one),
# --group, a second daemon refused, kill -9 then `tapyard cleanup` leaving nothing, 100
# concurrent `ctl status` during a ping without loss, exit codes.
#
# UDP goes to a "sink" address of each guest: an address no guest has, with a permanent
# neighbour entry for the guest's MAC. The guest's kernel receives (and counts) the frame and
# drops it quietly, without the ICMP errors a closed port would send back, so counts are exact.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
LAB_PREFIX=tyd3
LAB_STATIC_ARP=1
. "$(dirname "$0")/../examples/lab.sh"
lab_require setpriv

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }
has() { grep -q -- "$2" <<<"$1" || { echo "    '$2' not in: $1" >&2; return 1; }; }

work=$(mktemp -d /tmp/tyd3-e2e-XXXXXX)
chmod 755 "$work"
EXTRA_PIDS=()
e2e_cleanup() {
	local rc=$? p
	for p in "${EXTRA_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for s in "$work"/*.sock; do [ -e "$s" ] && "$TAPYARD" cleanup --socket "$s" >/dev/null 2>&1; done
	ip netns del tyd3f0 2>/dev/null
	for t in tyd3c0 tyd3c1 tyd3c2 tyd3g0; do ip link del "$t" 2>/dev/null; done
	rm -rf "$work"
	(exit $rc)
	lab_cleanup
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_daemon SOCKET ARGS...: a daemon in the background, waiting until it answers; sets DPID.
start_daemon() {
	local sock=$1
	shift
	"$TAPYARD" daemon --socket "$sock" "$@" 2>>"$work/daemons.log" &
	DPID=$!
	EXTRA_PIDS+=("$DPID")
	for _ in $(seq 100); do
		"$TAPYARD" ctl --socket "$sock" status >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

sink_ip() { echo "$LAB_SUBNET.$(($1 + 101))"; }
# udp I J N [SIZE]: guest I sends N datagrams of SIZE bytes (default 100) to guest J's sink.
udp() {
	lab_exec "$1" bash -c 'for ((k = 0; k < $1; k++)); do printf "%*s" "$2" "" >"/dev/udp/$3/9"; done' \
		- "$3" "${4:-100}" "$(sink_ip "$2")"
}
# Wait until the loop has counted what was sent, then read: settle PORT COUNTER.
settle() { sleep 0.2; lab_counter "$1" "$2"; }
guest_rx() { lab_guest_stat "$1" rx_packets; }

lab_start 3 --pidfile "$work/lab.pid" || { echo "not ok - lab start"; exit 1; }
A=$(lab_tap 0) B=$(lab_tap 1) C=$(lab_tap 2)
STATE=${LAB_SOCK%.sock}.state
for i in 0 1 2; do for j in 0 1 2; do
	[ $i = $j ] && continue
	ip -n "$(lab_ns "$i")" neigh replace "$(sink_ip "$j")" dev eth0 nud permanent \
		lladdr "$(lab_exec "$j" cat /sys/class/net/eth0/address)"
done; done

# --- the daemon's own files
check "pidfile holds the daemon's pid" eq "$(cat "$work/lab.pid")" "$LAB_PID"
check "socket is mode 0600" eq "$(stat -c %a "$LAB_SOCK")" 600
check "record lists the three TAPs it created" \
	eval '[ "$(grep -c "\"kind\": \"tap\"" "$STATE")" = 3 ] && grep -q "\"pid\": $LAB_PID" "$STATE"'

# --- one-way partition A -> B, UDP both ways
lab_ctl counters reset >/dev/null
b0=$(guest_rx 1) a0=$(guest_rx 0)
check "partition cut --oneway" lab_ctl partition cut "$A" "$B" --oneway
check "partition list shows only A -> B" eq "$(lab_ctl partition list | tail -n +2 | tr -s ' ')" "$A -> $B"
udp 0 1 5
check "A -> B: A's port dropped 5 to the partition" eq "$(settle "$A" drop_partition)" 5
check "A -> B: B's port delivered nothing" eq "$(lab_counter "$B" rx_packets)" 0
check "A -> B: guest B's kernel received nothing" eq "$(guest_rx 1)" "$b0"
udp 1 0 5
check "B -> A: A's port delivered 5" eq "$(settle "$A" rx_packets)" 5
check "B -> A: guest A's kernel received 5" eq "$(($(guest_rx 0) - a0))" 5
lab_ctl partition heal "$A" "$B" --oneway >/dev/null
udp 0 1 5
check "A -> B after heal: B's port delivered 5" eq "$(settle "$B" rx_packets)" 5

# --- isolate C, then heal
lab_ctl counters reset >/dev/null
check "partition isolate" lab_ctl partition isolate "$C"
udp 0 2 3; udp 1 2 3; udp 2 0 3
check "isolated: C received nothing" eq "$(settle "$C" rx_packets)" 0
check "isolated: A received nothing from C" eq "$(lab_counter "$A" rx_packets)" 0
check "isolated: C's 3 and the others' 6 frames were dropped" \
	eq "$(($(lab_counter "$A" drop_partition) + $(lab_counter "$B" drop_partition) + \
		$(lab_counter "$C" drop_partition)))" 9
lab_ctl partition unisolate "$C" >/dev/null
udp 0 2 3; udp 2 1 3
check "unisolated: C received A's 3" eq "$(settle "$C" rx_packets)" 3
check "unisolated: B received C's 3" eq "$(lab_counter "$B" rx_packets)" 3
check "unisolated: no cut path left" eq "$(lab_ctl partition list)" ""

# --- flap a link
for _ in 1 2 3 4 5; do lab_ctl link set "$B" down && lab_ctl link set "$B" up; done >/dev/null
lab_ctl link set "$B" down >/dev/null
lab_ctl counters reset >/dev/null
check "link down: guest B sees NO-CARRIER" eval 'lab_exec 1 ip link show eth0 | grep -q NO-CARRIER'
udp 0 1 4
check "link down: B's port delivered nothing" eq "$(settle "$B" rx_packets)" 0
check "link down: counted as drop_link_down" eval '[ "$(lab_counter "$B" drop_link_down)" -ge 4 ]'
lab_ctl link set "$B" up >/dev/null
check "link up: carrier back" eval '! lab_exec 1 ip link show eth0 | grep -q NO-CARRIER'
check "link up: port list says up" eval 'lab_ctl port list | grep "^$B " | grep -q " up "'
udp 0 1 4
check "link up: B's port delivered 4" eq "$(settle "$B" rx_packets)" 4

# --- counters match the traffic: 7 datagrams of 200 bytes = 7 frames of 14+20+8+200 bytes
lab_ctl counters reset >/dev/null
a_tx=$(lab_guest_stat 0 tx_packets) b_rx=$(guest_rx 1)
udp 0 1 7 200
check "A's port: tx_packets 7" eq "$(settle "$A" tx_packets)" 7
check "A's port: tx_bytes 7 * 242" eq "$(lab_counter "$A" tx_bytes)" $((7 * 242))
check "B's port: rx_packets 7" eq "$(lab_counter "$B" rx_packets)" 7
check "B's port: rx_bytes 7 * 242" eq "$(lab_counter "$B" rx_bytes)" $((7 * 242))
check "guest A's kernel sent 7" eq "$(($(lab_guest_stat 0 tx_packets) - a_tx))" 7
check "guest B's kernel received 7" eq "$(($(guest_rx 1) - b_rx))" 7
out=$(lab_ctl watch "$A" "$B" --interval 0.2 --count 2)
check "watch: two samples, a row per port, rates" \
	eval 'eq "$(grep -c "^PORT .*RX_PPS.*TX_BIT/S" <<<"$out")" 2 && eq "$(grep -c "^$A " <<<"$out")" 2'
esc=$'\e'
check "watch: no screen codes when not on a terminal" eval '! grep -q "$esc" <<<"$out"'
check "watch: the counts of A" eval 'grep "^$A " <<<"$out" | tail -1 | grep -q "^$A  *0  *0  *0  *7 "'

# --- 100 concurrent ctl status while a ping runs: no loss, every status answered
lab_exec 0 ping -c 40 -i 0.05 -q "$(lab_ip 1)" >"$work/ping.out" 2>&1 &
ping_pid=$!
pids=()
for _ in $(seq 100); do lab_ctl status >/dev/null 2>>"$work/status.err" & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
wait "$ping_pid"
check "100 concurrent status: all answered" eq "$failed" 0
check "ping during them: 0% loss" has "$(cat "$work/ping.out")" " 0% packet loss"

# --- a second daemon on the same socket is refused; cleanup refuses a live daemon
err=$("$TAPYARD" daemon --socket "$LAB_SOCK" --bridge tyd3zz 2>&1); rc=$?
check "second daemon refused (exit 1)" eq "$rc" 1
check "second daemon says why" has "$err" "already serving"
err=$("$TAPYARD" cleanup --socket "$LAB_SOCK" 2>&1); rc=$?
check "cleanup refuses while the daemon runs (exit 1)" eq "$rc" 1
check "cleanup says the daemon is running" has "$err" "pid $LAB_PID.*still running"
check "the daemon still answers" eval 'lab_ctl status >/dev/null'

# --- a socket directory a user owns: no lock through a planted link, no planted record obeyed
mkdir "$work/u" && chown 65534:65534 "$work/u"
echo keep >"$work/victim2"
setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$work/victim2" "$work/u/lab.sock.lock"
printf '{"pid":0,"pidfile":"%s","objects":[{"kind":"netns","name":"tyd3-planted","extra":{}}]}' \
	"$work/victim2" >"$work/u/lab.state"
chown 65534:65534 "$work/u/lab.state"
err=$("$TAPYARD" daemon --socket "$work/u/lab.sock" --bridge tyd3zu 2>&1); rc=$?
check "a socket directory a user owns is refused (exit 1)" eq "$rc" 1
check "... saying whose it is" has "$err" "owned by uid 65534"
err=$("$TAPYARD" cleanup --socket "$work/u/lab.sock" 2>&1); rc=$?
check "cleanup refuses it too (exit 1)" eq "$rc" 1
check "the planted lock's and record's victim is untouched" eq "$(cat "$work/victim2")" keep
check "the planted record named nothing that was touched" eval '[ -e "$work/u/lab.state" ]'

# --- --group: mode 0660 of the group; members served, others kept out
G=$work/g.sock
start_daemon "$G" --group nogroup --bridge tyd3gb --tap tyd3g0
GPID=$DPID
check "--group: socket mode 0660, group nogroup" eq "$(stat -c '%a %G' "$G")" "660 nogroup"
as_nobody() { setpriv --reuid=65534 "$@" "$TAPYARD" ctl --socket "$G" status >/dev/null; }
check "--group: a member (primary group) is served" as_nobody --regid=65534 --clear-groups
check "--group: a member (supplementary group) is served" as_nobody --regid=1 --groups=65534
as_nobody --regid=1 --clear-groups 2>/dev/null
check "--group: a non-member cannot connect (exit 3)" eq "$?" 3
# What a member may not do: run anything as root, change the daemon, write where it could not.
as_member() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
member_raw() {
	as_member /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())' "$G" "$1"
}
out=$(as_member "$TAPYARD" ctl --socket "$G" log set debug 2>&1); rc=$?
check "--group: a member may not change the daemon's log level (exit 1)" eq "$rc" 1
check "--group: the refusal names the command" has "$out" "permission denied: log/set"
out=$(member_raw '{"cmd":"guest/run","args":{"guest":"tyd3x","cmd":"id"}}')
check "--group: a member may not run commands as root (guest/run)" has "$out" '"EPERM"'
check "--group: root still may" "$TAPYARD" ctl --socket "$G" log set info
mkdir "$work/m" && chown 65534:65534 "$work/m"
echo keep >"$work/victim"
as_member ln -s "$work/victim" "$work/m/link.pcapng"
out=$(as_member "$TAPYARD" ctl --socket "$G" capture start tyd3g0 --write "$work/m/link.pcapng" 2>&1)
check "--group: a capture file behind a symbolic link is refused" has "$out" "symbolic link"
check "--group: ... and the link's target is untouched" eq "$(cat "$work/victim")" keep
out=$(as_member "$TAPYARD" ctl --socket "$G" capture start tyd3g0 --write "$work/root.pcapng" 2>&1)
check "--group: a member cannot make the daemon write where it could not" \
	eval 'has "$out" "Permission denied" && [ ! -e "$work/root.pcapng" ]'
id=$(as_member "$TAPYARD" ctl --socket "$G" capture start tyd3g0 --write "$work/m/ok.pcapng" 2>&1)
check "--group: a member's capture file is its own" \
	eq "$(stat -c %u "$work/m/ok.pcapng" 2>&1)" 65534
as_member "$TAPYARD" ctl --socket "$G" capture stop "$id" >/dev/null 2>&1
kill -TERM "$GPID"; wait "$GPID"; rc=$?
check "--group daemon stops cleanly" eq "$rc" 0
check "--group daemon removed its socket, record and TAP" \
	eval '[ ! -e "$G" ] && [ ! -e "$work/g.state" ] && ! ip link show tyd3g0 >/dev/null 2>&1'

# --- start from --config, combined with --bridge/--tap
cat >"$work/lab.json" <<'JSON'
{"bridges": [{"name": "tyd3cbr", "fdb_age_ms": 60000,
              "ports": [{"name": "tyd3c0"}, {"name": "tyd3c1", "existing": false, "link": "down"}]}],
 "partitions": [{"from": ["tyd3c0"], "to": ["tyd3c1"], "oneway": true}],
 "commands": [{"cmd": "counters/reset"}]}
JSON
K=$work/k.sock
start_daemon "$K" --config "$work/lab.json" --bridge tyd3cbr --tap tyd3c2 --pidfile "$work/k.pid"
KPID=$DPID
kctl() { "$TAPYARD" ctl --socket "$K" "$@"; }
check "--config: bridge with three ports (two from the file, one from --tap)" \
	eq "$(kctl bridge list | tail -1 | tr -s ' ')" "tyd3cbr tyd3c0 tyd3c1 tyd3c2"
check "--config: tyd3c1 is down" eval 'kctl port list | grep "^tyd3c1 " | grep -q " down "'
check "--config: the one-way cut" eq "$(kctl partition list | tail -n +2 | tr -s ' ')" "tyd3c0 -> tyd3c1"
echo '{"bridges": [{"name": "tyd3cx", "ports": [{"name": "tyd3c9"}, {"name": 5}]}]}' >"$work/bad.json"
err=$("$TAPYARD" daemon --socket "$work/bad.sock" --config "$work/bad.json" 2>&1); rc=$?
check "bad config refused (exit 1)" eq "$rc" 1
check "bad config names the JSON path" has "$err" "config: bridges\[0\].ports\[1\].name: expected a string"
check "bad config left nothing" \
	eval '! ip link show tyd3c9 >/dev/null 2>&1 && [ ! -e "$work/bad.sock" ] && [ ! -e "$work/bad.state" ]'

# --- kill -9, then tapyard cleanup leaves nothing. A guest moved tyd3c0 into its namespace.
ip netns add tyd3f0
ip link set tyd3c0 netns tyd3f0
ip -n tyd3f0 link set tyd3c0 name eth0
# What a guest module records for its namespace (this daemon runs none): add it to the record.
sed -i 's/^  "objects": \[$/  "objects": [ {"kind": "netns", "name": "tyd3f0", "extra": {}},/' "$work/k.state"
check "the record now lists the namespace" grep -q '"name": "tyd3f0"' "$work/k.state"
kill -KILL "$KPID"; wait "$KPID" 2>/dev/null
out=$("$TAPYARD" cleanup --socket "$K" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "cleanup after kill -9 exits 0" eq "$rc" 0
check "cleanup removed the namespace" has "$out" "removed netns tyd3f0"
check "cleanup removed socket, pidfile and record" \
	eval 'has "$out" "removed socket" && has "$out" "removed pidfile" && has "$out" "removed record"'
check "no socket, record, pidfile or lock left" \
	eval '[ ! -e "$K" ] && [ ! -e "$work/k.state" ] && [ ! -e "$work/k.pid" ] && [ ! -e "$K.lock" ]'
sleep 0.5 # a dead ring releases its files asynchronously: give the kernel a moment
check "no TAP left, in the host or the guest" \
	eval '! ip -br link | grep -q "^tyd3c" && ! ip netns list | grep -q "^tyd3f0"'
out=$("$TAPYARD" cleanup --socket "$K" 2>&1); rc=$?
check "a second cleanup has nothing to do" eval '[ $rc = 0 ] && has "$out" "nothing to clean up"'

# --- exit codes
lab_ctl frobnicate >/dev/null 2>&1; check "ctl: unknown command exits 2" eq "$?" 2
lab_ctl link set "$A" sideways >/dev/null 2>&1; check "ctl: bad word exits 2" eq "$?" 2
lab_ctl link set nosuchport up >/dev/null 2>&1; check "ctl: failed command exits 1" eq "$?" 1
"$TAPYARD" ctl --socket "$work/none.sock" status >/dev/null 2>&1
check "ctl: no daemon exits 3" eq "$?" 3
"$TAPYARD" cleanup --bogus >/dev/null 2>&1; check "cleanup: bad option exits 2" eq "$?" 2
"$TAPYARD" daemon --bogus >/dev/null 2>&1; check "daemon: bad option exits 2" eq "$?" 2
for h in "" "daemon" "ctl" "ctl watch" "ctl partition" "cleanup"; do
	# shellcheck disable=SC2086
	"$TAPYARD" $h --help >/dev/null; check "tapyard $h --help exits 0" eq "$?" 0
done

# --- SIGTERM: the lab daemon removes its TAPs, socket, record and pidfile
kill -TERM "$LAB_PID"; wait "$LAB_PID"; rc=$?; LAB_PID=
check "daemon exits 0 on SIGTERM" eq "$rc" 0
check "socket, record and pidfile removed" \
	eval '[ ! -e "$LAB_SOCK" ] && [ ! -e "$STATE" ] && [ ! -e "$work/lab.pid" ]'
check "TAP of guest A deleted" eval '! ip -n "$(lab_ns 0)" link show eth0 >/dev/null 2>&1'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
