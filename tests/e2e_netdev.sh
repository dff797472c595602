#!/usr/bin/env bash
# End to end: netdev ports on TAPs that another process holds, as a hypervisor does.
#
# Each "guest" is a network namespace whose eth0 is one end of a veth; tests/tap_holder.py
# holds the guest's TAP (in the host namespace) and copies frames between it and the veth's
# other end, as QEMU copies between a TAP and a virtio NIC. The daemon switches the TAPs'
# host side. Checked: both start orders (tapyard first with --netdev, the holder first with
# the class picked for it), a multi-queue TAP, ping between the guests, a partition cutting
# them, the TAP deleted and made again by name (gone, then rebound, and ping again), a kernel
# bridge's port refused with the interface named, the class picked by default for a free TAP,
# a new TAP and a veth, and "type": "netdev" in a config file.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
. "$(dirname "$0")/holder_lib.sh"
SOCK=$work/ty.sock
cleanup() {
	local rc=$? i
	[ $rc = 0 ] || cat "$work/daemon.log" >&2 2>/dev/null
	holder_cleanup
	for i in tynd-ta tynd-tb tynd-tc tynd-td tynd-v0 tynd-v2 tynd-kb; do
		ip link del "$i" 2>/dev/null
	done
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ctl() { "$TAPYARD" ctl --socket "${CTL_SOCK:-$SOCK}" "$@"; }
# held X [QUEUES]: guest X's hypervisor attaches to TAP tynd-tX.
held() { hold "$1" "tynd-t$1" --queues "${2:-1}"; }

ping_ab() { ip netns exec tynd-na ping -c 2 -i 0.2 -W 2 -q 10.78.0.2 >/dev/null 2>&1; }
ping_ab_fails() { ! ip netns exec tynd-na ping -c 3 -i 0.2 -W 1 -q 10.78.0.2 >/dev/null 2>&1; }
kind_of() { ctl --json port list | python3 -c "import json,sys
r=json.load(sys.stdin)['result']; print(next((p['kind']+(',gone' if p['gone'] else '') for p in r if p['name']=='$1'), 'absent'))"; }
# wait_kind PORT WANT: up to 10 s for kind_of to say WANT.
wait_kind() {
	for _ in $(seq 100); do [ "$(kind_of "$1")" = "$2" ] && return 0; sleep 0.1; done
	echo "    $1 is $(kind_of "$1"), expected $2" >&2
	return 1
}

guest a 10.78.0.1
guest b 10.78.0.2
ip tuntap add dev tynd-ta mode tap
ip tuntap add dev tynd-tb mode tap multi_queue

# --- tapyard first: the TAP is free, --netdev says it is the hypervisor's to hold
start_daemon "$SOCK" --bridge lan --netdev tynd-ta || { echo "not ok - daemon start"; exit 1; }
check "--netdev on a free TAP: a netdev port" wait_kind tynd-ta netdev
check "the holder attaches after tapyard (single queue)" held a
# --- the holder first, multi-queue, the class picked for it
check "the holder attaches first (multi-queue, 2 queues)" held b 2
out=$(ctl port add lan tynd-tb 2>&1)
check "port add on a held multi-queue TAP picks netdev and says so" \
	has "$out" "port tynd-tb added to bridge lan as a netdev port"
check "port add says what it changed on the interface" has "$out" "disabled IPv6"
out=$(timeout 20 "$TAPYARD" daemon --socket "$work/x.sock" --bridge x --tap tynd-ta 2>&1)
check "daemon --tap on a held TAP fails and points at --netdev" \
	has "$out" "cannot open TAP \"tynd-ta\": the TAP is already attached to another program (attach it as a netdev port"
out=$(timeout 20 "$TAPYARD" daemon --socket "$work/x.sock" --bridge x --tap tynd-tb 2>&1)
check "daemon --tap on a multi-queue TAP says so" has "$out" "the TAP is multi-queue"
check "port list says the class" has "$(ctl port list)" "tynd-tb *lan *netdev"
check "the host stack is off the port (no IPv6 address)" \
	eval '! ip -6 addr show dev tynd-tb | grep -q inet6'

check "ping between the guests through tapyard" ping_ab
tx=$(ctl counters tynd-ta --value tx_packets)
check "counters from the guest's side: tynd-ta's guest sent ($tx)" test "$tx" -gt 0
ctl partition cut tynd-ta tynd-tb >/dev/null
check "a partition cuts them" ping_ab_fails
ctl partition heal tynd-ta tynd-tb >/dev/null
check "healed, ping again" ping_ab

# --- the hypervisor restarts and its tap-up deletes and makes the TAP again
unhold a
ip link del tynd-ta
check "the TAP deleted: the port is gone, not removed" wait_kind tynd-ta netdev,gone
ip tuntap add dev tynd-ta mode tap
held a
check "the TAP made again by name: rebound" wait_kind tynd-ta netdev
check "ping after the rebind" ping_ab
check "the daemon said so" grep -q "tynd-ta: port back" "$work/daemon.log"

# --- refusals and the default class
ip link add tynd-kb type bridge
ip link add tynd-v0 type veth peer name tynd-v1
ip link set tynd-v0 master tynd-kb
out=$(ctl port add lan tynd-v0 2>&1)
check "a kernel bridge's port is refused, naming it" \
	has "$out" "cannot attach interface \"tynd-v0\" as a netdev port: the interface is a kernel bridge's port"
out=$(ctl port add lan tynd-kb --netdev 2>&1)
check "a kernel bridge is refused" has "$out" "is a kernel bridge"
out=$(ctl port add lan tynd-ta --tap 2>&1)
check "a second port of one name is refused" has "$out" "already exists"
ip tuntap add dev tynd-tc mode tap
check "default: a free TAP is a tap port" has "$(ctl port add lan tynd-tc)" "as a tap port (existing)"
check "default: a new TAP is created as a tap port" has "$(ctl port add lan tynd-td)" \
	"as a tap port (created)"
check "default: a veth is a netdev port" has "$(ctl port add lan tynd-v1)" "as a netdev port"
ip link add tynd-v2 type veth peer name tynd-v3
out=$(ctl port add lan tynd-v2 --tap 2>&1)
check "--tap on a veth is refused" has "$out" "cannot open TAP \"tynd-v2\""

# --- a config file's "type"
cat >"$work/conf.json" <<EOF
{"bridges": [{"name": "c", "ports": [{"name": "tynd-v3", "type": "netdev"}]}]}
EOF
check "config \"type\": \"netdev\"" start_daemon "$work/c.sock" --config "$work/conf.json"
check "the config's port is a netdev port" eval 'CTL_SOCK=$work/c.sock kind_of tynd-v3 | grep -qx netdev'

summary
