test("guest reconnects after link flap", function(t)
    local lan = provium:bridge("lan")
    local a   = provium:vm("a", "peios"):boot()
    local b   = provium:vm("b", "peios"):boot()
    lan:attach({a, b})

    -- Baseline.
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()

    local nic = a:nic("lan")
    nic:disconnect()
    -- Pings should fail now.
    local r = a:run("ping -c 1 -W 1 b.lan")
    t:assert_eq(r.exit_code, 1)

    nic:reconnect()
    -- And succeed after reconnect.
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()
end)
