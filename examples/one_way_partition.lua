-- A one-way partition: frames from a to b are dropped, frames from b to a pass.
-- UDP shows it (ICMP echo needs both directions): b's datagrams reach a, a's never reach b,
-- and the switch counts every frame it dropped on a's port as drop_partition.

local function udp(vm, to, n)
    -- bash's /dev/udp sends one datagram per write; no netcat needed.
    local script = ("for i in $(seq %d); do echo hello > /dev/udp/%s/9; done"):format(n, to)
    vm:run("bash", {"-c", script}):assert_ok()
end

test("one-way partition drops a -> b and passes b -> a", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a")
    local b = provium:vm("b")
    lan:attach({a, b})
    provium:boot()
    -- Warm the neighbour caches both ways, so that UDP needs no ARP after the cut.
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()
    b:run("ping -c 1 -W 1 a.lan"):assert_ok()

    lan:partition{from = a, to = b}
    t:assert(lan:is_partitioned(a, b))

    local a_before, b_before = a:nic("lan"):counters(), b:nic("lan"):counters()
    udp(b, a:ip("lan"), 5)
    udp(a, b:ip("lan"), 5)
    wait_until(function() return a:nic("lan"):counters().rx_packets >= a_before.rx_packets + 5 end,
               {timeout = "5s", desc = "b's datagrams at a"})
    wait_until(function() return a:nic("lan"):counters().drop_partition >= 5 end,
               {timeout = "5s", desc = "a's datagrams dropped"})
    t:assert_eq(b:nic("lan"):counters().rx_packets, b_before.rx_packets, "b received nothing from a")

    lan:unpartition{from = a, to = b}
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()
end)
