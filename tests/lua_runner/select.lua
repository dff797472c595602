-- A fixture of tests/lua/runner.lua (not run on its own): tests for the runner's selection and
-- reports, one of each kind.
test("plain", function(t) t:log("first line"); t:log("second line") end)
test("tagged net", {tags = {"net", "fast"}}, function(t) end)
test("tagged unit", {tags = "unit"}, function(t) end)
test("slow", {slow = true}, function(t) end)
test("fails", {tags = "net"}, function(t) t:fail("on purpose") end)
test("times out", {timeout = "500ms", tags = "timeout"}, function(t) while true do end end)
test("times out in 1s", {timeout = 1, tags = "timeout"}, function(t) while true do end end)
