#!/usr/bin/env bash
# End to end: the guest image and agent. `tapyard image build` (cached beside the build, so a
# second run reuses it), then one QEMU guest under TCG (`tapyard image boot`) with one TAP that
# tapyard creates and hands to QEMU: the agent answers, `run` gives uname -r, exit codes,
# stderr, timeouts and signals as namespace guests do, bad requests get errors naming the
# field, `nic` gives eth0 its address, the host pings the guest (the TAP's netdev moved into a
# throwaway namespace), carrier and hosts work. Then the user-kernel path (an agent initramfs
# appended to another) boots too, and a boot that cannot finish fails naming the VM with the
# console's last lines. Skips (77) without root, QEMU or an image.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
NS=tyvmns
TAP=tyvm0
MAC=52:54:00:7e:00:01

. "$(dirname "$0")/vm_lib.sh"

vm_require "TAPs, namespaces"

work=$(mktemp -d /tmp/tyvm-e2e-XXXXXX)
VM_PID=
e2e_cleanup() {
	local rc=$?
	if [ -n "$VM_PID" ]; then
		exec {VM_IN}>&- 2>/dev/null
		kill "$VM_PID" 2>/dev/null
		wait "$VM_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	ip link del "$TAP" 2>/dev/null
	rm -rf "$work"
	exit $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# The image, cached beside the build (CI builds it once per run; a developer once).
IMAGE=${TAPYARD_IMAGE_DIR:-$(dirname "$TAPYARD")/guest-image}
start=$(date +%s%N)
if ! "$TAPYARD" image build "$IMAGE" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	skip "the guest image cannot be built here"
fi
echo "image build (or cache check): $((($(date +%s%N) - start) / 1000000)) ms"
grep '^image: \(built\|up to date\)' "$work/build.log"
again=$("$TAPYARD" image build "$IMAGE" 2>&1)
check "a second build is up to date" has "$again" "up to date"
info=$("$TAPYARD" image info "$IMAGE")
release=$(sed -n 's/^kernel *\([^ ]*\) .*/\1/p' <<<"$info")
check "image info names the kernel" has "$release" "amd64"
check "image info lists the virtio modules" has "$info" "virtio_net"

# The VM: requests on fd VM_IN, replies read from fd VM_OUT.
mkfifo "$work/in" "$work/out"
"$TAPYARD" image boot "$IMAGE" --run-dir "$work" --name tyvm-a --tap "$TAP=$MAC" \
	<"$work/in" >"$work/out" 2>"$work/boot.log" &
VM_PID=$!
exec {VM_IN}>"$work/in" {VM_OUT}<"$work/out"
for _ in $(seq 1200); do
	grep -q "ready in" "$work/boot.log" && break
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.05
done
cat "$work/boot.log"
if ! grep -q "ready in" "$work/boot.log"; then
	bad "the guest agent answered"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "the guest agent answered ($(sed -n 's/.*\(ready in [0-9]* ms\).*/\1/p' "$work/boot.log"))"

# req JSON: one request, its reply in REPLY.
req() {
	echo "$1" >&"$VM_IN"
	REPLY=
	read -r -t 120 REPLY <&"$VM_OUT"
}

req '{"cmd":"hello"}'
check "hello names the agent and the kernel" has "$REPLY" "\"kernel\": *\"$release\""

req '{"cmd":"run","args":{"cmd":"uname -r"}}'
check "run: uname -r is the image's kernel" eq "$(jget "$REPLY" result.stdout)" "$release"

req '{"cmd":"run","args":{"cmd":"echo out; echo err >&2; exit 7"}}'
check "run: exit code" eq "$(jget "$REPLY" result.exit_code result.status)" "7/exited"
check "run: stdout and stderr apart" eq "$(jget "$REPLY" result.stdout result.stderr)" "out
/err"
check "run: not timed out, no signal" eq "$(jget "$REPLY" result.timed_out result.signal)" "false/null"

req '{"cmd":"run","args":{"argv":["sleep","30"],"timeout_ms":500}}'
check "run: a timeout kills (SIGKILL)" eq "$(jget "$REPLY" result.status result.timed_out result.exit_code result.signal)" "timed_out/true/-2/9"

req '{"cmd":"run","args":{"cmd":"sleep 30","timeout_ms":300,"signal":15}}'
check "run: a timeout with signal 15" eq "$(jget "$REPLY" result.status result.signal)" "timed_out/15"

req '{"cmd":"run","args":{"cmd":"kill -TERM $$"}}'
check "run: killed by a signal" eq "$(jget "$REPLY" result.status result.exit_code result.signal)" "signalled/-1/15"

req '{"cmd":"run","args":{"cmd":"cat","stdin":"fed in","env":{"TYVM":"x"}}}'
check "run: stdin is fed" eq "$(jget "$REPLY" result.stdout)" "fed in"

req '{"cmd":"run","args":{"cmd":"echo hi","bogus":1}}'
check "a bad request names its field" eq "$(jget "$REPLY" error.code error.message)" "EINVAL/args.bogus: unknown field for run"

req '{"cmd":"run","args":{"cmd":"true","argv":["true"]}}'
check "run: cmd and argv together are refused" eq "$(jget "$REPLY" ok error.code)" "false/EINVAL"

req '{"cmd":"nic","args":{"mac":"52:54:00:00:00:99","name":"eth0"}}'
check "nic: an unknown MAC is an error" has "$(jget "$REPLY" error.message)" "no link has MAC 52:54:00:00:00:99"

req "{\"cmd\":\"nic\",\"args\":{\"mac\":\"$MAC\",\"name\":\"eth0\",\"addr\":\"10.99.7.2\",\"prefix\":24}}"
check "nic: eth0 configured" eq "$(jget "$REPLY" ok result.name)" "true/eth0"
req '{"cmd":"run","args":{"cmd":"ip -4 -o addr show eth0"}}'
check "nic: eth0 has the address" has "$(jget "$REPLY" result.stdout)" "inet 10.99.7.2/24"

req '{"cmd":"carrier","args":{"name":"eth0","wait_for":true,"timeout_ms":5000}}'
check "carrier: eth0 has carrier" eq "$(jget "$REPLY" result.carrier result.up)" "true/true"
req '{"cmd":"run","args":{"cmd":"cat /sys/class/net/eth0/carrier"}}'
check "carrier: /sys/class/net/eth0/carrier is 1" eq "$(jget "$REPLY" result.stdout)" "1"

# The host side: the TAP's netdev (QEMU holds its fd) moves into a namespace of the test.
ip netns add "$NS"
ip link set "$TAP" netns "$NS"
ip -n "$NS" addr add 10.99.7.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up
check "the host pings the guest" ip netns exec "$NS" ping -c 3 -i 0.2 -W 5 -q 10.99.7.2
req '{"cmd":"run","args":{"cmd":"ping -c 1 -W 5 10.99.7.1"}}'
check "the guest pings the host" eq "$(jget "$REPLY" result.exit_code)" "0"

req '{"cmd":"hosts","args":{"text":"127.0.0.1 localhost\n10.99.7.1 host.lan\n"}}'
req '{"cmd":"run","args":{"cmd":"grep host.lan /etc/hosts"}}'
check "hosts: /etc/hosts written" eq "$(jget "$REPLY" result.stdout)" "10.99.7.1 host.lan"

req '{"cmd":"run","args":{"cmd":"ip link set eth0 down"}}'
req '{"cmd":"carrier","args":{"name":"eth0","wait_for":false,"timeout_ms":5000}}'
check "carrier: eth0 down has no carrier" eq "$(jget "$REPLY" result.carrier result.up)" "false/false"

exec {VM_IN}>&-
wait "$VM_PID"
check "image boot ends at EOF" eq "$?" "0"
VM_PID=
check "the TAP is gone with it" eval '! ip -n "$NS" link show "$TAP" >/dev/null 2>&1'
check "the console log is kept" grep -q "tapyard-init: starting the agent" "$work/console.log"

# A kernel and initramfs of one's own: the agent comes on a second archive, appended.
"$TAPYARD" image agent-initrd "$work/agent.cpio" --dir "$IMAGE"
cat "$IMAGE/initrd.cpio" "$work/agent.cpio" >"$work/both.cpio"
out=$(echo '{"cmd":"run","args":{"cmd":"uname -r"}}' |
	"$TAPYARD" image boot --run-dir "$work" --name tyvm-own --kernel "$IMAGE/vmlinux" \
		--initrd "$work/both.cpio" 2>"$work/own.log")
check "a user kernel with the agent initramfs appended boots" eq "$(jget "$out" result.stdout)" "$release"

# A boot that cannot finish: named, with the console's last lines.
err=$("$TAPYARD" image boot "$IMAGE" --run-dir "$work" --name tyvm-slow --timeout 1 </dev/null 2>&1)
check "a boot timeout names the VM" has "$err" 'vm "tyvm-slow": boot timeout'
check "a boot timeout shows the console" has "$err" "console ($work/console.log), last lines"
err=$("$TAPYARD" image boot --run-dir "$work" --name tyvm-none --kernel /nonexistent --initrd /nonexistent </dev/null 2>&1)
check "a missing kernel names the VM" has "$err" 'vm "tyvm-none": kernel /nonexistent'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
