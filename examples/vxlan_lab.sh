#!/usr/bin/env bash
# shellcheck shell=bash
# vxlan_lab.sh: one tapyard bridge spanning two hosts over Linux's own vxlan.
#
# Two "hosts" are network namespaces joined by a veth (the underlay, 10.99.0.1 and .2). Each
# runs its own `tapyard daemon` with a bridge "lan" whose ports are a kernel vxlan device (VNI
# 42, UDP 4789 to the other host) and the host side of its guests' veths, all attached as
# netdev ports. Guests are namespaces on 10.98.0.0/24: A (.11) and B (.12) on host 1, C (.21)
# on host 2. A frame from A to C goes A -> tapyard on host 1 -> vx0 (encapsulated) -> vx0 on
# host 2 -> tapyard on host 2 -> C, so either daemon's partitions and impairments apply to it,
# and each learns the remote guests' MACs behind its vx0 port.
#
# Run it:   sudo examples/vxlan_lab.sh       (builds the lab, shows it, waits for Enter)
# Or source it (the e2e test does) and call vx_start / vx_ctl / vx_exec / vx_cleanup.
# Set VX_PREFIX (a short name starting with "ty") to run beside other labs; TAPYARD names
# the binary.

VX_PREFIX=${VX_PREFIX:-tyvx}
TAPYARD=${TAPYARD:-$(dirname "${BASH_SOURCE[0]}")/../build/tapyard}
VX_DIR=
VX_PIDS=()

vx_host() { echo "${VX_PREFIX}h$1"; }   # host 1 or 2
vx_guest() { echo "${VX_PREFIX}g$1"; }  # guest a, b or c
vx_ip() { case $1 in a) echo 10.98.0.11 ;; b) echo 10.98.0.12 ;; c) echo 10.98.0.21 ;; esac; }
vx_home() { case $1 in a | b) echo 1 ;; c) echo 2 ;; esac; } # which host a guest is on
vx_port() { echo "g$1"; } # a guest's port: its veth's host side, in its host's namespace
vx_ctl() { local h=$1; shift; "$TAPYARD" ctl --socket "$VX_DIR/h$h.sock" "$@"; }
vx_exec() { local g=$1; shift; ip netns exec "$(vx_guest "$g")" "$@"; }

vx_cleanup() {
	local p h g
	for p in "${VX_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	VX_PIDS=()
	for g in a b c; do ip netns del "$(vx_guest $g)" 2>/dev/null; done
	for h in 1 2; do ip netns del "$(vx_host $h)" 2>/dev/null; done
	[ -n "$VX_DIR" ] && rm -rf "$VX_DIR"
	VX_DIR=
	return 0
}

# The underlay: hosts 1 and 2 joined by a veth, MTU 1550 so that vxlan carries 1500.
vx_underlay() {
	local h1 h2
	h1=$(vx_host 1) h2=$(vx_host 2)
	ip netns add "$h1" && ip netns add "$h2" || return 1
	ip link add u1 netns "$h1" mtu 1550 type veth peer name u2 netns "$h2" mtu 1550 || return 1
	ip -n "$h1" addr add 10.99.0.1/24 dev u1 && ip -n "$h1" link set u1 up &&
		ip -n "$h2" addr add 10.99.0.2/24 dev u2 && ip -n "$h2" link set u2 up
}

# vx_vxlan H: host H's vxlan device vx0 (VNI 42) towards the other host.
vx_vxlan() {
	local h=$1 other=$((3 - $1))
	ip -n "$(vx_host "$h")" link add vx0 mtu 1500 type vxlan id 42 local "10.99.0.$h" \
		remote "10.99.0.$other" dstport 4789 dev "u$h"
}

# vx_guest_add G: guest G's namespace, eth0 addressed, its veth's other end gG in its host.
vx_guest_add() {
	local g=$1 ns host
	ns=$(vx_guest "$g") host=$(vx_host "$(vx_home "$g")")
	ip netns add "$ns" || return 1
	ip link add eth0 netns "$ns" type veth peer name "$(vx_port "$g")" netns "$host" || return 1
	ip -n "$ns" addr add "$(vx_ip "$g")/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" link set lo up
}

# vx_daemon H PORTS...: host H's daemon, bridge lan, the ports as netdev ports; waits for it.
vx_daemon() {
	local h=$1 args=() p
	shift
	for p in "$@"; do args+=(--netdev "$p"); done
	ip netns exec "$(vx_host "$h")" "$TAPYARD" daemon --socket "$VX_DIR/h$h.sock" \
		--bridge lan "${args[@]}" 2>>"$VX_DIR/h$h.log" &
	VX_PIDS+=($!)
	for _ in $(seq 100); do
		vx_ctl "$h" status >/dev/null 2>&1 && return 0
		kill -0 "${VX_PIDS[-1]}" 2>/dev/null || { cat "$VX_DIR/h$h.log" >&2; return 1; }
		sleep 0.05
	done
	return 1
}

# Build the whole lab. Returns non-zero (having said why) when a step fails.
vx_start() {
	VX_DIR=$(mktemp -d "/tmp/${VX_PREFIX}-XXXXXX") && chmod 755 "$VX_DIR" || return 1
	vx_underlay || { echo "vxlan lab: cannot make the underlay" >&2; return 1; }
	for h in 1 2; do vx_vxlan "$h" || { echo "vxlan lab: no vxlan device" >&2; return 1; }; done
	for g in a b c; do vx_guest_add "$g" || return 1; done
	vx_daemon 1 vx0 ga gb && vx_daemon 2 vx0 gc
}

vx_main() {
	[ "$(id -u)" = 0 ] || { echo "vxlan_lab: needs root" >&2; exit 1; }
	trap vx_cleanup EXIT
	trap 'exit 130' INT
	vx_start || exit 1
	echo "== A (host 1) pings C (host 2) through two tapyard daemons and a vxlan tunnel"
	vx_exec a ping -c 3 -i 0.2 "$(vx_ip c)"
	echo "== host 1's ports and MAC table: C is learned behind vx0"
	vx_ctl 1 port list
	vx_ctl 1 fdb show lan
	echo "== host 1 cuts A from everything behind vx0; B still reaches C"
	vx_ctl 1 partition cut ga vx0
	vx_exec a ping -c 2 -W 1 "$(vx_ip c)"
	vx_exec b ping -c 2 -i 0.2 "$(vx_ip c)"
	vx_ctl 1 partition heal ga vx0
	echo "== host 2 delays what it forwards from vx0 to C by 50 ms"
	vx_ctl 2 impair set --from vx0 --to gc delay 50ms
	vx_exec a ping -c 3 -i 0.2 "$(vx_ip c)"
	echo
	echo "Try: $TAPYARD ctl --socket $VX_DIR/h1.sock counters"
	echo "     ip netns exec $(vx_guest a) ping $(vx_ip c)"
	read -r -p "Press Enter to tear the lab down. "
}

[ "${BASH_SOURCE[0]}" = "$0" ] && vx_main "$@"
