-- vm:run_async and its Process on QEMU guests (run by tests/e2e_lua_qemu.sh): the same Process as
-- on namespace guests (tests/lua/proc.lua), carried by the guest agent's proc_* requests.

local function err(t, fn)
    return tostring(t:assert_raises(fn))
end

test("run_async on a QEMU guest: a server another VM reaches, fed, signalled, timed out", function(t)
    local lan = provium:bridge("lan")
    local a, b = provium:vm("a", "qemu"), provium:vm("b", "qemu")
    lan:attach({a, b})
    provium:boot()

    -- a server in the background, reached from the other VM over the switch
    local srv = a:run_async("echo ready; exec nc -l -p 7000")
    t:assert(srv:pid() > 1, "the pid is the guest's")
    t:assert_eq(srv:status(), "running")
    wait_until(function() return (srv:output()) == "ready\n" end, {timeout = 10})
    wait_until(function() return b:run("echo hello | nc -w 2 a.lan 7000"):ok() end,
               {timeout = "15s", desc = "b reaches a's server"})
    local r = srv:wait("10s")
    t:assert_eq(r.status, "exited")
    t:assert_eq(r.stdout, "ready\nhello\n")
    t:assert_eq(srv:status(), "exited")

    -- stdin, env and stderr
    local p = a:run_async("cat; echo \"$GREETING\" >&2", {env = {GREETING = "hi"}})
    t:assert_eq(p:stdin_write("one\n"), 4)
    p:close_stdin()
    r = p:wait("10s")
    r:assert_ok()
    t:assert_eq(r.stdout, "one\n")
    t:assert_eq(r.stderr, "hi\n")

    -- signals, and wait(t) killing at t
    p = a:run_async("sleep", {"30"})
    p:kill()
    r = p:wait("10s")
    t:assert_eq(r.status, "signalled")
    t:assert_eq(r.signal, 15)
    t:assert_contains(err(t, function() p:kill() end), "it has ended")
    p = a:run_async("echo started; sleep 30")
    r = p:wait("2s")
    t:assert_eq(r.status, "timed_out")
    t:assert_eq(r.stdout, "started\n")
    t:assert_eq(p:status(), "timed_out")

    -- a wait longer than the agent's slices (2 s each)
    p = a:run_async("sleep 5; echo done")
    t:assert_eq(p:wait("30s").stdout, "done\n")

    -- released: gone from the switch's list and from the guest
    p = a:run_async("exec sleep 300")
    local pid = p:pid()
    t:assert_eq(a:run("kill -0 " .. pid).exit_code, 0, "it runs in the guest")
    p:close()
    t:assert_contains(err(t, function() p:status() end), "this process was closed")
    wait_until(function() return a:run("kill -0 " .. pid).exit_code ~= 0 end,
               {timeout = "5s", desc = "close kills it in the guest"})
    a:run_async("exec sleep 300") -- left running: the test's end releases it
end)

test("a QEMU guest's process outlives nothing: its VM's deletion ends it", function(t)
    local a = provium:vm("a", "qemu"):boot()
    local p = a:run_async("exec sleep 300")
    local info = tapyard.ctl("proc/list")[1]
    local id = info.id
    tapyard.ctl("guest/del", {name = info.guest})
    local ok, msg = pcall(tapyard.ctl, "proc/info", {id = id})
    t:assert_eq(ok, false)
    t:assert_contains(tostring(msg), "was deleted, and the process with it")
    p:close()
end)
