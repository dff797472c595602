#!/usr/bin/env bash
# The tapyard demo lab: three namespace guests (a, b, c) on one userspace bridge. They ping each
# other, a one-way partition and a link flap are shown, per-port counters are printed, and
# everything is cleaned up on exit (also on Ctrl-C or failure).
#   usage: examples/demo.sh [path/to/tapyard]
set -u
here=$(cd "$(dirname "$0")" && pwd)
TAPYARD=${1:-${TAPYARD:-$here/../build/tapyard}}
LAB_PREFIX=tydemo
# shellcheck source=examples/lab.sh
. "$here/lab.sh"
lab_require
lab_trap

say() { printf '\n== %s\n' "$*"; }
names=(a b c)
ping_all() {
	local i j ok=0 bad=0
	for i in 0 1 2; do
		for j in 0 1 2; do
			[ "$i" = "$j" ] && continue
			if lab_ping "$i" "$j"; then
				printf '  %s -> %s  ok\n' "${names[$i]}" "${names[$j]}"; ok=$((ok + 1))
			else
				printf '  %s -> %s  no reply\n' "${names[$i]}" "${names[$j]}"; bad=$((bad + 1))
			fi
		done
	done
	[ "$bad" -eq 0 ]
}

say "starting tapyard with bridge ${LAB_PREFIX}br and three TAPs, one namespace guest each"
lab_start 3 || exit 1
for i in 0 1 2; do
	printf '  guest %s: namespace %s, eth0 = TAP %s, %s/24\n' "${names[$i]}" "$(lab_ns $i)" \
		"$(lab_tap $i)" "$(lab_ip $i)"
done
lab_ctl port list

say "every guest pings every other guest"
ping_all || { echo "demo: pings failed" >&2; exit 1; }

say "one-way partition a -> b (tapyard ctl partition cut $(lab_tap 0) $(lab_tap 1) --oneway)"
lab_ctl partition cut "$(lab_tap 0)" "$(lab_tap 1)" --oneway
lab_ping 0 1 && echo "  a -> b unexpectedly answered" || echo "  a -> b: no reply (a's requests are dropped)"
lab_ping 2 1 && echo "  c -> b still answers" || echo "  c -> b unexpectedly failed"
echo "  port $(lab_tap 0) drop_partition = $(lab_counter "$(lab_tap 0)" drop_partition)"
lab_ctl partition heal "$(lab_tap 0)" "$(lab_tap 1)" --oneway

say "link down on c: the guest sees NO-CARRIER"
lab_ctl link set "$(lab_tap 2)" down
lab_exec 2 ip -br link show eth0
lab_ping 0 2 && echo "  a -> c unexpectedly answered" || echo "  a -> c: no reply while the link is down"
lab_ctl link set "$(lab_tap 2)" up
sleep 0.3
lab_exec 2 ip -br link show eth0
lab_ping 0 2 3 && echo "  a -> c answers again" || echo "  a -> c still failing"

say "per-port counters (seen from each guest's side)"
lab_ctl counters

say "done; stopping tapyard and deleting the namespaces"
lab_cleanup

say "the same kind of lab as a Lua test: Provium's link-flap example, run by tapyard test"
sed -n '/^test(/,$p' "$here/link_flap.lua"
"$TAPYARD" test "$here/link_flap.lua"
