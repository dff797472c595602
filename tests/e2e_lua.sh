#!/usr/bin/env bash
# The Lua runner end to end: the examples and the Lua integration tests pass; the runner reports
# failures (file:line, values, traceback), skips, todo and load errors as documented; --list,
# --filter, --tap, --junit; two runs at once do not see each other; Ctrl-C tears everything
# down; `tapyard run` and `tapyard lsp-setup` work; nothing is left behind.
set -u
TAPYARD=${TAPYARD:-$(dirname "$0")/../build/tapyard}
SRC=${TAPYARD_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: namespace guests need root"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
tmp=$(mktemp -d /tmp/tyl-e2e-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$SRC" || exit 1
fail=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
has() { grep -qF -- "$2" <<<"$1"; }
leftovers() { ip -br link | grep -c '^tyl[0-9a-z]*-' ; }

# 1. The examples and the integration tests.
out=$("$TAPYARD" test examples/ tests/lua/ 2>"$tmp/stderr"); rc=$?
echo "$out" | grep -E '^(PASS|FAIL|SKIP) |passed,'
# A failure's message, traceback and log are in the runner's full output: show them.
[ $rc -eq 0 ] || grep -v '^PASS ' <<<"$out" | sed 's/^/# /'
check "examples and tests/lua pass (exit 0)" '[ $rc -eq 0 ]'
check "the last line is the summary with 0 failed" \
	'tail -n1 <<<"$out" | grep -qE "^[0-9]+ passed, 0 failed, [0-9]+ skipped$"'
check "the seed page's example passes unchanged" 'has "$out" "PASS examples/link_flap.lua (1 passed"'

# 2. Failures, skips, todo and load errors are reported as such.
out=$("$TAPYARD" test tests/lua_fail/ 2>"$tmp/stderr"); rc=$?
check "failing files exit 1" '[ $rc -eq 1 ]'
check "summary counts every outcome" '[ "$(tail -n1 <<<"$out")" = "1 passed, 8 failed, 3 skipped" ]'
check "an assertion failure names file:line and the values" \
	'has "$out" "tests/lua_fail/mixed.lua:3: assert_eq failed: 1 ~= 2"'
check "failures carry a traceback" 'has "$out" "stack traceback:"'
check "a failure swallowed by pcall still fails the test" 'has "$out" "mixed.lua:5: swallowed"'
check "a test timeout in Lua code" 'has "$out" "test timeout exceeded (300ms)"'
check "a test timeout during vm:run" 'has "$out" "mixed.lua:11: test timeout exceeded (500ms)"'
check "a loop around pcall cannot hold off its timeout" 'has "$out" "FAIL a loop around pcall cannot hold off its timeout"'
check "an error value imitating a skip fails" 'has "$out" "FAIL an error value that imitates a skip still fails"'
check "a file that does not load fails" 'has "$out" "chunk_error.lua:3: syntax error"'
check "todo() skips the whole file" 'has "$out" "SKIP tests/lua_fail/todo.lua (0 passed, 0 failed, 2 skipped"'

# 2b. The watchdog: tests held in C code past their deadline (tests/lua_stuck/).
out=$("$TAPYARD" test tests/lua_stuck/in_c.lua 2>"$tmp/stderr"); rc=$?
check "os.execute and io.popen cannot hold off a timeout" \
	'[ $rc -eq 1 ] && [ "$(tail -n1 <<<"$out")" = "1 passed, 2 failed, 0 skipped" ] &&
	 has "$out" "FAIL os.execute cannot hold off its timeout" &&
	 has "$out" "FAIL io.popen cannot hold off its timeout"'
check "the watchdog says what it killed" 'grep -q "is held in C code past its deadline" "$tmp/stderr"'
guest_dirs() { find /tmp -maxdepth 1 -name 'tapyard-guests-*' | sort; }
dirs_before=$(guest_dirs)
out=$(timeout 60 "$TAPYARD" test tests/lua_stuck/catastrophic.lua 2>"$tmp/stderr"); rc=$?
check "a test held in C code for good ends the run as timed out, with the summary" \
	'[ $rc -eq 1 ] && [ "$(tail -n1 <<<"$out")" = "1 passed, 1 failed, 0 skipped" ] &&
	 has "$out" "FAIL tests/lua_stuck/catastrophic.lua: a catastrophic string.find: test timeout exceeded"'
check "its guest's process, links and directory are gone" \
	'! pgrep -f "sleep 3171" >/dev/null && [ "$(leftovers)" -eq 0 ] && [ "$(guest_dirs)" = "$dirs_before" ]'

# 3. --list, --filter, --tap, --junit.
out=$("$TAPYARD" test --list tests/lua_fail/mixed.lua 2>"$tmp/stderr"); rc=$?
check "--list lists without running" \
	'[ $rc -eq 0 ] && has "$out" "tests/lua_fail/mixed.lua: times out in Lua" && ! has "$out" passed,'
out=$("$TAPYARD" test --filter "with values" tests/lua_fail/mixed.lua 2>"$tmp/stderr")
check "--filter runs the matching tests only" '[ "$(tail -n1 <<<"$out")" = "0 passed, 1 failed, 0 skipped" ]'
out=$("$TAPYARD" test --tap --junit "$tmp/j.xml" tests/lua_fail/mixed.lua tests/lua_fail/todo.lua 2>"$tmp/stderr")
check "--tap prints TAP 13" 'has "$out" "TAP version 13" && has "$out" "ok 1 - tests/lua_fail/mixed.lua: passes"'
check "--tap marks failures and skips" 'has "$out" "not ok 2 - " && has "$out" "# SKIP not here" && has "$out" "1..11"'
check "--junit writes one testcase per test" \
	'[ "$(grep -c "<testcase " "$tmp/j.xml")" -eq 11 ] && [ "$(grep -c "<failure " "$tmp/j.xml")" -eq 7 ]'
out=$("$TAPYARD" test --bogus x 2>&1); rc=$?
check "usage errors exit 2" '[ $rc -eq 2 ] && has "$out" "unknown option --bogus"'

# 4. Two runs of the same file at once: each lab is its own (bridge "lan", vms "a" and "b").
# Guests ping with a 1 s timeout on a shared 2-core machine: a pair that fails is shown in full and
# run once more, so a slow moment is told apart from labs that see each other (which fail twice).
concurrent_pair() {
	"$TAPYARD" test examples/link_flap.lua >"$tmp/p1" 2>&1 & p1=$!
	"$TAPYARD" test examples/link_flap.lua >"$tmp/p2" 2>&1 & p2=$!
	wait $p1; r1=$?
	wait $p2; r2=$?
	[ $r1 -eq 0 ] && [ $r2 -eq 0 ]
}
if ! concurrent_pair; then
	echo "# concurrent runs exited $r1 and $r2; their output follows, then one more try"
	sed 's/^/#   /' "$tmp/p1" "$tmp/p2"
	concurrent_pair
fi
check "two concurrent runs of one file both pass" '[ $r1 -eq 0 ] && [ $r2 -eq 0 ]'

# 5. Ctrl-C in the middle of a test: exit 130, guests, TAPs and processes gone.
mark="$tmp/started"
nap="300.$$" # a sleep of this run's own, so that no other process on the machine is taken for it
cat >"$tmp/slow.lua" <<EOF
test("slow", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    lan:attach(a)
    a:run("sleep $nap >/dev/null 2>&1 &")
    a:run("touch $mark; sleep $nap")
end)
EOF
"$TAPYARD" test "$tmp/slow.lua" >"$tmp/slow.out" 2>"$tmp/stderr" & ps=$!
pids+=("$ps")
for _ in $(seq 100); do [ -e "$mark" ] && break; sleep 0.1; done
kill -INT "$ps"
wait "$ps"; rc=$?
check "Ctrl-C stops the run with exit 130" '[ $rc -eq 130 ]'
check "Ctrl-C fails the running test as interrupted" 'grep -q "slow.lua:6: interrupted" "$tmp/slow.out"'
check "no process of the test is left" '! pgrep -xf "sleep $nap" >/dev/null'

# The reader of the output goes away (`tapyard test -v ... | head -1`): the run stops as on Ctrl-C.
nap2="301.$$"
cat >"$tmp/chatty.lua" <<EOF
test("chatty", function(t)
    local a = provium:vm("a"):boot()
    a:run_async("sleep $nap2")
    for i = 1, 200 do t:log("line " .. i); a:run("true") end
end)
EOF
timeout 120 "$TAPYARD" test -v "$tmp/chatty.lua" 2>&1 | head -1 >/dev/null
check "a closed output stops the run: nothing of it is left" \
	'! pgrep -xf "sleep $nap2" >/dev/null && [ "$(leftovers)" -eq 0 ]'

# 6. tapyard run and lsp-setup.
cat >"$tmp/script.lua" <<'EOF'
local lan = provium:bridge("lan")
local a, b = provium:vm("a"):boot(), provium:vm("b"):boot()
lan:attach({a, b})
print("args:", arg[1], arg[2])
print("ping:", a:run("ping -c 1 -W 1 b.lan"):ok())
EOF
out=$("$TAPYARD" run "$tmp/script.lua" x y 2>&1); rc=$?
check "tapyard run runs a script with the API" '[ $rc -eq 0 ] && has "$out" "args:	x	y" && has "$out" "ping:	true"'
out=$("$TAPYARD" run "$tmp/missing.lua" 2>&1); rc=$?
check "tapyard run reports a missing file" '[ $rc -eq 1 ] && has "$out" "missing.lua"'
"$TAPYARD" lsp-setup "$tmp" >/dev/null
check "lsp-setup writes stubs and .luarc.json" \
	'grep -q "^---@meta tapyard" "$tmp/.tapyard/tapyard.lua" && grep -q workspace.library "$tmp/.luarc.json"'

check "nothing left behind" '[ "$(leftovers)" -eq 0 ]'
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
