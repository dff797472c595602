-- Snapshots (Provium's section 2.5) for namespace guests: the open-stream guard with Provium's
-- message, DIR/lab.json with the bridge state, and a restore into a fresh lab.

local dir = os.tmpname()
os.remove(dir)

local function build()
    local lan = provium:bridge("lan", {subnet = "10.77.0.0/24"})
    local a, b, c = provium:vm("a"):boot(), provium:vm("b"):boot(), provium:vm("c"):boot()
    lan:attach({a, b, c})
    lan:partition("a", "ghost")                      -- on a name that is not a member
    lan:partition({from = "b", to = "c"})
    lan:isolate("c")
    lan:route("wan")
    lan:add_latency(5)
    lan:drop_rate({from = "a", to = "b", p = 0.5})
    lan:impair({from = "a", to = "c", jitter_ms = 2, seed = 7})
    lan:bandwidth_limit(50000000)
    return lan, a, b, c
end

test("an open stream makes the snapshot refuse, with a line per stream", function(t)
    local lan, a = build()
    local cap = lan:capture()
    local nic = a:nic("lan"):capture()
    local e = tostring(t:assert_raises(function() provium:snapshot(dir) end))
    t:assert_contains(e, "restore vm `lab` failed: lab:snapshot: 2 stream(s) still open")
    t:assert_contains(e, "\n  - capture(bridge lan) opened at ")
    t:assert_contains(e, "snapshot.lua:24")
    t:assert_contains(e, "Close streams before snapshotting.")
    e = tostring(t:assert_raises(function() a:snapshot() end))
    t:assert_contains(e, "restore vm `a` failed: vm:snapshot: 2 stream(s)")
    t:assert_contains(e, "Close streams")
    cap:close()
    nic:close()
    -- A closed capture no longer counts.
    t:assert_eq(provium:snapshot(dir), dir)
    local vs = a:snapshot()
    t:assert_contains(tostring(vs), "snapshot(")
    t:assert(vs:size() > 0)
    a:restore(vs)
    t:assert_eq(a:state(), "booted")
    -- a namespace guest's restore re-boots it: its new NIC may take a moment to carry
    wait_until(function() return a:run("ping -c 1 -W 1 b.lan"):ok() end,
               {timeout = "10s", desc = "a reaches b after the restore"})
    vs:delete()
end)

test("lab.json holds the bridge state", function(t)
    local f = io.open(dir .. "/lab.json")
    t:assert(f, "lab.json written by the test before")
    local snap = json.decode(f:read("a"))
    f:close()
    local b = snap.bridges[1]
    t:assert_eq(b.name, "lan")
    t:assert_eq(b.subnet, "10.77.0.0/24")
    t:assert_eq(#b.members, 3)
    t:assert_eq(b.latency_ms, 5)
    t:assert_eq(b.bandwidth_bps, 50000000)
    t:assert_eq(b.uplink_enabled, false)
    t:assert_eq(b.routes[1], "wan")
    t:assert_eq(b.isolated[1], "c")
    t:assert_eq(b.fully_partitioned, false)
    t:assert_eq(#b.partitions, 1)
    t:assert_eq(b.partitions[1][2], "ghost", "partitions on non-members are kept")
    t:assert_eq(b.directional_partitions[1][1], "b")
    t:assert_eq(#b.directional_impairments, 2)
    local seeded = false
    for _, p in ipairs(b.pair_knobs) do
        if p.to == "c" then seeded = p.knobs.seed == 7 and p.knobs.jitter_ms == 2 end
        if p.to == "b" then t:assert_eq(p.knobs.loss, 0.5, "fractional loss kept") end
    end
    t:assert(seeded, "every knob, the seed too")
    t:assert_eq(#snap.vms, 3)
end)

test("restore rebuilds the lab in a fresh lab and boots its guests", function(t)
    local lab = provium:lab("restored")
    lab:restore(dir)
    local lan = lab:bridge("lan")
    t:assert_eq(#lan:members(), 3)
    t:assert(lan:is_partitioned("a", "ghost"))
    t:assert(lan:is_isolated("c"))
    t:assert_eq(lan:latency_ms(), 5)
    t:assert_eq(lan:routes()[1], "wan")
    local a, b, c = lab.a, lab.b, lab.c
    t:assert_eq(a:state(), "booted")
    t:assert_eq(a:ip("lan"):sub(1, 8), "10.77.0.")
    a:run("ping -c 1 -W 2 b.lan"):assert_ok()
    t:assert_eq(a:run("ping -c 1 -W 1 c.lan").exit_code, 1, "c is isolated")
    local k = lan:impairment({from = "a", to = "c"}).knobs
    t:assert_eq(k.seed, 7)
    t:assert_eq(k.jitter_ms, 2)
    -- The snapshot userdata form, and the restore into the lab of the test itself.
    lab:shutdown()
end)

test("provium:snapshot() without dir returns a snapshot to restore from", function(t)
    local lan = provium:bridge("lan")
    lan:partition_all()
    local s = provium:snapshot()
    t:assert_contains(tostring(s), "lab_snapshot(/tmp/")
    local f = io.open(s:path() .. "/lab.json")
    t:assert(json.decode(f:read("a")).bridges[1].fully_partitioned)
    f:close()
    lan:close()
    provium:restore(s)
    t:assert(provium:bridge("lan"):is_partitioned("x", "y"))
    s:delete()
    t:assert_eq(io.open(s:path() .. "/lab.json"), nil)
    os.remove(dir .. "/lab.json")
    os.remove(dir)
end)
