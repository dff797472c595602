-- Tests held in C code past their deadline (tests/e2e_lua.sh checks the outcomes): the
-- watchdog kills what the runner started, so these fail as timeouts and their labs are
-- torn down as usual. Do not "fix" these tests.
test("os.execute cannot hold off its timeout", {timeout = "300ms"}, function(t)
    os.execute("sleep 20")
end)
test("io.popen cannot hold off its timeout", {timeout = "300ms"}, function(t)
    local p = io.popen("sleep 20; echo done")
    p:read("a")
end)
test("runs after them", function(t) t:assert(true) end)
