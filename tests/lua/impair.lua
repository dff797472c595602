-- Impairments on real traffic (skipped, with the reason, when the build has no impair/*):
-- whole-bridge applies to VM-to-VM frames, {from=, to=} to one direction only, declared
-- before boot holds from boot, any knob through bridge:impair{}. Only lower bounds on time.

local function need(t)
    local ok, e = pcall(function() provium:bridge("probe", {}):add_latency(0) end)
    if not ok and tostring(e):find("not available") then
        t:skip("impairments are not in this build: " .. tostring(e))
    end
end

local function rtt(r)
    return tonumber(r.stdout:match("= [%d.]+/([%d.]+)/"))
end

local function pair()
    local lan = provium:bridge("lan", {})
    local a, b = provium:vm("a"), provium:vm("b")
    lan:attach({a, b})
    return lan, a, b
end

test("whole-bridge latency counts once per crossing", function(t)
    need(t)
    local lan, a, b = pair()
    provium:boot()
    lan:add_latency(30)
    t:assert(rtt(a:run("ping -c 2 -i 0.2 -q b.lan"):assert_ok()) >= 60)
end)

test("one-way latency delays only that direction", function(t)
    need(t)
    local lan, a, b = pair()
    lan:add_latency({from = a, to = b, ms = 40})  -- declared before boot
    provium:boot()
    t:assert(rtt(a:run("ping -c 2 -i 0.2 -q b.lan"):assert_ok()) >= 40)
    local s = lan:impairment({from = a, to = b})
    t:assert_eq(s.knobs.delay_ms, 40)
    local back = lan:impairment({from = b, to = a})
    t:assert_eq(back.knobs.delay_ms or 0, 0, "b -> a has no delay")
end)

test("loss: 100% whole bridge cuts, drops are counted", function(t)
    need(t)
    local lan, a, b = pair()
    provium:boot()
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()
    lan:drop_rate(100)
    t:assert_eq(a:run("ping -c 2 -i 0.2 -W 1 b.lan").exit_code, 1)
    t:assert(b:nic("lan"):counters().drop_impair_loss >= 2, "a's echoes were lost on the way to b")
    lan:drop_rate(0)
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()
end)

test("one-way loss follows its vm across a reboot", function(t)
    need(t)
    local lan, a, b = pair()
    lan:drop_rate({from = a, to = b, p = 100})
    provium:boot()
    t:assert_eq(a:run("ping -c 1 -W 1 b.lan").exit_code, 1)
    b:shutdown()
    b:boot()
    t:assert_eq(a:run("ping -c 1 -W 1 b.lan").exit_code, 1, "re-applied to b's new port")
    lan:drop_rate({from = a, to = b, p = 0})
    -- a's ARP requests were lost too: its neighbour entry for b needs a new resolution.
    wait_until(function() return a:run("ping -c 1 -W 1 b.lan"):ok() end,
               {timeout = "10s", desc = "a reaches b once the loss is gone"})
end)

test("impair{} passes any knob and mode", function(t)
    need(t)
    local lan, a, b = pair()
    provium:boot()
    lan:impair({delay_ms = 10, jitter_ms = 2, seed = 7})
    local k = lan:impairment().knobs
    t:assert_eq(k.delay_ms, 10)
    t:assert_eq(k.jitter_ms, 2)
    lan:impair({duplicate = 50})
    t:assert_eq(lan:impairment().knobs.delay_ms, 10, "update keeps the other knobs")
    lan:impair({mode = "replace", loss = 1})
    t:assert_eq(lan:impairment().knobs.delay_ms or 0, 0, "replace resets them")
    lan:impair({from = a, to = b, delay_ms = 20, reorder = 10})
    t:assert_eq(lan:impairment({from = a, to = b}).knobs.reorder, 10)
    a:run("ping -c 2 -i 0.2 -q b.lan")
    t:assert_eq(type(lan:impairment({from = a, to = b}).stats), "table")
    lan:reset()
    t:assert_eq(lan:impairment().knobs.loss or 0, 0)
end)

test("bandwidth composes with latency", function(t)
    need(t)
    local lan, a, b = pair()
    provium:boot()
    lan:add_latency(20)
    lan:bandwidth_limit(2000000)
    t:assert_eq(lan:bandwidth_bps(), 2000000)
    t:assert_eq(lan:latency_ms(), 20)
    t:assert(rtt(a:run("ping -c 2 -i 0.2 -q b.lan"):assert_ok()) >= 40, "latency still applies")
end)

test("impairment errors", function(t)
    need(t)
    local lan, a = pair()
    t:assert_eq(lan:impairment({from = a, to = "b"}).pending, true, "declared, not booted")
    t:assert_contains(tostring(t:assert_raises(function() lan:impairment({from = a, to = "z"}) end)),
                      "is not attached")
    t:assert_contains(tostring(t:assert_raises(function() lan:impair("x") end)), "bad argument #1")
end)

test("provium.timer_spin_us: the switch polls before deadlines", function(t)
    need(t)
    local learned = provium.timer_spin_us
    t:assert(learned >= 5 and learned <= 1000, "learned by default (5 to 1000 us), got " .. learned)
    provium.timer_spin_us = 200
    t:assert_eq(provium.timer_spin_us, 200)
    local lan, a, b = pair()
    provium:boot()
    lan:add_latency({from = a, to = b, ms = 10})
    t:assert(rtt(a:run("ping -c 3 -i 0.1 -q b.lan"):assert_ok()) >= 10, "the delay holds")
    local e = t:assert_raises(function() provium.timer_spin_us = 5000 end)
    t:assert_contains(tostring(e), "provium.timer_spin_us: expected 0 to 1000 microseconds, got 5000")
    t:assert_eq(provium.timer_spin_us, 200, "a refused value changes nothing")
    provium.timer_spin_us = 0
end)
