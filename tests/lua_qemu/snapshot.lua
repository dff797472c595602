-- A QEMU guest's snapshot keeps its memory and devices: vm:restore() resumes it where it was
-- (run by tests/e2e_lua_qemu.sh).

test("vm:snapshot of a QEMU guest saves its state; vm:restore resumes it", function(t)
    local lan = provium:bridge("lan")
    local a, b = provium:vm("a", "qemu"), provium:vm("b", "qemu")
    lan:attach({a, b})
    provium:boot()
    a:run("echo before > /tmp/mark"):assert_ok()
    local snap = a:snapshot()
    t:assert(snap:size() > 0)
    a:run("echo after > /tmp/mark; cat /proc/uptime > /tmp/up"):assert_ok()
    a:restore(snap)
    t:assert_eq(a:state(), "booted")
    t:assert_eq(a:run("cat /tmp/mark").stdout, "before\n", "memory as it was at the snapshot")
    t:assert_eq(a:run("test -e /tmp/up").exit_code, 1, "what came after is gone")
    t:assert_contains(a:run("ip -4 addr show eth0").stdout, a:ip() .. "/", "eth0 keeps its address")
    wait_until(function() return a:run("ping -c 1 -W 1 b.lan"):ok() end,
               {timeout = "10s", desc = "a reaches b after the restore"})
    wait_until(function() return b:run("ping -c 1 -W 1 a.lan"):ok() end,
               {timeout = "10s", desc = "b reaches a after the restore"})
    snap:delete()
end)

local dir = os.tmpname()
os.remove(dir)

test("provium:snapshot saves its QEMU guests too", function(t)
    local lan = provium:bridge("lan", {subnet = "10.78.0.0/24"})
    local a, b = provium:vm("a", "qemu"), provium:vm("b", "qemu")
    lan:attach({a, b})
    provium:boot()
    lan:add_latency({from = b, to = a, ms = 30})
    a:run("echo in-the-snapshot > /tmp/mark"):assert_ok()
    t:assert_eq(provium:snapshot(dir), dir)
    local f = io.open(dir .. "/a.qemu")
    t:assert(f, "a.qemu holds a's state")
    f:close()
end)

test("lab:restore resumes the QEMU guests where they were, in a fresh lab", function(t)
    local lab = provium:lab("restored")
    lab:restore(dir)
    local a, b = lab.a, lab.b
    t:assert_eq(a:state(), "booted")
    t:assert_eq(a:run("cat /tmp/mark").stdout, "in-the-snapshot\n")
    t:assert_eq(b:ip(), "10.78.0.2")
    wait_until(function() return a:run("ping -c 1 -W 1 b.lan"):ok() end,
               {timeout = "10s", desc = "a reaches b after the restore"})
    t:assert_eq(lab:bridge("lan"):impairment({from = "b", to = "a"}).knobs.delay_ms, 30,
                "the bridge's state is back too")
    os.remove(dir .. "/lab.json")
    os.remove(dir .. "/a.qemu")
    os.remove(dir .. "/b.qemu")
    os.remove(dir)
end)
