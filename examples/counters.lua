-- Counters after a transfer: each NIC counts from its guest's side (what the guest sent is tx).

test("counters after a transfer", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a")
    local b = provium:vm("b")
    lan:attach({a, b})
    t:assert_eq(a:nic("lan"):counters().tx_bytes, 0, "zeros before boot")
    provium:boot()
    a:run("ping -c 1 -W 1 b.lan"):assert_ok()

    local a0, b0 = a:nic("lan"):counters(), b:nic("lan"):counters()
    -- 10 pings of 1000 bytes of payload: at least 10 x 1042 bytes on the wire each way.
    a:run("ping -c 10 -i 0.05 -s 1000 -q b.lan"):assert_ok()
    local a1, b1 = a:nic("lan"):counters(), b:nic("lan"):counters()

    t:assert(a1.tx_bytes - a0.tx_bytes >= 10 * 1042, "a sent the requests")
    t:assert(b1.rx_bytes - b0.rx_bytes >= 10 * 1042, "b received them")
    t:assert(b1.tx_packets - b0.tx_packets >= 10, "b replied")
    t:assert_eq(a1.errors, 0)
    t:assert_eq(a1.drop_partition, 0)
end)
