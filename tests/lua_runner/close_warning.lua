-- A fixture of tests/lua/capture_close.lua: closing a bridge that has a live capture.
test("close with a live capture", function(t)
    local lan = provium:bridge("lan")
    local a = provium:vm("a"):boot()
    lan:attach(a)
    local cap = lan:capture()
    lan:close()
    t:assert(cap ~= nil)
end)
