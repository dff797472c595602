#!/usr/bin/env bash
# End to end: `tapyard daemon` with real TAPs in three namespace guests, driven through `tapyard ctl`.
# Pings, a one-way partition, link down with NO-CARRIER, counters against the guests' own kernel
# counters, a guest whose namespace is deleted, the record kept by port add/del, start-up errors
# (among them a live daemon's record), two daemons started at once on one socket, a dead daemon's
# leftovers removed at start, no leftovers.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
LAB_PREFIX=tye2d
LAB_STATIC_ARP=1 # no ARP traffic: every counter below is exact
. "$(dirname "$0")/../examples/lab.sh"
lab_require
lab_trap
RACE=() # the two daemons started at once, below
# Runtime files go in a directory only root may write (the daemon refuses /tmp itself).
RUNDIR=$(mktemp -d /tmp/tyqe2d-run-XXXXXX) && chmod 755 "$RUNDIR"
trap 'for p in "${RACE[@]}"; do kill -KILL "$p" 2>/dev/null; done; ip link del tyqe2dz 2>/dev/null
	ip link del tyqe2dr0 2>/dev/null; rm -rf "$RUNDIR"; lab_cleanup' EXIT # a dead daemon's leftover, planted below

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }

lab_start 3 || { echo "not ok - lab start"; exit 1; }
A=$(lab_tap 0) B=$(lab_tap 1) C=$(lab_tap 2)

# --- everyone reaches everyone
for i in 0 1 2; do for j in 0 1 2; do
	[ $i = $j ] && continue
	check "guest $i pings guest $j" lab_ping $i $j 2
done; done

# --- one-way partition A -> B: counters prove the direction
lab_ctl counters reset >/dev/null
lab_ctl partition cut "$A" "$B" --oneway >/dev/null
check "a -> b gets no reply under a one-way cut a->b" eval '! lab_ping 0 1 3'
check "b's port received nothing from a" eq "$(lab_counter "$B" rx_packets)" 0
check "a's port counted 3 partition drops" eq "$(lab_counter "$A" drop_partition)" 3
lab_ctl counters reset >/dev/null
check "b -> a gets no reply either (the replies are cut)" eval '! lab_ping 1 0 3'
check "a received b's 3 requests (b -> a is open)" eq "$(lab_counter "$A" rx_packets)" 3
check "a's 3 replies were dropped by the partition" eq "$(lab_counter "$A" drop_partition)" 3
check "c still reaches b" lab_ping 2 1
lab_ctl partition heal "$A" "$B" --oneway >/dev/null
check "a -> b works after heal" lab_ping 0 1 2

# --- two-way cut, isolate
lab_ctl partition cut "$A" "$C" >/dev/null
check "two-way cut blocks a -> c" eval '! lab_ping 0 2'
check "two-way cut blocks c -> a" eval '! lab_ping 2 0'
lab_ctl partition heal "$A" "$C" >/dev/null
check "a -> c after heal" lab_ping 0 2 2

# --- link down: blocks, guest sees NO-CARRIER, link up restores
lab_ctl link set "$C" down >/dev/null
check "guest c sees NO-CARRIER" eval 'lab_exec 2 ip link show eth0 | grep -q NO-CARRIER'
check "a -> c blocked while c is down" eval '! lab_ping 0 2'
lab_ctl link set "$C" up >/dev/null
check "guest c carrier back" eval '! lab_exec 2 ip link show eth0 | grep -q NO-CARRIER'
check "a -> c after link up" lab_ping 0 2 3

# --- counters match what the guests' kernels counted: reset, send known traffic, compare deltas
sleep 0.3
lab_ctl counters reset >/dev/null
declare -A base
for i in 0 1 2; do for s in tx_packets rx_packets tx_bytes rx_bytes; do
	base[$i.$s]=$(lab_guest_stat $i $s)
done; done
for i in 0 1 2; do for j in 0 1 2; do
	[ $i = $j ] || lab_exec $i ping -c 5 -i 0.05 -s 1000 -q "$(lab_ip $j)" >/dev/null
done; done
sleep 0.3
for i in 0 1 2; do
	t=$(lab_tap $i)
	for s in tx_packets rx_packets tx_bytes rx_bytes; do
		check "port $t $s = guest $i eth0 $s (delta)" \
			eq "$(lab_counter "$t" $s)" "$(($(lab_guest_stat $i $s) - ${base[$i.$s]}))"
	done
done
check "guest a sent at least the 20 pings of 1000 bytes" \
	eval '[ "$(lab_counter "$A" tx_bytes)" -ge $((20 * 1000)) ]'

# --- a guest's namespace disappears: its port is gone, the others keep working
ip netns del "$(lab_ns 2)"
for _ in $(seq 50); do lab_ctl port list 2>/dev/null | grep "$C" | grep -q gone && break; sleep 0.1; done
check "port of the deleted guest is reported gone" eval 'lab_ctl port list | grep "$C" | grep -q gone'
check "a -> b still works" lab_ping 0 1 2
check "b -> a still works" lab_ping 1 0 2
check "daemon still answers" lab_ctl status

