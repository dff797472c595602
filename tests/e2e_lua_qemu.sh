#!/usr/bin/env bash
# End to end: Lua test files on QEMU guests. The seed example examples/link_flap.lua, unchanged,
# with every "peios" VM mapped to QEMU (--profile peios=qemu), and tests/lua_qemu/lab4.lua: four
# QEMU VMs pinging each other by name, carrier seen inside, a partition, a one-way 50 ms latency
# measured by ping in the guest, a capture, and a boot failure naming the VM with its console's
# last lines; tests/lua_qemu/snapshot.lua: vm:snapshot()/provium:snapshot() save a QEMU
# guest's state through QMP and restores resume it; tests/lua_qemu/proc.lua: vm:run_async and its
# Process through the guest agent. Then: no QEMU and no TAP of the runs is
# left, and a daemon killed with -9 leaves a QEMU guest that `tapyard cleanup` stops (the record
# names its pid and start time). Skips (77) without root, QEMU or an image. Run it under
# `flock /tmp/tapyard-e2e.lock` with the others.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
SRC=${TAPYARD_SRC:-$(dirname "$0")/..}

. "$(dirname "$0")/vm_lib.sh"

vm_require "TAPs, QEMU guests"

work=$(mktemp -d /tmp/tyqg-e2e-XXXXXX)
DPID=
e2e_cleanup() {
	local rc=$?
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	"$TAPYARD" cleanup --socket "$work/d.sock" >/dev/null 2>&1
	rm -rf "$work"
	exit $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The image, cached beside the build as e2e_vm.sh keeps it; guests boot from it.
export TAPYARD_IMAGE_DIR=${TAPYARD_IMAGE_DIR:-$(realpath -m "$(dirname "$TAPYARD")/guest-image")}
if ! "$TAPYARD" image build "$TAPYARD_IMAGE_DIR" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	skip "the guest image cannot be built here"
fi
export TYQG_KERNEL=$TAPYARD_IMAGE_DIR/vmlinux

# QEMU processes of tapyard's guests, and tapyard's guest TAPs, as they are now.
qemus() { pgrep -f 'qemu-system.*-serial file:/tmp/tapyard-guests-' | sort; }
taps() { ip -o link show type tun 2>/dev/null | awk -F': ' '{print $2}' | grep '^tyl' | sort; }
qemus_before=$(qemus)
taps_before=$(taps)

# lua_run LABEL PATTERN [ENV=V...] -- ARGS...: `tapyard test -v ARGS` into $out and $rc, timed;
# the lines matching PATTERN shown, and the failures when it failed.
lua_run() {
	local label=$1 pattern=$2 start env=()
	shift 2
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	start=$(date +%s%N)
	out=$(env "${env[@]}" "$TAPYARD" test -v "$@" 2>&1)
	rc=$?
	echo "$label: $((($(date +%s%N) - start) / 1000000)) ms"
	grep -E "$pattern" <<<"$out"
	[ "$rc" -eq 0 ] || grep -A12 "^    FAIL" <<<"$out"
}

lua_run "link_flap.lua on QEMU" 'agent ready|PASS|FAIL' -- --profile peios=qemu \
	"$SRC/examples/link_flap.lua"
check "examples/link_flap.lua passes unchanged with --profile peios=qemu" eq "$rc" 0
check "its VMs were QEMU guests" has "$out" "vm a booted (QEMU guest)"

lua_run "lab4.lua (4 QEMU VMs)" 'agent ready|rtt|PASS|FAIL|SKIP' 'TAPYARD_PROFILE=*=qemu' -- \
	"$SRC/tests/lua_qemu/lab4.lua"
check "tests/lua_qemu/lab4.lua passes (TAPYARD_PROFILE='*=qemu')" eq "$rc" 0
check "the boot failure test ran (not skipped)" has "$out" "PASS a QEMU VM that cannot boot"
# a failed boot keeps its logs for a person to read: this one was on purpose
sed -n 's/.*boot failed; its logs stay in \(\/tmp\/tapyard-guests-[^/]*\)\/vm-.*/\1/p' <<<"$out" |
	while read -r d; do rm -rf "$d"; done

lua_run "snapshot.lua (QEMU state saved and resumed)" 'saved in|resumed from|PASS|FAIL' -- \
	"$SRC/tests/lua_qemu/snapshot.lua"
check "tests/lua_qemu/snapshot.lua passes: vm and lab snapshots resume QEMU guests" eq "$rc" 0

lua_run "proc.lua (vm:run_async on QEMU guests)" 'PASS|FAIL' -- "$SRC/tests/lua_qemu/proc.lua"
check "tests/lua_qemu/proc.lua passes: background processes in QEMU guests" eq "$rc" 0

check "no QEMU of the runs is left" eq "$(qemus)" "$qemus_before"
check "no guest TAP of the runs is left" eq "$(taps)" "$taps_before"

# A daemon's QEMU guest is in its record: after kill -9, `tapyard cleanup` stops it.
"$TAPYARD" daemon --socket "$work/d.sock" 2>>"$work/daemon.log" &
DPID=$!
for _ in $(seq 50); do [ -S "$work/d.sock" ] && break; sleep 0.1; done
reply=$("$PY" - "$work/d.sock" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"cmd": "guest/add", "args": {"name": "tyqgd", "kind": "qemu", "wait": False}}).encode() + b"\n")
print(s.makefile().readline().strip())
PYEOF
)
check "the daemon launches a QEMU guest" has "$reply" '"ok":true'
qpid=$(qemus | grep -vxF -f <(echo "$qemus_before") | head -1)
check "its QEMU runs" test -n "$qpid"
check "the record names it" has "$(tr -d ' \n' <"$work/d.state" 2>/dev/null)" '"kind":"qemu","name":"tyqgd"'
vmdir=$(tr -d ' \n' <"$work/d.state" | sed -n 's/.*"dir":"\([^"]*\/vm-tyqgd\)".*/\1/p')
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
out=$("$TAPYARD" cleanup --socket "$work/d.sock" 2>&1)
echo "$out"
check "cleanup stops it" has "$out" "removed qemu tyqgd"
for _ in $(seq 20); do [ -z "$qpid" ] || ! kill -0 "$qpid" 2>/dev/null && break; sleep 0.1; done
check "no QEMU is left after cleanup" eq "$(qemus)" "$qemus_before"
check "cleanup removes its run directory" test -n "$vmdir" -a ! -e "$vmdir"
[ -n "$vmdir" ] && rm -rf "$(dirname "$vmdir")" # the dead daemon's guest directory (hosts file)

