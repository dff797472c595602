# shellcheck shell=bash
# holder_lib.sh: what e2e_netdev.sh and e2e_bridge_helper.sh share: the checks' bookkeeping, the
# skips, and guests whose NIC is a TAP that tests/tap_holder.py holds as a hypervisor would.
# Source it after setting TAPYARD; it sets HOLDER, work (a private directory, mode 755), and the
# arrays PIDS (processes to stop) and HELD (holder pids by guest). holder_cleanup stops them,
# deletes the guests' namespaces and the work directory.

HOLDER="$(dirname "${BASH_SOURCE[0]}")/tap_holder.py"

[ "$(id -u)" = 0 ] || { echo "skip: needs root (TAPs, namespaces)"; exit 77; }
[ -w /dev/net/tun ] || { echo "skip: no /dev/net/tun"; exit 77; }
command -v python3 >/dev/null || { echo "skip: needs python3 (the TAP holder)"; exit 77; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
has() { grep -q -- "$2" <<<"$1" || { echo "    '$2' not in: $1" >&2; return 1; }; }
summary() { echo "# $pass passed, $fail failed"; [ "$fail" = 0 ]; }

work=$(mktemp -d /tmp/tynd-e2e-XXXXXX)
chmod 755 "$work"
PIDS=()
declare -A HELD=()
GUESTS=()

holder_cleanup() {
	local p n
	for p in "${HELD[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for n in "${GUESTS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$work"
}

# start_daemon SOCKET ARGS...: a daemon in the background (log: $work/daemon.log), waiting
# until it answers.
start_daemon() {
	local sock=$1
	shift
	"$TAPYARD" daemon --socket "$sock" "$@" 2>>"$work/daemon.log" &
	PIDS+=($!)
	for _ in $(seq 100); do
		"$TAPYARD" ctl --socket "$sock" status >/dev/null 2>&1 && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# guest X ADDR: namespace tynd-nX with eth0 ADDR/24, its veth's other end "wire" inside too
# (where the holder plays the guest's NIC).
guest() {
	GUESTS+=("tynd-n$1")
	ip netns add "tynd-n$1"
	ip -n "tynd-n$1" link add eth0 type veth peer name wire
	ip -n "tynd-n$1" addr add "$2/24" dev eth0
	ip -n "tynd-n$1" link set eth0 up
	ip -n "tynd-n$1" link set wire up
}

# hold X HOLDER-ARGS...: guest X's "hypervisor" (tap_holder.py HOLDER-ARGS), waiting until it
# holds its TAP; sets TAP to the TAP's name. Output in $work/holder-X.out.
hold() {
	local x=$1 out=$work/holder-$1.out
	shift
	TAP=
	python3 "$HOLDER" "$@" --netns "tynd-n$x" --dev wire >"$out" 2>&1 &
	HELD[$x]=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$out" && { TAP=$(sed -n 's/^ready //p' "$out"); return 0; }
		kill -0 "${HELD[$x]}" 2>/dev/null || { cat "$out" >&2; return 1; }
		sleep 0.05
	done
	return 1
}

# unhold X: guest X's hypervisor exits.
unhold() { kill "${HELD[$1]}" && wait "${HELD[$1]}" 2>/dev/null; unset "HELD[$1]"; }
