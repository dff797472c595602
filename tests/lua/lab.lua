-- Lab objects: provium:bridge / vm / lab, lookups and scopes, config keys, handles that outlive
-- their test. No guest is booted here.

local file_bridge = provium:bridge("filebr", {})  -- file scope: lives until the file ends
local stash = {}

test("bridge: create, look up, duplicates", function(t)
    local lan = provium:bridge("lan", {})
    t:assert_eq(lan:name(), "lan")
    t:assert_eq(provium:bridge("lan"):name(), "lan", "one argument looks an existing bridge up")
    t:assert(provium:bridge("lan") == lan, "the same bridge compares equal")
    t:assert_eq(tostring(lan), "bridge(lan; 0 member(s))")
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge("lan", {}) end)),
                      "bridge name `lan` already used in this lab")
    -- One argument and no such bridge: created (the seed page's own usage).
    t:assert_eq(provium:bridge("fresh"):name(), "fresh")
    -- A file-scope bridge is visible from the test and cannot be redeclared there.
    t:assert(provium:bridge("filebr") == file_bridge)
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge("filebr", {}) end)),
                      "name already declared at a parent scope (lab `root`)")
    stash.bridge = lan
end)

test("bridge: argument errors", function(t)
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge() end)),
                      "lab:bridge: expected 1, 2, or 3 args, got 0")
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge("a", {}, 1, 2) end)),
                      "lab:bridge: expected 1, 2, or 3 args, got 4")
    for _, name in ipairs({"vm_fixture", "lab_fixture", "pack", "unpack"}) do
        t:assert_contains(tostring(t:assert_raises(function() provium:bridge(name, {}) end)),
                          "is reserved for the dot-access surface")
    end
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge(string.rep("x", 40), {}) end)),
                      "must be 1 to 31 bytes")
end)

test("objects of an ended test are closed handles", function(t)
    local e = t:assert_raises(function() stash.bridge:name() end)
    t:assert_contains(tostring(e), "bridge:name: this bridge was closed")
    t:assert_eq(tostring(stash.bridge), "bridge(closed)")
    -- The name is free again.
    t:assert_eq(provium:bridge("lan", {}):name(), "lan")
end)

test("vm: create, profiles, duplicates, names", function(t)
    local a = provium:vm("a", "peios")
    t:assert_eq(a:name(), "a")
    t:assert_eq(a:state(), "defined")
    t:assert_eq(tostring(a), "vm(a; defined)")
    local b = provium:vm("b", {ipv6 = true})
    t:assert_eq(b:name(), "b")
    local c = provium:vm("c", "peios", {memory = "2G", cpus = 2})
    t:assert_eq(c:state(), "defined")
    t:assert_contains(tostring(t:assert_raises(function() provium:vm("a") end)),
                      "vm name `a` already used in this lab")
    t:assert_contains(tostring(t:assert_raises(function() provium:vm("a.b") end)), "bad vm name `a.b`")
    t:assert_contains(tostring(t:assert_raises(function() provium:vm("x", 42) end)),
                      "expected a profile name or an opts table, got number")
    t:assert_contains(tostring(t:assert_raises(function() provium:vm("pack") end)), "is reserved")
    t:assert_contains(tostring(t:assert_raises(function() provium:vm(0 / 0) end)),
                      "lab:vm: expected a string name, got number")
    t:assert_contains(tostring(t:assert_raises(function() provium:bridge(1e300) end)),
                      "lab:bridge: expected a string name, got number")
    t:assert(a == provium.a, "dot lookup finds the vm")
    t:assert_eq(a:shutdown(), nil, "shutting down a vm that never booted is fine")
end)

test("lab: dot lookup, names, members, sub-labs", function(t)
    local lan = provium:bridge("lan", {})
    local wan = provium:bridge("wan", {})
    local a = provium:vm("a")
    t:assert(provium.lan == lan)
    t:assert(provium.a == a)
    t:assert(provium.filebr == file_bridge, "lookups fall through to the file's lab")
    t:assert_eq(provium.nothing, nil)
    t:assert_eq(table.concat(provium:bridge_names(), ","), "lan,wan")
    local sub = provium:lab("sub")
    t:assert_eq(sub:name(), "sub")
    t:assert_eq(tostring(sub), "lab(sub)")
    local sb = sub:bridge("subbr", {})
    t:assert(provium.sub == sub)
    t:assert(sub.subbr == sb)
    t:assert(sub.lan == lan, "a sub-lab sees its parent's objects")
    t:assert_eq(provium.subbr, nil, "a parent does not see into a sub-lab by dot lookup")
    local kinds = {}
    for _, m in ipairs(provium:members()) do kinds[#kinds + 1] = m.kind .. ":" .. m.name end
    t:assert_eq(table.concat(kinds, ","), "vm:a,bridge:lan,bridge:wan,lab:sub")
    t:assert(provium:boot() == provium, "boot returns the lab")
    t:assert_eq(a:state(), "booted")
    t:assert(provium:shutdown() == provium)
    t:assert_eq(a:state(), "stopped")
end)

test("lab: file-scope config keys", function(t)
    provium.reset_between_tests = true
    t:assert_contains(tostring(t:assert_raises(function() provium.colour = "red" end)),
                      "cannot set `provium.colour`: not a recognised file-scope config key. Known keys: reset_between_tests, timeout")
    local packed = provium.pack(">I2", 513)
    t:assert_eq(#packed, 2)
    t:assert_eq(provium.unpack(">I2", packed), 513)
end)

test("lab: a method called with a dot names the problem", function(t)
    local lan = provium:bridge("lan", {})
    t:assert_contains(tostring(t:assert_raises(function() lan.name() end)), "bad argument #1")
    t:assert_contains(tostring(t:assert_raises(function() lan.members(provium) end)),
                      "tapyard.bridge expected")
end)
