-- Closing and captures (issue 14, item 4): a second bridge:close() does nothing; capture{...}
-- takes the table count/wait_for take and the switch applies it; a closed stream is EOF even when
-- never read; a closed capture leaves capture/list and memory at once; a bridge capture's
-- count()/frames() give each frame once, as its byte stream does ({dir=} still picks a side);
-- bridge:close() with a live capture prints Provium's warning.

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

local function lab(n)
    local lan = provium:bridge("lan")
    local vms = {}
    for i = 1, n do vms[i] = provium:vm(string.char(96 + i)):boot() end
    lan:attach(vms)
    return lan, table.unpack(vms)
end

test("a second bridge:close() is a no-op", function(t)
    local lan = provium:bridge("lan")
    lan:close()
    lan:close()
    t:assert_eq(tostring(lan), "bridge(closed)")
    t:assert_contains(tostring(t:assert_raises(function() lan:members() end)),
                      "this bridge was closed")
end)

test("capture{filter} keeps only what matches, in the switch", function(t)
    local lan, a, b = lab(2)
    local udp = lan:capture({proto = "udp"})
    local from_b = lan:capture({vm = "b", proto = "icmp"})
    local all = lan:capture()
    a:run("ping -c 3 -i 0.2 b.lan"):assert_ok()
    wait_until(function() return from_b:count() == 3 end, {timeout = 5, desc = "b's 3 replies"})
    t:assert_eq(from_b:count({src = a:ip()}), 0)
    a:run("bash -c 'echo hi >/dev/udp/b.lan/9999; echo hi >/dev/udp/b.lan/9999'"):assert_ok()
    wait_until(function() return all:count({proto = "udp"}) == 2 end, {timeout = 5})
    wait_until(function() return udp:count() == 2 end, {timeout = 5})
    t:assert_eq(#udp:frames(), 2)
    t:assert_eq(udp:count({proto = "icmp"}), 0, "no ICMP was kept")
    -- The switch kept only what matched: the first capture (udp) holds the 2 datagrams, each
    -- as a sent (tx) and b received it (rx), and not the ICMP and ARP the other two hold.
    local function sorted()
        local list = tapyard.ctl("capture/list")
        table.sort(list, function(x, y) return x.id < y.id end)
        return list
    end
    -- b's rx records reach the capture after the sender's tx ones: wait for them too
    wait_until(function() return sorted()[1].frames >= 4 end,
               {timeout = 5, desc = "the udp capture's 4 records"})
    local list = sorted()
    t:assert_eq(list[1].frames, 4, "the udp capture stored 4 records")
    t:assert(list[3].frames > list[1].frames + 6, "the unfiltered one stored more")
    t:assert_contains(tostring(t:assert_raises(function() lan:capture({colour = "red"}) end)),
                      "unknown key")
    t:assert_contains(tostring(t:assert_raises(function() lan:capture(function() end) end)),
                      "the filter must be a table")
    t:assert_contains(tostring(t:assert_raises(function() lan:capture({vm = "zz"}) end)),
                      "filter vm `zz`")
end)

test("a closed stream never read is EOF: next() gives nil", function(t)
    local lan = lab(1)
    local cap = lan:capture()
    cap:close()
    t:assert(cap:eof())
    t:assert_eq(cap:next(0), nil)
    t:assert_eq(#cap:drain(0), 0)
end)

test("closing a capture releases it from the switch", function(t)
    local lan, a, b = lab(2)
    local cap = lan:capture()
    a:run("ping -c 1 b.lan"):assert_ok()
    t:assert_eq(#tapyard.ctl("capture/list"), 1)
    cap:close()
    t:assert_eq(#tapyard.ctl("capture/list"), 0, "gone from capture/list")
end)

test("bridge capture: count() and frames() give each frame once, as the byte stream", function(t)
    local lan, a, b = lab(2)
    local cap = lan:capture()
    a:run("ping -c 3 -i 0.2 b.lan"):assert_ok()
    wait_until(function() return cap:count({proto = "icmp", dir = "rx"}) == 6 end, {timeout = 5})
    t:assert_eq(cap:count({proto = "icmp"}), 6, "3 requests and 3 replies, once each")
    t:assert_eq(#cap:frames({proto = "icmp"}), 6)
    t:assert_eq(cap:count({proto = "icmp", dir = "tx"}), 6)
    -- The byte stream: a 24-byte header, then one record per frame.
    local bytes = table.concat(cap:drain("200ms"))
    local records, off = 0, 25
    while off + 16 <= #bytes do
        local caplen = string.unpack("<I4", bytes, off + 8)
        off = off + 16 + caplen
        records = records + 1
    end
    t:assert_eq(records, cap:count())
end)

test("bridge:close() with a live capture prints Provium's warning", function(t)
    local p = io.popen("exec /proc/$PPID/exe test " .. here .. "/../lua_runner/close_warning.lua 2>&1")
    local out = p:read("a")
    p:close()
    t:assert_contains(out, "provium: bridge `lan` unrealize with 1 active capture(s) \u{2014} " ..
                      "captures will end at this point. Close streams before unrealize to avoid truncation.")
    t:assert_contains(out, "1 passed, 0 failed")
end)