# --- the record follows port add and port del
STATE=${LAB_SOCK%.sock}.state
lab_ctl port add "${LAB_PREFIX}br" tyqe2dn >/dev/null
check "port add: the TAP it created is recorded" grep -q '"name": "tyqe2dn"' "$STATE"
lab_ctl port del tyqe2dn >/dev/null
check "port del: the TAP is no longer recorded" eval '! grep -q tyqe2dn "$STATE"'

# --- a live daemon's record: another daemon is refused, even once the socket is gone
rm "$LAB_SOCK"
err=$("$TAPYARD" daemon --socket "$LAB_SOCK" --bridge x 2>&1); rc=$?
check "a live daemon's record refused, naming its pid" \
	eval '[ $rc = 1 ] && grep -q "another tapyard daemon (pid $LAB_PID) owns" <<<"$err"'
check "in one line" eq "$(wc -l <<<"$err")" 1

# --- stop: TAPs the daemon created are deleted
kill -TERM "$LAB_PID"; wait "$LAB_PID"; rc=$?; LAB_PID=
check "daemon exits 0 on SIGTERM" eq "$rc" 0
check "TAP of guest a deleted" eval '! ip -n "$(lab_ns 0)" link show eth0 >/dev/null 2>&1'
check "socket and record removed" eval '[ ! -e "$LAB_SOCK" ] && [ ! -e "$STATE" ]'

# --- two daemons started at once on one socket: one serves, the other stops before it touches
# the record, the TAP or the socket (the lock next to the socket), and says who owns it
S2=$RUNDIR/race.sock
e1=$(mktemp /tmp/tyqe2d-XXXXXX) e2=$(mktemp /tmp/tyqe2d-XXXXXX)
"$TAPYARD" daemon --socket "$S2" --bridge tyqe2drb --tap tyqe2dr0 2>"$e1" & RACE+=($!)
"$TAPYARD" daemon --socket "$S2" --bridge tyqe2drb --tap tyqe2dr0 2>"$e2" & RACE+=($!)
for _ in $(seq 100); do
	kill -0 "${RACE[0]}" 2>/dev/null && kill -0 "${RACE[1]}" 2>/dev/null || break
	sleep 0.05
done
sleep 0.3
if kill -0 "${RACE[0]}" 2>/dev/null; then win=${RACE[0]} lose=${RACE[1]} lerr=$e2; else
	win=${RACE[1]} lose=${RACE[0]} lerr=$e1; fi
wait "$lose"; rc=$?
check "of two daemons started at once, one stops with 1" eq "$rc" 1
check "saying another daemon owns the socket" grep -q "another tapyard daemon.* owns" "$lerr"
check "the other serves, and the record is its own" eval \
	'"$TAPYARD" ctl --socket "$S2" status >/dev/null &&
	grep -q "\"pid\": $win\b" "${S2%.sock}.state" && ip link show tyqe2dr0 >/dev/null'
kill -TERM "$win"; wait "$win"
check "after it stops: no TAP, socket, record or lock" eval \
	'! ip link show tyqe2dr0 >/dev/null 2>&1 && [ ! -e "$S2" ] && [ ! -e "${S2%.sock}.state" ] &&
	[ ! -e "$S2.lock" ]'
RACE=()
rm -f "$e1" "$e2"

# --- a dead daemon's record: what it lists is removed at start, and said so
sh -c 'exit 0' & dead=$!; wait $dead
ip tuntap add dev tyqe2dz mode tap
printf '{"pid": %d, "starttime": 0, "objects": [{"kind": "tap", "name": "tyqe2dz"}]}\n' "$dead" >"$STATE"

# --- start-up errors: one clear line, non-zero exit
err=$("$TAPYARD" daemon --socket "$LAB_SOCK" --bridge "${LAB_PREFIX}br" --tap tye2d-name-too-long 2>&1); rc=$?
check "too-long name refused" eval '[ $rc -ne 0 ] && grep -qi "too long" <<<"$err"'
check "the dead daemon's leftovers were removed first, and said so" \
	eval 'grep -q "leftovers of a previous daemon: removed tap tyqe2dz" <<<"$err" &&
		! ip link show tyqe2dz >/dev/null 2>&1 && [ ! -e "$STATE" ]'
f=$(mktemp "$RUNDIR/tyq-e2e-XXXXXX.sock")
err=$("$TAPYARD" daemon --socket "$f" --bridge x 2>&1); rc=$?
rm -f "$f"
check "a socket path that is no socket refused" eval '[ $rc = 1 ] && grep -q "cannot use socket" <<<"$err"'
ip link add tye2dv0 type veth peer name tye2dv1
err=$("$TAPYARD" daemon --socket "$LAB_SOCK" --bridge "${LAB_PREFIX}br" --tap tye2dv0 2>&1); rc=$?
ip link del tye2dv0
check "non-TAP interface refused" eval '[ $rc -ne 0 ] && grep -q "not a TAP" <<<"$err"'
if command -v setpriv >/dev/null; then
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TAPYARD" daemon \
		--socket "$RUNDIR/nonroot.sock" --bridge x --tap tye2dnr 2>&1); rc=$?
	check "non-root refused with a permission message" eval '[ $rc -ne 0 ] && grep -qi "permission\|root" <<<"$err"'
fi
check "no TAP left behind" eval '! ip -br link | grep -q "^tye2d\|^tyqe2d"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
