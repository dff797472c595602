-- Latency and loss between two guests. A whole-bridge latency applies to every frame crossing
-- the bridge (so 20 ms gives a ping RTT of at least 40 ms); {from=, to=} applies one way only.

-- The average RTT in ms from ping's summary line.
local function rtt(result)
    return tonumber(result.stdout:match("= [%d.]+/([%d.]+)/"))
end

test("latency: whole bridge, then one way on top", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    local b = provium:vm("b"):boot()
    lan:attach({a, b})

    lan:add_latency(20)
    t:assert_eq(lan:latency_ms(), 20)
    local r = a:run("ping -c 3 -i 0.2 -q b.lan"):assert_ok()
    t:assert(rtt(r) >= 40, "RTT with 20 ms each way: " .. rtt(r))

    lan:add_latency{from = a, to = b, ms = 50}
    r = a:run("ping -c 3 -i 0.2 -q b.lan"):assert_ok()
    t:assert(rtt(r) >= 90, "RTT with 70 ms a -> b and 20 ms b -> a: " .. rtt(r))

    lan:reset()
    t:assert_eq(lan:latency_ms(), 0)
end)

test("loss: 100% one way cuts replies, 0% restores them", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    local b = provium:vm("b"):boot()
    lan:attach({a, b})
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()

    lan:drop_rate{from = b, to = a, p = 100}
    local r = a:run("ping -c 3 -i 0.2 -W 1 b.lan")
    t:assert_eq(r.exit_code, 1, "no reply comes back")
    t:assert(a:nic("lan"):counters().drop_impair_loss >= 3, "b's replies to a were lost")

    lan:drop_rate{from = b, to = a, p = 0}
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()

    -- Fractional loss is allowed; the value reads back as set.
    lan:drop_rate(0.5)
    t:assert_eq(lan:drop_rate_pct(), 0.5)
end)
