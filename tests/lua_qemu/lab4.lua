-- QEMU guests through the same Lua API as namespace guests (run by tests/e2e_lua_qemu.sh with
-- --profile peios=qemu): four VMs on one bridge reach each other by name, see carrier
-- changes inside, are cut by a partition, delayed one way, captured; and a VM that cannot
-- boot fails with a message naming it and its console's last lines.

local function rtt_ms(r)
    -- busybox and iputils both end with "min/avg/max... = a/b/c[/d] ms"
    return tonumber(r.stdout:match("= [%d.]+/([%d.]+)/"))
end

local function reach(a, b)
    return a:run("ping -c 1 -W 1 " .. b:name() .. ".lan"):ok()
end

test("four QEMU VMs: names, carrier, a partition, a one-way 50 ms latency, a capture", function(t)
    local lan = provium:bridge("lan")
    local names = {"a", "b", "c", "d"}
    local vm = {}
    for _, n in ipairs(names) do
        vm[n] = provium:vm(n, "peios")
        t:assert_eq(vm[n]:state(), "defined")
    end
    lan:attach({vm.a, vm.b, vm.c, vm.d})
    provium:boot()  -- in parallel: every QEMU starts, then each agent is waited for
    for i, n in ipairs(names) do
        local peer = names[i % #names + 1]
        t:assert_eq(vm[n]:state(), "booted")
        t:assert_eq(vm[n]:run("hostname").stdout, n .. "\n")
        vm[n]:run("ping -c 1 -W 2 " .. peer .. ".lan"):assert_ok()
    end
    t:assert_contains(vm.a:run("uname -r").stdout, "amd64", "a real kernel, not the host's namespace")

    -- carrier: the guest's kernel sees its NIC's link go down and come back
    local nic = vm.a:nic("lan")
    nic:disconnect()
    t:assert_eq(vm.a:run("cat /sys/class/net/eth0/carrier").stdout, "0\n")
    t:assert(not reach(vm.a, vm.b), "no traffic while disconnected")
    nic:reconnect()
    t:assert_eq(vm.a:run("cat /sys/class/net/eth0/carrier").stdout, "1\n")
    wait_until(function() return reach(vm.a, vm.b) end, {timeout = "10s", desc = "a reaches b again"})

    -- a partition cuts a and b only
    lan:partition(vm.a, vm.b)
    t:assert(not reach(vm.a, vm.b), "a -> b cut")
    t:assert(reach(vm.a, vm.c), "a -> c unaffected")
    lan:unpartition(vm.a, vm.b)
    wait_until(function() return reach(vm.a, vm.b) end, {timeout = "10s", desc = "healed"})

    -- one way, c -> d, 50 ms: every echo round trip from c crosses it once
    lan:add_latency({from = vm.c, to = vm.d, ms = 50})
    local rtt = rtt_ms(vm.c:run("ping -c 3 -i 0.2 -q d.lan"):assert_ok())
    t:log(string.format("c -> d rtt with 50 ms one way: %.1f ms", rtt))
    t:assert(rtt >= 50, "the delay is there: " .. tostring(rtt))
    t:assert_eq(lan:impairment({from = vm.c, to = vm.d}).knobs.delay_ms, 50)
    t:assert_eq(lan:impairment({from = vm.d, to = vm.c}).knobs.delay_ms or 0, 0)

    -- a bridge capture sees a's echoes to d
    local cap = lan:capture()
    vm.a:run("ping -c 2 -i 0.2 d.lan"):assert_ok()
    cap:wait_for({proto = "icmp", src = vm.a:ip(), dst = vm.d:ip()}, "5s")
    t:assert(cap:count({proto = "icmp", src = vm.a:ip(), dst = vm.d:ip()}) >= 2)
    cap:close()

    vm.d:shutdown()
    t:assert_eq(vm.d:state(), "stopped")
end)

test("a QEMU VM that cannot boot: the error names it and shows its console", function(t)
    local kernel = os.getenv("TYQG_KERNEL")
    if not kernel then
        t:skip("TYQG_KERNEL (the image's kernel) is not set")
    end
    -- a real kernel with an initramfs that is not one: the guest panics, QEMU exits
    tapyard.profile("broken", {kind = "qemu", kernel = kernel, initrd = "/etc/hostname"})
    local v = provium:vm("tyqgbroken", "broken")
    local e = tostring(t:assert_raises(function() v:boot() end))
    t:log(e)
    t:assert_contains(e, 'vm "tyqgbroken"')
    t:assert_contains(e, "console (")
    t:assert_contains(e, "Kernel panic")
    local state, why = v:state()
    t:assert_eq(state, "failed")
    t:assert_contains(why, "Kernel panic")
    -- a lab holding a VM whose boot failed can still be snapshotted, and says so
    local dir = os.tmpname()
    os.remove(dir)
    t:assert_eq(provium:snapshot(dir), dir)
    local f = assert(io.open(dir .. "/lab.json"))
    local doc = json.decode(f:read("a"))
    f:close()
    os.execute("rm -rf '" .. dir .. "'")
    local states = {}
    for _, vm in ipairs(doc.vms) do states[vm.name] = vm.state end
    t:assert_eq(states.tyqgbroken, "failed")

    tapyard.profile("nokernel", {kind = "qemu", kernel = "/nonexistent/vmlinux", initrd = "/etc/hostname"})
    e = tostring(t:assert_raises(function() provium:vm("tyqgnok", "nokernel"):boot() end))
    t:assert_contains(e, 'vm "tyqgnok"')
    t:assert_contains(e, "/nonexistent/vmlinux")
end)

test("provium:vm's memory and cpus size a QEMU guest", function(t)
    local a = provium:vm("tyqgsize", "qemu", {memory = "384M", cpus = 2}):boot()
    local kib = tonumber(a:run("awk '/MemTotal/ {print $2}' /proc/meminfo").stdout)
    t:assert(kib > 256 * 1024 and kib <= 384 * 1024, "MemTotal " .. kib .. " kB of 384 MiB")
    t:assert_eq(a:run("nproc").stdout, "2\n")
end)
