#!/usr/bin/env bash
# End to end: one bridge spanning two "hosts" (namespaces joined by a veth), each running its own
# tapyard daemon with a kernel vxlan device as a netdev port (examples/vxlan_lab.sh builds it).
# Checked: guests on either host reach each other, full-size frames cross the tunnel, each
# daemon learns the remote guests behind its vxlan port, a partition on host 1 between a guest
# and the vxlan port cuts that guest only from the remote guests, and an impairment on host 2
# (100% loss from the vxlan port to a guest) applies to traffic from the other host.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
VX_PREFIX=tynd
. "$(dirname "$0")/../examples/vxlan_lab.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root (namespaces)"; exit 77; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

on_exit() {
	local rc=$?
	[ $rc = 0 ] || cat "$VX_DIR"/h*.log >&2 2>/dev/null
	vx_cleanup
	exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! vx_start; then
	if ! ip link add tyndvxprobe type vxlan id 1 dstport 4789 2>/dev/null; then
		echo "skip: this kernel cannot make vxlan devices"
		exit 77
	fi
	ip link del tyndvxprobe
	echo "not ok - the vxlan lab did not start"
	exit 1
fi

reach() { vx_exec "$1" ping -c 2 -i 0.2 -W 2 -q "$(vx_ip "$2")" >/dev/null 2>&1; }
cut_off() { ! vx_exec "$1" ping -c 3 -i 0.2 -W 1 -q "$(vx_ip "$2")" >/dev/null 2>&1; }
mac() { vx_exec "$1" cat /sys/class/net/eth0/address; }
# learned H MAC PORT: daemon H's MAC table has MAC behind PORT.
learned() { vx_ctl "$1" fdb show lan | grep -q "^$2 *$3 "; }

check "A (host 1) reaches C (host 2)" reach a c
check "C (host 2) reaches B (host 1)" reach c b
big() { vx_exec a ping -c 2 -i 0.2 -W 2 -q -M do -s 1472 "$(vx_ip c)" >/dev/null 2>&1; }
check "full-size frames cross the tunnel (1500 bytes, don't fragment)" big
check "host 1 learned C behind its vxlan port" learned 1 "$(mac c)" vx0
check "host 2 learned A behind its vxlan port" learned 2 "$(mac a)" vx0
check "host 1 learned A behind A's port" learned 1 "$(mac a)" ga
check "the vxlan device is a netdev port" eval 'vx_ctl 1 port list | grep -q "^vx0 *lan *netdev"'

vx_ctl 1 partition cut ga vx0 >/dev/null
check "a partition on host 1 between A and the tunnel cuts A from C" cut_off a c
check "... but not B from C" reach b c
check "... nor A from B on its own host" reach a b
vx_ctl 1 partition heal ga vx0 >/dev/null
check "healed: A reaches C again" reach a c

vx_ctl 2 impair set --from vx0 --to gc loss 100% >/dev/null
check "100% loss on host 2 from the tunnel to C: A cannot reach C" cut_off a c
check "... and the drops are counted on host 2" \
	eval '[ "$(vx_ctl 2 counters gc --value drop_impair_loss)" -gt 0 ]'
vx_ctl 2 impair clear --from vx0 --to gc >/dev/null
check "impairment cleared: A reaches C again" reach a c
rx=$(vx_ctl 1 counters vx0 --value tx_packets)
check "host 1 counts what came out of the tunnel as the vxlan port's tx ($rx)" test "$rx" -gt 0

echo "# $pass passed, $fail failed"
[ "$fail" = 0 ]
