#!/bin/bash
# bench/vm.sh - VM to VM through tapyard's netdev ports vs a kernel bridge, in one run: two QEMU
# guests (tapyard's image and agent, TCG) on TAPs made beforehand with `ip tuntap add`, opened by
# QEMU as microvm.nix does, their host sides either enslaved to a kernel bridge or switched by a
# tapyard daemon as netdev ports. The VMs boot once; the paths alternate under them, round after
# round. Measures ping RTT (busybox ping in the guest) and TCP throughput (busybox nc and dd,
# timed by the receiver), prints medians and ratios to the kernel bridge.
#
# Usage: bench/vm.sh [--rounds N] [--pings N] [--mbytes N] [--tapyard PATH]
#   --rounds N      measure each path N times, interleaved (default 3)
#   --pings N       echo requests per RTT measurement, 0.1 s apart (default 30)
#   --mbytes N      MiB sent per TCP measurement (default 64)
#   --tapyard PATH  tapyard binary (default: $TAPYARD, else build/tapyard in this repo)
#
# Under TCG the guests' CPUs are emulated, so both paths are bounded by the emulation: the
# ratio says how much the switch adds on top, not what it does for KVM guests.
# Owns every name starting with "tyvmb": TAPs tyvmba/tyvmbb, bridge tyvmbbr, its work directory.
# Everything is removed on every exit path. Figures are printed, never asserted.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAPYARD=${TAPYARD:-$BENCH_DIR/../build/tapyard}
AGENT_REQ=$BENCH_DIR/../tests/agent_req.py
ROUNDS=3
PINGS=30
MBYTES=64
TAPS=(tyvmba tyvmbb)
MACS=(52:54:00:7e:02:01 52:54:00:7e:02:02)
ADDRS=(10.99.9.1 10.99.9.2)
WORK=
DPID=
VM_PIDS=()
declare -A RTT MBPS
. "$BENCH_DIR/lib.sh"

usage() { sed -n '9,13s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

# Undo a path: stop the daemon, delete the kernel bridge (the TAPs stay: QEMU holds them).
path_down() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
		DPID=
	fi
	ip link del tyvmbbr 2>/dev/null
	return 0
}

on_exit() {
	path_down
	for p in "${VM_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for t in "${TAPS[@]}"; do ip link del "$t" 2>/dev/null; done
	[ -n "$WORK" ] && rm -rf "$WORK"
}

# req I JSON...: requests to VM I's agent, a reply a line.
req() { local i=$1; shift; python3 "$AGENT_REQ" --wait 180 --timeout 300 "$WORK/vm$i/agent.sock" "$@"; }

# run I CMD: CMD's stdout in VM I (its exit code as ours).
run() {
	req "$1" "$(python3 -c 'import json, sys; print(json.dumps({"cmd": "run", "args": {"cmd": sys.argv[1], "timeout_ms": 240000}}))' "$2")" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)
if not r.get("ok"):
    sys.exit("agent: %s" % r.get("error"))
sys.stdout.write(r["result"]["stdout"] + r["result"]["stderr"])
sys.exit(r["result"]["exit_code"])'
}

# vm_boot I: QEMU for VM I on its TAP (opened by name, as microvm.nix's QEMU does).
vm_boot() {
	local i=$1 d=$WORK/vm$1
	mkdir -p "$d"
	qemu-system-x86_64 -machine q35,accel=tcg -m 256 -nodefaults -no-user-config -display none \
		-no-reboot -serial "file:$d/console.log" -kernel "$IMAGE/vmlinux" \
		-initrd "$IMAGE/initrd.cpio" -append "console=ttyS0 quiet panic=-1" \
		-chardev "socket,id=agent,path=$d/agent.sock,server=on,wait=off" \
		-device virtio-serial-pci -device virtserialport,chardev=agent,name=org.tapyard.agent \
		-netdev "tap,id=net0,ifname=${TAPS[$i]},script=no,downscript=no,vnet_hdr=on" \
		-device "virtio-net-pci,netdev=net0,mac=${MACS[$i]}" 2>"$d/qemu.log" &
	VM_PIDS+=($!)
}

# vm_ready I: wait for VM I's agent, then address its NIC.
vm_ready() {
	local r
	r=$(req "$1" "{\"cmd\":\"nic\",\"args\":{\"mac\":\"${MACS[$1]}\",\"name\":\"eth0\",\"addr\":\"${ADDRS[$1]}\",\"prefix\":24}}") &&
		grep -q '"ok": *true' <<<"$r" || { log "vm $1: $r"; tail -5 "$WORK/vm$1/console.log" >&2; return 1; }
}

