#!/usr/bin/env bash
# End to end: a VM lab as microvm.nix lays it out, switched by tapyard. Two QEMU guests (TCG,
# tapyard's own image and agent) on TAPs made beforehand with `ip tuntap add` and held by QEMU;
# a tapyard daemon attaches their host sides as netdev ports, one before its VM starts
# (--netdev) and one after (picked for you). The guests ping each other through the switch; a
# partition cuts them and healing restores them; `link set down` with the port's QMP socket makes
# the guest's carrier 0 (and up makes it 1 again); a VM restart whose tap-up deletes and
# re-creates the TAP is survived: the port rebinds by name and the guests ping again. A third VM
# of microvm.nix's bridge type (QEMU's -netdev bridge with helper="tapyard bridge-helper") joins
# the bridge through the helper and pings too.
# Skips (77) without root, QEMU or a guest image.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
BR=tyvlbr
TAPS=(tyvla0 tyvlb0)
MACS=(52:54:00:7e:01:01 52:54:00:7e:01:02)
ADDRS=(10.99.8.1 10.99.8.2)

. "$(dirname "$0")/vm_lib.sh"

vm_require "TAPs, a daemon"

work=$(mktemp -d /tmp/tyvl-e2e-XXXXXX)
chmod 755 "$work"
SOCK=$work/run/lab.sock
DAEMON_PID=
VM_PID=("" "")
VM_IN=("" "")
VM_OUT=("" "")

vm_stop() { # i: close the VM's requests (image boot then ends and stops QEMU)
	local i=$1
	[ -n "${VM_PID[$i]}" ] || return 0
	eval "exec ${VM_IN[$i]}>&- ${VM_OUT[$i]}<&-" 2>/dev/null
	if ! timeout 30 tail --pid="${VM_PID[$i]}" -f /dev/null; then
		kill "${VM_PID[$i]}" 2>/dev/null
	fi
	wait "${VM_PID[$i]}" 2>/dev/null
	VM_PID[$i]=
}
VMC_PID=
e2e_cleanup() {
	local rc=$?
	[ -z "$VMC_PID" ] || { kill "$VMC_PID" 2>/dev/null; wait "$VMC_PID" 2>/dev/null; }
	vm_stop 0
	vm_stop 1
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	for t in "${TAPS[@]}"; do ip link del "$t" 2>/dev/null; done
	rm -rf "$work"
	exit $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ctl() { "$TAPYARD" ctl --socket "$SOCK" "$@"; }

IMAGE=${TAPYARD_IMAGE_DIR:-$(dirname "$TAPYARD")/guest-image}
if ! "$TAPYARD" image build "$IMAGE" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	skip "the guest image cannot be built here"
fi

# microvm.nix's tap-up: a persistent TAP with a vnet header, up, before its VM starts.
tap_up() {
	ip link del "$1" 2>/dev/null
	ip tuntap add name "$1" mode tap vnet_hdr && ip link set "$1" up
}

# vm_boot i: boot VM i on its TAP; its agent's requests on fd VM_IN[i], replies on VM_OUT[i].
vm_boot() {
	local i=$1 d=$work/vm$1 fin fout
	mkdir -p "$d"
	rm -f "$d/in" "$d/out"
	mkfifo "$d/in" "$d/out"
	# Without the other VM's ends of its pipes, or that VM would never see its end of input.
	(
		for fd in "${VM_IN[@]}" "${VM_OUT[@]}"; do [ -z "$fd" ] || eval "exec $fd>&-"; done
		exec "$TAPYARD" image boot "$IMAGE" --run-dir "$d" --name "tyvl-$i" \
			--tap "${TAPS[$i]}=${MACS[$i]}" <"$d/in" >"$d/out" 2>"$d/boot.log"
	) &
	VM_PID[$i]=$!
	exec {fin}>"$d/in" {fout}<"$d/out"
	VM_IN[$i]=$fin
	VM_OUT[$i]=$fout
	for _ in $(seq 1200); do
		grep -q "ready in" "$d/boot.log" && break
		kill -0 "${VM_PID[$i]}" 2>/dev/null || break
		sleep 0.05
	done
	grep -q "ready in" "$d/boot.log" || { cat "$d/boot.log"; return 1; }
	sed -n 's/.*\(ready in [0-9]* ms\).*/    vm '"$i"': \1/p' "$d/boot.log"
	req "$i" "{\"cmd\":\"nic\",\"args\":{\"mac\":\"${MACS[$i]}\",\"name\":\"eth0\",\"addr\":\"${ADDRS[$i]}\",\"prefix\":24}}"
	[ "$(jget "$REPLY" ok)" = true ] || { echo "    nic: $REPLY" >&2; return 1; }
}

# req i JSON: one request to VM i's agent, its reply in REPLY.
req() {
	echo "$2" >&"${VM_IN[$1]}"
	REPLY=
	read -r -t 120 REPLY <&"${VM_OUT[$1]}"
}

# pings i ADDR: the exit code of a ping from VM i.
pings() {
	req "$1" "{\"cmd\":\"run\",\"args\":{\"cmd\":\"ping -c 2 -i 0.3 -W 3 $2\"}}"
	jget "$REPLY" result.exit_code
}

# carrier i UP: wait (up to 10 s) until VM i's eth0 carrier is UP, and say what it is.
carrier() {
	req "$1" "{\"cmd\":\"carrier\",\"args\":{\"name\":\"eth0\",\"wait_for\":$2,\"timeout_ms\":10000}}"
	jget "$REPLY" result.carrier
}

mkdir -m 700 "$work/run"
"$TAPYARD" daemon --socket "$SOCK" --bridge "$BR" 2>"$work/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$work/daemon.log"; bad "the daemon started"; exit 1; }

