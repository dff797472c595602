-- The runner's options as Provium's section 4.4 has them: --json (one object per file), -q,
-- --tag/--no-tag, meta.slow with --include-slow, and timeouts written as Provium writes
-- durations. Each test runs `tapyard test` (this very program, the shell's parent) on tests/lua_runner/select.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local fixture = here .. "/../lua_runner/select.lua"

local function run(opts)
    local p = io.popen("exec /proc/$PPID/exe test " .. opts .. " " .. fixture .. " 2>&1")
    local out = p:read("a")
    local _, _, code = p:close()
    return out, code
end

-- The outcomes of a --json run by test name.
local function by_name(report)
    local tests = {}
    for _, c in ipairs(report.tests) do tests[c.name] = c end
    return tests
end

test("--json prints one object per file", function(t)
    local out, code = run("--json")
    t:assert_eq(code, 1, "a failure still exits 1")
    local line = out:match("^([^\n]*)\n$")
    t:assert(line, "exactly one line: " .. out)
    local r = json.decode(line)
    t:assert_contains(r.path, "lua_runner/select.lua")
    t:assert_eq(r.timeout, "in_time")
    t:assert_eq(r.passed, false)
    t:assert_eq(r.chunk_error, nil)
    local c = by_name(r)
    t:assert_eq(c.plain.status, "passed")
    t:assert_eq(c.plain.log[1], "first line")
    t:assert_eq(c.plain.log[2], "second line")
    t:assert_eq(c.fails.status, "failed")
    t:assert_contains(c.fails.message, "on purpose")
    t:assert_eq(c.slow.status, "skipped")
end)

test("meta.slow is skipped unless --include-slow", function(t)
    local c = by_name(json.decode(run("--json --no-tag timeout")))
    t:assert_eq(c.slow.message, "filtered: slow tests skipped (pass --include-slow)")
    c = by_name(json.decode(run("--json --include-slow --no-tag timeout")))
    t:assert_eq(c.slow.status, "passed")
end)

test("--tag and --no-tag select by meta.tags", function(t)
    local c = by_name(json.decode(run("--json --tag unit --tag fast")))
    t:assert_eq(c["tagged net"].status, "passed")
    t:assert_eq(c["tagged unit"].status, "passed", "a string tag counts")
    t:assert_eq(c.plain.status, "skipped")
    t:assert_contains(c.plain.message, "filtered")
    t:assert_eq(c.fails.status, "skipped")
    c = by_name(json.decode(run("--json --no-tag net --no-tag timeout")))
    t:assert_eq(c["tagged net"].status, "skipped")
    t:assert_eq(c.fails.status, "skipped")
    t:assert_eq(c.plain.status, "passed")
    t:assert_eq(c["tagged unit"].status, "passed")
end)

test("-q prints failures only", function(t)
    local out = run("-q --no-tag net --filter plain")
    t:assert_eq(out, "1 passed, 0 failed, 0 skipped\n")
    out = run("-q --no-tag timeout")
    t:assert_contains(out, "FAIL ")
    t:assert_contains(out, "on purpose")
    t:assert(not out:find("PASS "), "no PASS line with -q: " .. out)
end)

test("timeouts are written as Provium writes durations", function(t)
    local out = run("--filter 'times out'")
    t:assert_contains(out, "test timeout exceeded (500ms)")
    t:assert_contains(out, "test timeout exceeded (1s)")
end)

test("wait_until writes its timeout as Provium does", function(t)
    local e = tostring(t:assert_raises(function()
        wait_until(function() return false end, {timeout = 1, interval = 0.5, desc = "never"})
    end))
    t:assert_contains(e, "wait_until: never not met within 1s")
end)
