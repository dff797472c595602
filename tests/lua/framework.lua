-- The test framework surface: t's assertions and their messages, sticky failures, wait_until,
-- durations, json. (Failing and timing-out tests live in tests/lua_fail/, run by e2e_lua.sh.)

test("t has name and meta", {tags = {"unit"}, spec = "4.2"}, function(t)
    t:assert_eq(t.name, "t has name and meta")
    t:assert_eq(t.meta.spec, "4.2")
    t:assert_eq(t.meta.tags[1], "unit")
    t:assert_contains(tostring(t), "t has name and meta")
    t:log("a log line")
    t:log(42)
end)

test("assertions pass on good values", function(t)
    t:assert(true)
    t:assert(1, "numbers are true")
    t:assert_eq(1, 1)
    t:assert_eq("a", "a")
    t:assert_neq(1, 2)
    t:assert_neq("1", 1)
    t:assert_contains("hello world", "o w")
    t:assert_contains("a.b", ".", "plain find, not a pattern")
end)

test("assertion messages", function(t)
    local function msg(fn)
        return tostring(t:assert_raises(fn))
    end
    t:assert_contains(msg(function() t:assert(false) end), "assertion failed")
    t:assert_contains(msg(function() t:assert(nil, "custom") end), "custom")
    t:assert_contains(msg(function() t:assert_eq(1, 2) end), "assert_eq failed: 1 ~= 2")
    t:assert_contains(msg(function() t:assert_eq("x", "y", "names") end), "names: x ~= y")
    t:assert_contains(msg(function() t:assert_neq(3, 3) end), "assert_neq failed: 3 == 3")
    t:assert_contains(msg(function() t:assert_contains("abc", "z") end),
                      "assert_contains failed: z not found in: abc")
    t:assert_contains(msg(function() t:assert_contains(1, "z") end),
                      "assert_contains: both arguments must be strings")
    t:assert_contains(msg(function() t:fail() end), "explicit failure (t:fail)")
    t:assert_contains(msg(function() t:fail("boom") end), "boom")
    t:assert_contains(msg(function() t:assert_raises(function() end) end),
                      "assert_raises: expected to raise")
    t:assert_contains(msg(function() t:assert_raises(function() end, "m") end), "m: expected to raise")
    -- The location is the caller's line in this file.
    t:assert_contains(msg(function() t:assert(false) end), "framework.lua:")
end)

test("assert_raises returns the error value and un-sticks failures inside", function(t)
    local err = t:assert_raises(function() error({code = 7}) end)
    t:assert_eq(err.code, 7)
    err = t:assert_raises(function() error("plain", 0) end)
    t:assert_eq(err, "plain")
    -- A failing assertion inside fn raised as expected: the test does not stay failed.
    t:assert_raises(function() t:assert_eq(1, 2) end)
end)

test("t:skip counts as skipped", function(t)
    t:skip("skipping on purpose")
    t:fail("not reached")
end)

test("meta.skip skips without running", {skip = "not today"}, function(t)
    t:fail("not reached")
end)

test("todo inside a test skips it", function(t)
    todo("later")
    t:fail("not reached")
end)

test("wait_until returns the first truthy value", function(t)
    local n = 0
    local v = wait_until(function()
        n = n + 1
        return n >= 3 and ("done " .. n)
    end, {timeout = "2s", interval = "10ms"})
    t:assert_eq(v, "done 3")
    t:assert_eq(wait_until(function() return 5 end), 5)
end)

test("wait_until errors", function(t)
    local e = t:assert_raises(function()
        wait_until(function() return false end, {timeout = "50ms", interval = 0.01, desc = "never"})
    end)
    t:assert_contains(tostring(e), "wait_until: never not met within 0.05s")
    e = t:assert_raises(function() wait_until(function() error("inner") end) end)
    t:assert_contains(tostring(e), "inner")
    e = t:assert_raises(function() wait_until(function() return true end, {timeout = {}}) end)
    t:assert_contains(tostring(e), "wait_until: timeout must be a number or string, got table")
    e = t:assert_raises(function() wait_until(function() return true end, {interval = "abc"}) end)
    t:assert_contains(tostring(e), "wait_until: bad interval string `abc` (expected number with ms/s/m/h suffix)")
    e = t:assert_raises(function() wait_until(function() return true end, {timeout = "5d"}) end)
    t:assert_contains(tostring(e), "wait_until: bad timeout unit `d`")
    e = t:assert_raises(function() wait_until(function() return true end, {timeout = -1}) end)
    t:assert_contains(tostring(e), "duration: must be a finite, non-negative number")
end)

