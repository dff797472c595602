#!/usr/bin/env bash
# End to end: `tapyard ctl link set` reaches a real QEMU's guest NIC through QMP. QEMU runs with no
# guest kernel (firmware only, so that the NIC's PCI BARs get addresses), a virtio-net NIC on a TAP
# that QEMU itself holds (tyqmq0, netdev id n0) and a QMP socket. The daemon's port is given that
# socket and netdev id (config file keys qmp/qmp_netdev, and `ctl link qmp`). What the guest would
# see is read from the NIC's own virtio config space (the status field's LINK_UP bit, through
# HMP `xp`): `link set down` clears it, `link set up` sets it again. A QMP error (an unknown netdev
# id) fails link set with QEMU's error and leaves the link up.
#
# The port tapyard switches is a TAP of its own (tyqmq1) carrying QEMU's socket: attaching the TAP
# QEMU holds needs the netdev port class; where `port add --netdev` exists, that is tested too.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
QEMU=$(command -v qemu-system-x86_64) || { echo "skip: qemu-system-x86_64 is not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "skip: e2e_qmp needs root (TAPs)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: e2e_qmp needs python3 (to read QEMU's NIC)"; exit 77; }
[ -c /dev/net/tun ] || { echo "skip: no /dev/net/tun"; exit 77; }

DIR=$(mktemp -d /tmp/tyqm-e2e.XXXXXX) && chmod 755 "$DIR"
QMP=$DIR/qmp.sock SOCK=$DIR/ctl.sock
QPID= DPID=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$QPID" ] && kill -KILL "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	for t in tyqmq0 tyqmq1; do ip link del "$t" 2>/dev/null; done
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }
ctl() { "$TAPYARD" ctl --socket "$SOCK" "$@"; }

# qmp CMD [JSON-ARGS]: run one QMP command on QEMU's socket, print its "return" as JSON.
qmp() {
	python3 - "$QMP" "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def call(cmd, args=None):
    msg = {"execute": cmd, **({"arguments": args} if args else {})}
    f.write(json.dumps(msg) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
json.loads(f.readline())  # the greeting
call("qmp_capabilities")
r = call(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
print(json.dumps(r.get("return", r)))
EOF
}

# The virtio-net status field (bit 0: LINK_UP) of QEMU's NIC nic0, as the guest would read it:
# the device config sits at 0x2000 in BAR 4 (QEMU's modern virtio-pci layout), after the MAC.
nic_link() {
	local bar
	bar=$(qmp query-pci | python3 -c '
import json, sys
for bus in json.load(sys.stdin):
    for d in bus["devices"]:
        if d.get("qdev_id") == "nic0":
            print(next(r["address"] for r in d["regions"] if r["bar"] == 4))')
	[ -n "$bar" ] && [ "$bar" != 0 ] || { echo "no BAR 4 address for nic0" >&2; return 1; }
	qmp human-monitor-command "{\"command-line\": \"xp /1hx $((bar + 0x2006))\"}" |
		python3 -c 'import json, sys; print(int(json.load(sys.stdin).split(":")[1].split()[0], 16) & 1)'
}

# --- QEMU: firmware only (-nodefaults, no disk, no option ROM), TCG, the NIC on its own TAP
"$QEMU" -M q35 -nodefaults -display none -accel tcg -m 64 \
	-qmp "unix:$QMP,server=on,wait=off" \
	-netdev tap,id=n0,ifname=tyqmq0,script=no,downscript=no,vnet_hdr=on \
	-device virtio-net-pci,netdev=n0,id=nic0,romfile= >"$DIR/qemu.log" 2>&1 &
QPID=$!
for _ in $(seq 100); do [ -S "$QMP" ] && break; sleep 0.1; done
[ -S "$QMP" ] || { cat "$DIR/qemu.log"; echo "not ok - QEMU started (no QMP socket)"; exit 1; }
# The firmware assigns the BARs: wait until nic0's link reads back (up, as QEMU starts it).
for _ in $(seq 100); do [ "$(nic_link 2>/dev/null)" = 1 ] && break; sleep 0.2; done
check "QEMU's NIC starts with its link up" eq "$(nic_link)" 1

# --- the daemon, its port carrying QEMU's socket from the config file
cat >"$DIR/config.json" <<EOF
{"bridges": [{"name": "tyqmbr", "ports": [{"name": "tyqmq1", "qmp": "$QMP", "qmp_netdev": "n0"}]}]}
EOF
"$TAPYARD" daemon --socket "$SOCK" --config "$DIR/config.json" --log-level warn &
DPID=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
check "the daemon runs with the config's port" eval 'ctl port list | grep -q "^tyqmq1 "'
check "port list says link state reaches the guest through QMP" \
	eval 'ctl port list | grep "^tyqmq1 " | grep -q "qmp $QMP#n0"'
check "port list --json: link_via qmp" \
	eval 'ctl --json port list | grep -q "\"link_via\": \"qmp\""'

# --- link down and up reach QEMU's NIC
check "link set down succeeds" eval 'ctl link set tyqmq1 down'
check "QEMU's NIC now reads link down" eq "$(nic_link)" 0
check "the switch has the port down too" eval 'ctl port list | grep "^tyqmq1 " | grep -q " down "'
check "and its own TAP lost carrier (TUNSETCARRIER as before)" \
	eval 'ip link show tyqmq1 | grep -q NO-CARRIER'
check "link set up succeeds" eval 'ctl link set tyqmq1 up'
check "QEMU's NIC reads link up again" eq "$(nic_link)" 1
check "the switch has the port up" eval 'ctl port list | grep "^tyqmq1 " | grep -q " up "'

# --- a QMP error: the reply says so, nothing changes
check "link qmp gives the port an unknown netdev id" \
	eval 'ctl link qmp tyqmq1 --qmp "$QMP" --qmp-netdev nope >/dev/null'
err=$(ctl link set tyqmq1 down 2>&1)
check "link set fails when QEMU refuses" eq "$?" 1
check "the error says QEMU's class and text" eval 'grep -q "DeviceNotFound" <<<"$err"'
check "the error says the link was left up" eval 'grep -q "link left up" <<<"$err"'
check "the port still forwards (up)" eval 'ctl port list | grep "^tyqmq1 " | grep -q " up "'
check "QEMU's NIC still reads up" eq "$(nic_link)" 1

# --- without QMP, a TAP tapyard holds is told by its carrier
check "link qmp --clear forgets the socket" eval 'ctl link qmp tyqmq1 --clear >/dev/null'
check "port list then says carrier" eval 'ctl port list | grep "^tyqmq1 " | grep -q " carrier"'
ctl link set tyqmq1 down >/dev/null
check "link down without QMP leaves QEMU's NIC up" eq "$(nic_link)" 1
ctl link set tyqmq1 up >/dev/null

# --- the TAP QEMU holds, attached as a netdev port (where that port class exists)
if ctl port add --help 2>&1 | grep -q -- --netdev; then
	check "port add of QEMU's own TAP with --qmp" \
		eval 'ctl port add tyqmbr tyqmq0 --netdev --qmp "$QMP" --qmp-netdev n0 >/dev/null'
	check "link set down on it" eval 'ctl link set tyqmq0 down >/dev/null'
	check "QEMU's NIC reads down" eq "$(nic_link)" 0
	check "link set up on it" eval 'ctl link set tyqmq0 up >/dev/null'
	check "QEMU's NIC reads up" eq "$(nic_link)" 1
else
	echo "ok - # SKIP no netdev port class here: QEMU's own TAP is not attached"
fi

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
