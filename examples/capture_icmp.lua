-- Capture: a bridge capture sees the ICMP between two guests; a NIC capture sees only its NIC.

test("bridge capture sees ICMP", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    local b = provium:vm("b"):boot()
    lan:attach({a, b})

    local cap = lan:capture()
    a:run("ping -c 2 -i 0.2 b.lan"):assert_ok()
    local f = cap:wait_for({proto = "icmp", src = a:ip(), dst = b:ip()}, "5s")
    t:assert_eq(f.nic, "a-lan")
    t:assert_eq(f.dir, "tx")
    -- Each frame once (as it entered the bridge): 2 requests and 2 replies.
    wait_until(function() return cap:count({proto = "icmp"}) == 4 end,
               {timeout = 5, desc = "2 requests and 2 replies"})
    wait_until(function() return cap:count({proto = "icmp", dir = "rx"}) == 4 end,
               {timeout = 5, desc = "dir selects the receiving side"})

    -- The byte stream is a classic pcap stream, as Provium's tcpdump gave.
    local bytes = table.concat(cap:drain("0.2s"))
    t:assert_eq(bytes:sub(1, 4), "\xd4\xc3\xb2\xa1")
    cap:close()
    t:assert(cap:eof())
end)

test("a NIC capture sees only its NIC", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    local b = provium:vm("b"):boot()
    local c = provium:vm("c"):boot()
    lan:attach({a, b, c})

    local cap = a:nic("lan"):capture()
    b:run("ping -c 2 -i 0.2 c.lan"):assert_ok()
    a:run("ping -c 1 b.lan"):assert_ok()
    cap:wait_for({proto = "icmp", src = b:ip(), dst = a:ip()}, "5s")
    t:assert_eq(cap:count({proto = "icmp", dst = c:ip()}), 0, "b -> c is not on a's NIC")
end)