test("durations", function(t)
    -- provium.timeout takes a duration and reads back in seconds.
    for d, secs in pairs({[2] = 2, [0.5] = 0.5, ["1500ms"] = 1.5, ["3s"] = 3, ["2m"] = 120,
                          ["1h"] = 3600, ["7"] = 7}) do
        provium.timeout = d
        t:assert_eq(provium.timeout, secs, "duration " .. tostring(d))
    end
    provium.timeout = nil
    t:assert_eq(provium.timeout, nil)
    local e = t:assert_raises(function() provium.timeout = "5x" end)
    t:assert_contains(tostring(e), "duration: cannot parse `5x` (expected number or `Nms`/`Ns`/`Nm`/`Nh`)")
    e = t:assert_raises(function() provium.timeout = {} end)
    t:assert_contains(tostring(e), "duration: expected number|string, got table")
    e = t:assert_raises(function() provium.timeout = -1 end)
    t:assert_contains(tostring(e), "duration: must be a finite, non-negative number (got -1")
    e = t:assert_raises(function() provium.timeout = 0 / 0 end)
    t:assert_contains(tostring(e), "duration: must be a finite, non-negative number")
    e = t:assert_raises(function() provium.timeout = math.huge end)
    t:assert_contains(tostring(e), "duration: must be a finite, non-negative number")
    t:assert_eq(provium.timeout, nil)
end)

test("json round trip", function(t)
    local v = {a = 1, b = {1, 2, 3}, c = "x", d = true, e = 1.5, f = {g = {}}}
    local s = json.encode(v)
    t:assert_eq(s, '{"a":1,"b":[1,2,3],"c":"x","d":true,"e":1.5,"f":{"g":{}}}')
    local back = json.decode(s)
    t:assert_eq(back.b[3], 3)
    t:assert_eq(back.e, 1.5)
    t:assert_eq(math.type(back.a), "integer")
    t:assert_eq(json.decode("null"), nil)
    t:assert_eq(json.decode('{"x":null}').x, nil)
    t:assert_eq(json.encode("s"), '"s"')
    t:assert_eq(json.encode({}), "{}")
    t:assert_contains(json.encode({1}, {pretty = true}), "\n")
end)

test("json errors", function(t)
    t:assert_contains(tostring(t:assert_raises(function() json.decode("{") end)), "json.decode:")
    t:assert_contains(tostring(t:assert_raises(function() json.encode({f = print}) end)),
                      "json.encode: cannot encode a function")
    local loop = {}
    loop.self = loop
    t:assert_contains(tostring(t:assert_raises(function() json.encode(loop) end)), "nested too deep")
    t:assert_contains(tostring(t:assert_raises(function() json.encode(0 / 0) end)), "NaN")
    t:assert_contains(tostring(t:assert_raises(function() json.encode("\xff") end)), "UTF-8")
    t:assert_contains(tostring(t:assert_raises(function() json.encode({[true] = 1}) end)),
                      "keys must be strings or numbers")
end)

test("test() argument errors", function(t)
    t:assert_contains(tostring(t:assert_raises(function() test(1, function() end) end)),
                      "test(name, [meta,] fn): bad arguments")
    t:assert_contains(tostring(t:assert_raises(function() test("x") end)), "bad arguments")
    t:assert_contains(tostring(t:assert_raises(function() test("json errors", function() end) end)),
                      "test: duplicate name `json errors` in this file")
end)

test("os.exit() in a test raises instead of leaving the lab behind", function(t)
    t:assert_contains(tostring(t:assert_raises(function() os.exit(3) end)),
                      "os.exit() called in a test file")
end)
