#!/usr/bin/env bash
# End to end: `tapyard bridge-helper` called the way QEMU's -netdev bridge,helper=... calls it
# (tests/tap_holder.py --helper: a socketpair, "/bin/sh -c 'HELPER --use-vnet --fd=N --br=BR'",
# the TAP fd received with SCM_RIGHTS), without QEMU. Checked: two "VMs" get TAPs attached to a
# tapyard bridge as netdev ports and ping each other through them; the access list refuses a
# bridge it does not allow, a denied bridge, a missing list and one others may write; a bridge
# the daemon lacks fails without leaving a TAP; a VM restarted on a reused TAP name replaces its
# stale port.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
. "$(dirname "$0")/holder_lib.sh"
export TAPYARD_SOCKET=$work/ty.sock TAPYARD_BRIDGE_CONF=$work/bridge.conf
export TAPYARD_BRIDGE_TAP='tyndq%d'
cleanup() {
	local rc=$?
	[ $rc = 0 ] || cat "$work/daemon.log" >&2 2>/dev/null
	holder_cleanup
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ctl() { "$TAPYARD" ctl "$@"; }
helper() { "$TAPYARD" bridge-helper "$@"; }
# vm X BRIDGE: "QEMU" for guest X gets its TAP from the helper; sets TAP to its name.
vm() { hold "$1" --helper "$TAPYARD bridge-helper" --br "$2"; }
ping_b() { ip netns exec tynd-na ping -c 2 -i 0.2 -W 1 -q 10.78.1.2 >/dev/null 2>&1; }

start_daemon "$TAPYARD_SOCKET" --bridge lan --bridge lab || { echo "not ok - daemon"; exit 1; }
guest a 10.78.1.1
guest b 10.78.1.2

# --- the access list
out=$(helper --br=lan --fd=0 2>&1)
check "no access list: refused" has "$out" "access denied: cannot open $TAPYARD_BRIDGE_CONF"
printf 'allow lab\ninclude %s/more.conf\n' "$work" >"$TAPYARD_BRIDGE_CONF"
printf '# more\nallow lan\ndeny lab\n' >"$work/more.conf"
chmod 644 "$TAPYARD_BRIDGE_CONF" "$work/more.conf"
out=$(helper --br=lab --fd=0 2>&1)
check "a denied bridge is refused (deny wins, from an included file)" \
	has "$out" "bridge \"lab\" is denied by"
out=$(helper --br=elsewhere --fd=0 2>&1)
check "a bridge nothing allows is refused" has "$out" "bridge \"elsewhere\" is not allowed"
chmod 666 "$work/more.conf"
out=$(helper --br=lan --fd=0 2>&1)
check "an included file others may write spoils the list" has "$out" "writable by root only"
chmod 644 "$work/more.conf"
out=$(helper --br 2>&1)
rc=$?
check "bad arguments: the usage, exit 1" eval '[ $rc = 1 ] && has "$out" "usage: tapyard bridge-helper"'

# --- two VMs on lan
vm a lan
A=$TAP
check "VM a got a TAP from the helper ($A)" test -n "$A"
vm b lan
B=$TAP
check "VM b got a TAP from the helper ($B)" test -n "$B"
check "both are netdev ports of lan" \
	eval 'ctl port list lan | grep -q "^$A *lan *netdev" && ctl port list lan | grep -q "^$B *lan *netdev"'
check "VM a pings VM b through tapyard" ping_b
ctl partition cut "$A" "$B" >/dev/null
check "a partition cuts them" eval '! ping_b'
ctl partition heal "$A" "$B" >/dev/null

# --- a bridge the daemon lacks: refused, no TAP left behind
printf 'allow all\n' >"$work/more.conf"
out=$(python3 "$HOLDER" --helper "$TAPYARD bridge-helper" --br nosuch 2>&1)
check "a bridge the daemon lacks: the helper fails and says why" has "$out" "nosuch"
check "... and leaves no TAP (only the two VMs')" eval '[ "$(ip -o link show | grep -c tyndq)" = 2 ]'

# --- VM a restarts: its old TAP went, the new one reuses the name, the stale port is replaced
unhold a
for _ in $(seq 50); do ip link show "$A" >/dev/null 2>&1 || break; sleep 0.1; done
vm a lan
A2=$TAP
check "VM a restarted on a TAP of the same name ($A2)" test "$A2" = "$A"
check "ping after the restart" ping_b
check "one port of that name" eval '[ "$(ctl port list | grep -c "^$A ")" = 1 ]'

unhold a
unhold b
check "the TAPs go with their VMs" eval '! ip -o link show | grep -q tyndq'

summary
