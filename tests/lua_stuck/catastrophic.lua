-- A test held in C code no kill ends (a catastrophic pattern): the watchdog reports it as
-- timed out, prints the summary and ends the run, and the guest's process and namespace go
-- with it. tests/e2e_lua.sh checks this; do not "fix" it.
test("passes first", function(t) t:assert(true) end)
test("a catastrophic string.find", {timeout = "2s"}, function(t)
    local lan = provium:bridge("lan")
    local vm = provium:vm("w", {nics = {lan}})
    vm:boot()
    vm:run("sleep 3171 >/dev/null 2>&1 &")
    string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")
end)
