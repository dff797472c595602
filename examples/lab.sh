# shellcheck shell=bash
# lab.sh: shared helpers for the demo and the end-to-end tests. Source it, set LAB_PREFIX (a short
# name starting with "ty") and TAPYARD (the binary), then call lab_* functions. lab_cleanup runs on
# every exit path once lab_trap has been called.
#
# A lab is one tapyard daemon with one bridge and N namespace guests; guest i (0-based) lives in
# namespace ${LAB_PREFIX}n$i, its TAP is ${LAB_PREFIX}$i (renamed eth0 inside), address 10.79.0.(i+1)/24.

LAB_PREFIX=${LAB_PREFIX:-tylab}
LAB_SUBNET=${LAB_SUBNET:-10.79.0}
LAB_SOCK=${LAB_SOCK:-/run/tapyard/${LAB_PREFIX}-$$.sock}
LAB_PID=
LAB_N=0

lab_log() { printf '%s\n' "$*" >&2; }

# Skip (exit 77) unless root with /dev/net/tun and the tools the lab uses.
lab_require() {
	[ "$(id -u)" -eq 0 ] || { lab_log "SKIP: needs root (namespaces and TAPs)"; exit 77; }
	[ -c /dev/net/tun ] || { lab_log "SKIP: no /dev/net/tun"; exit 77; }
	for t in ip ping "$@"; do
		command -v "$t" >/dev/null || { lab_log "SKIP: $t is not installed"; exit 77; }
	done
	[ -x "$TAPYARD" ] || { lab_log "FAIL: tapyard binary $TAPYARD not found"; exit 1; }
}

lab_ns() { echo "${LAB_PREFIX}n$1"; }
lab_tap() { echo "${LAB_PREFIX}$1"; }
lab_ip() { echo "$LAB_SUBNET.$(($1 + 1))"; }
lab_ctl() { "$TAPYARD" ctl --socket "$LAB_SOCK" "$@"; }
lab_exec() { local i=$1; shift; ip netns exec "$(lab_ns "$i")" "$@"; }

lab_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$LAB_PID" ] && kill -0 "$LAB_PID" 2>/dev/null; then
		kill -TERM "$LAB_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$LAB_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$LAB_PID" 2>/dev/null
		wait "$LAB_PID" 2>/dev/null
	fi
	LAB_PID=
	for ((i = 0; i < LAB_N; i++)); do
		ip netns del "$(lab_ns "$i")" 2>/dev/null
		ip link del "$(lab_tap "$i")" 2>/dev/null
	done
	rm -f "$LAB_SOCK"
	return $rc
}

lab_trap() { trap lab_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; }

# lab_start N [daemon args...]: a daemon with bridge "${LAB_PREFIX}br" and N TAPs, each moved into
# its own namespace as eth0 with an address.
lab_start() {
	local n=$1 args=() i
	shift
	LAB_N=$n
	for ((i = 0; i < n; i++)); do args+=(--tap "$(lab_tap "$i")"); done
	"$TAPYARD" daemon --socket "$LAB_SOCK" --bridge "${LAB_PREFIX}br" "${args[@]}" "$@" &
	LAB_PID=$!
	for _ in $(seq 100); do
		lab_ctl status >/dev/null 2>&1 && break
		kill -0 "$LAB_PID" 2>/dev/null || { lab_log "the daemon exited at start"; LAB_PID=; return 1; }
		sleep 0.05
	done
	lab_ctl status >/dev/null || { lab_log "the daemon did not answer"; return 1; }
	for ((i = 0; i < n; i++)); do
		local ns tap
		ns=$(lab_ns "$i") tap=$(lab_tap "$i")
		ip netns add "$ns"
		ip link set "$tap" netns "$ns"
		ip -n "$ns" link set "$tap" name eth0
		ip -n "$ns" addr add "$(lab_ip "$i")/24" dev eth0
		ip -n "$ns" link set lo up
		# No IPv6 chatter (router solicitations, MLD), so counters reflect only the test's traffic.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set eth0 up
	done
	[ "${LAB_STATIC_ARP:-0}" = 1 ] && lab_static_arp
	return 0
}

# Permanent neighbour entries between all guests: no ARP traffic, so counts are exact.
lab_static_arp() {
	local i j mac
	for ((j = 0; j < LAB_N; j++)); do
		mac=$(lab_exec "$j" cat /sys/class/net/eth0/address)
		for ((i = 0; i < LAB_N; i++)); do
			[ "$i" = "$j" ] && continue
			ip -n "$(lab_ns "$i")" neigh replace "$(lab_ip "$j")" lladdr "$mac" dev eth0 nud permanent
		done
	done
}

# lab_ping FROM TO [count]: succeeds when TO answers FROM.
lab_ping() { lab_exec "$1" ping -c "${3:-1}" -W 1 -i 0.2 -q "$(lab_ip "$2")" >/dev/null 2>&1; }

# lab_guest_stat I NAME: a counter of guest I's eth0 as its own kernel counts it.
lab_guest_stat() { lab_exec "$1" cat "/sys/class/net/eth0/statistics/$2"; }

# lab_counter PORT NAME: one counter of a port.
lab_counter() { lab_ctl counters "$1" --value "$2"; }