path_up() {
	case $1 in
	bridge)
		ip link add tyvmbbr type bridge && ip link set tyvmbbr up &&
			ip link set "${TAPS[0]}" master tyvmbbr && ip link set "${TAPS[1]}" master tyvmbbr
		;;
	tapyard)
		bench_daemon "$WORK/b.sock" "$WORK/daemon.log" --bridge lan --netdev "${TAPS[0]}" \
			--netdev "${TAPS[1]}"
		;;
	esac
}

# RTT from VM 0 to VM 1 (ms, busybox's average); a first ping resolves the neighbour.
measure_rtt() {
	run 0 "ping -c 1 -W 5 ${ADDRS[1]} >/dev/null; ping -q -c $PINGS -i 0.1 -W 5 ${ADDRS[1]}" |
		sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

# TCP VM 1 -> VM 0 (Mbit/s): VM 1 serves MBYTES of zeros to the first connection (busybox nc -e
# dd), VM 0 reads them all and times it. busybox's dd prints no rate, and its nc gives up on a
# connection when its own stdin ends, so the receiver is the one that counts and times.
measure_tcp() {
	local out
	run 1 "nc -l -p 5001 -e dd if=/dev/zero bs=64k count=$((MBYTES * 16)) >/dev/null 2>&1 </dev/null &" >/dev/null ||
		return 1
	sleep 0.3
	out=$(run 0 "time sh -c 'nc ${ADDRS[1]} 5001 </dev/null | wc -c'") || return 1
	# "134217728" then "real	0m 16.38s"
	awk '/^[0-9]+$/ { n = $1 } /^real/ { split($3, t, "s"); m = $2; sub("m", "", m); s = m * 60 + t[1] }
	     END { if (n > 0 && s > 0) printf "%.0f", n * 8 / s / 1e6 }' <<<"$out"
}

bench_path() {
	local p=$1 r=$2 rtt tcp
	if ! path_up "$p"; then
		log "$p: set-up failed"
		path_down
		return 1
	fi
	rtt=$(measure_rtt) || true
	tcp=$(measure_tcp) || true
	path_down
	log "round $r: $p rtt ${rtt:-failed} ms, tcp ${tcp:-failed} Mbit/s"
	RTT[$p]="${RTT[$p]:-} ${rtt:-nan}"
	MBPS[$p]="${MBPS[$p]:-} ${tcp:-nan}"
}

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		--rounds) ROUNDS=$2; shift 2 ;;
		--pings) PINGS=$2; shift 2 ;;
		--mbytes) MBYTES=$2; shift 2 ;;
		--tapyard) TAPYARD=$2; shift 2 ;;
		-h | --help) usage 0 ;;
		*) usage 2 ;;
		esac
	done
	[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
	for t in qemu-system-x86_64 ip python3; do command -v "$t" >/dev/null || { log "needs $t"; exit 1; }; done
	[ -x "$TAPYARD" ] || { log "no tapyard binary at $TAPYARD"; exit 1; }
	WORK=$(mktemp -d /tmp/tyvmb-XXXXXX) && chmod 755 "$WORK" || exit 1
	trap on_exit EXIT
	trap 'exit 130' INT TERM
	IMAGE=${TAPYARD_IMAGE_DIR:-$(dirname "$TAPYARD")/guest-image}
	log "guest image: $IMAGE"
	"$TAPYARD" image build "$IMAGE" >"$WORK/image.log" 2>&1 || { cat "$WORK/image.log" >&2; exit 1; }
	for i in 0 1; do
		ip link del "${TAPS[$i]}" 2>/dev/null
		ip tuntap add name "${TAPS[$i]}" mode tap vnet_hdr && ip link set "${TAPS[$i]}" up || exit 1
	done
	log "booting two VMs (TCG)"
	vm_boot 0
	vm_boot 1
	vm_ready 0 && vm_ready 1 || exit 1
	for ((r = 1; r <= ROUNDS; r++)); do
		for p in bridge tapyard; do bench_path "$p" "$r"; done
	done
	local brtt bmbps
	brtt=$(median <<<"${RTT[bridge]:-}")
	bmbps=$(median <<<"${MBPS[bridge]:-}")
	printf 'VM to VM (QEMU TCG, virtio-net on TAPs), median of %s rounds (%s)\n' "$ROUNDS" "$(uname -r)"
	printf '%-30s %10s %10s %12s %10s\n' path "rtt ms" ratio "tcp Mbit/s" ratio
	for p in bridge tapyard; do
		local m t
		m=$(median <<<"${RTT[$p]:-}")
		t=$(median <<<"${MBPS[$p]:-}")
		printf '%-30s %10s %10s %12s %10s\n' "$(label "$p")" "$m" "$(ratio "$m" "$brtt")" "$t" \
			"$(ratio "$t" "$bmbps")"
	done
}

label() {
	case $1 in
	bridge) echo "kernel bridge" ;;
	tapyard) echo "tapyard netdev ports" ;;
	esac
}

main "$@"
