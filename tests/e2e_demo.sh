#!/usr/bin/env bash
# The quick start's demo must keep working: run it and check what it shows and that it leaves nothing.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the demo needs root"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
out=$(bash "$(dirname "$0")/../examples/demo.sh" "$TAPYARD" 2>&1); rc=$?
echo "$out"
fail=0
expect() { grep -q -- "$1" <<<"$out" && echo "ok - demo shows: $1" || { echo "not ok - demo lacks: $1"; fail=$((fail + 1)); }; }
[ $rc -eq 0 ] && echo "ok - demo exits 0" || { echo "not ok - demo exit code $rc"; fail=$((fail + 1)); }
expect "c -> b  ok"
expect "a -> b: no reply"
expect "drop_partition = [1-9]"
expect "NO-CARRIER"
expect "a -> c answers again"
expect "tydemo2 (bridge tydemobr)"
expect "^1 passed, 0 failed"
left=$( { ip netns list; ip -br link; } | grep -c '^tydemo')
[ "$left" -eq 0 ] && echo "ok - nothing left behind" || { echo "not ok - $left tydemo objects left"; fail=$((fail + 1)); }
echo "$((9 - fail)) passed, $fail failed"
[ $fail -eq 0 ]