tap_up "${TAPS[0]}" && tap_up "${TAPS[1]}"
# tapyard first for VM 0 (so --netdev: a free TAP would become a tap port), QEMU first for VM 1.
out=$(ctl port add "$BR" "${TAPS[0]}" --netdev --qmp "$work/vm0/qmp.sock" --qmp-netdev net0)
check "port add before the VM: a netdev port" has "$out" "netdev"
check "VM 0 boots on the TAP the switch already has" vm_boot 0
check "VM 1 boots" vm_boot 1
out=$(ctl port add "$BR" "${TAPS[1]}" --qmp "$work/vm1/qmp.sock" --qmp-netdev net0)
check "port add of a TAP QEMU holds picks netdev" has "$out" "netdev"
list=$(ctl --json port list "$BR")
check "port list says netdev and qmp for both" eq "$("$PY" -c 'import json, sys
r = json.loads(sys.argv[1])["result"]
print(" ".join(p["kind"] + ":" + p.get("link_via", "?") for p in (r if isinstance(r, list) else r["ports"])))' "$list")" "netdev:qmp netdev:qmp"

check "VM 0 pings VM 1 through tapyard" eq "$(pings 0 "${ADDRS[1]}")" 0
check "VM 1 pings VM 0 through tapyard" eq "$(pings 1 "${ADDRS[0]}")" 0
rx=$(ctl counters "${TAPS[1]}" --value rx_packets)
check "the switch counted what VM 1 received" test "${rx:-0}" -gt 0

ctl partition cut "${TAPS[0]}" "${TAPS[1]}" >/dev/null
check "a partition cuts the VMs apart" eq "$(pings 0 "${ADDRS[1]}")" 1
drops=$(ctl counters "${TAPS[0]}" --value drop_partition)
check "the partition's drops are counted" test "${drops:-0}" -gt 0
ctl partition heal "${TAPS[0]}" "${TAPS[1]}" >/dev/null
check "healing it restores them" eq "$(pings 0 "${ADDRS[1]}")" 0