# A runner's QEMU guests are in no record: killed with -9, the runner takes them with it.
nap="121.$$" # a sleep of this run's own
cat >"$work/held.lua" <<EOF
test("held", function(t)
    provium:vm("tyqgheld", "qemu"):boot()
    io.open("$work/booted", "w"):close()
    os.execute("sleep $nap")
end)
EOF
"$TAPYARD" test "$work/held.lua" >"$work/held.out" 2>&1 &
rpid=$!
for _ in $(seq 900); do [ -e "$work/booted" ] && break; sleep 0.1; done
hpid=$(pgrep -f 'qemu-system.*-name tapyard-tyqgheld' | head -1)
check "a runner's QEMU guest boots" test -n "$hpid"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
for _ in $(seq 50); do [ -z "$hpid" ] || ! kill -0 "$hpid" 2>/dev/null && break; sleep 0.1; done
check "a runner killed with -9 takes its QEMU guest with it" \
	eval '[ -n "$hpid" ] && ! kill -0 "$hpid" 2>/dev/null'
[ -n "$hpid" ] && kill -9 "$hpid" 2>/dev/null
for p in $(pgrep -f "sleep $nap"); do kill -9 "$p"; done # the killed runner's own sleep
rm -rf /tmp/tapyard-guests-"$rpid"-* # the killed runner's guest directory

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