ctl link set "${TAPS[1]}" down >/dev/null
check "link down through QMP: VM 1's carrier is 0" eq "$(carrier 1 false)" false
req 1 '{"cmd":"run","args":{"cmd":"cat /sys/class/net/eth0/carrier"}}'
check "link down: /sys/class/net/eth0/carrier is 0 in the guest" eq "$(jget "$REPLY" result.stdout)" 0
check "link down: VM 0 cannot reach VM 1" eq "$(pings 0 "${ADDRS[1]}")" 1
ctl link set "${TAPS[1]}" up >/dev/null
check "link up: VM 1's carrier is back" eq "$(carrier 1 true)" true
check "link up: the VMs ping again" eq "$(pings 0 "${ADDRS[1]}")" 0

# A restart: the VM stops, tap-up deletes and re-creates its TAP, the VM starts again.
vm_stop 1
tap_up "${TAPS[1]}"
check "VM 1 boots again" vm_boot 1
for _ in $(seq 50); do
	ctl --json port list "$BR" | grep -q '"gone": true' || break
	sleep 0.1
done
check "the port rebound to the new TAP" eval '! ctl --json port list "$BR" | grep -q "\"gone\": true"'
check "after the restart the VMs ping again" eq "$(pings 0 "${ADDRS[1]}")" 0

# microvm.nix's type = "bridge": QEMU's own -netdev bridge, with tapyard bridge-helper as its
# helper (the access list allows this lab's bridge only), and no TAP made beforehand. The agent
# is spoken to directly on its socket (tests/agent_req.py), as `image boot` would.
agent_req() { "$PY" "$(dirname "$0")/agent_req.py" "$@"; } # SOCKET JSON: the reply on stdout
printf 'allow %s\n' "$BR" >"$work/bridge.conf"
mkdir -p "$work/vmc"
TAPYARD_BRIDGE_CONF=$work/bridge.conf TAPYARD_BRIDGE_TAP=tyvlq%d qemu-system-x86_64 \
	-machine q35,accel=tcg -m 256 -nodefaults -no-user-config -display none -no-reboot \
	-serial "file:$work/vmc/console.log" -kernel "$IMAGE/vmlinux" -initrd "$IMAGE/initrd.cpio" \
	-append "console=ttyS0 quiet panic=-1" \
	-chardev "socket,id=agent,path=$work/vmc/agent.sock,server=on,wait=off" \
	-device virtio-serial-pci -device virtserialport,chardev=agent,name=org.tapyard.agent \
	-netdev "bridge,id=net0,br=$BR,helper=$TAPYARD bridge-helper --socket=$SOCK" \
	-device virtio-net-pci,netdev=net0,mac=52:54:00:7e:01:03 2>"$work/vmc/qemu.log" &
VMC_PID=$!
r=$(agent_req "$work/vmc/agent.sock" \
	'{"cmd":"nic","args":{"mac":"52:54:00:7e:01:03","name":"eth0","addr":"10.99.8.3","prefix":24}}')
check "a bridge-type VM (tapyard bridge-helper) boots with its NIC" eq "$(jget "$r" ok)" true
check "the helper's TAP is a netdev port of the bridge" eval 'ctl port list "$BR" | grep -q "^tyvlq0 .*netdev"'
r=$(agent_req "$work/vmc/agent.sock" "{\"cmd\":\"run\",\"args\":{\"cmd\":\"ping -c 2 -i 0.3 -W 3 ${ADDRS[0]}\"}}")
check "the bridge-type VM pings VM 0 through tapyard" eq "$(jget "$r" result.exit_code)" 0
kill "$VMC_PID"
wait "$VMC_PID" 2>/dev/null
VMC_PID=

t0=$SECONDS
vm_stop 0
vm_stop 1
echo "    both VMs stopped in $((SECONDS - t0)) s"
kill "$DAEMON_PID"
wait "$DAEMON_PID"
check "the daemon stops cleanly" eq "$?" 0
DAEMON_PID=
check "the TAPs the lab made are still there (the switch leaves them)" eval 'ip link show "${TAPS[0]}" >/dev/null'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
