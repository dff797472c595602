-- A lab of 20 guests on one bridge: boot, every guest pings every other by name (380 pings),
-- tear down. (About 2.5 s on the 2-core test machine; no time limit is asserted.)

test("20 guests ping all pairs", function(t)
    local lan = provium:bridge("lan")
    local vms = {}
    for i = 1, 20 do
        vms[i] = provium:vm("g" .. i)
    end
    lan:attach(vms)
    provium:boot()
    local pings = 0
    for i = 1, 20 do
        for j = 1, 20 do
            if i ~= j then
                vms[i]:run("ping -c 1 -W 2 g" .. j .. ".lan"):assert_ok()
                pings = pings + 1
            end
        end
    end
    t:assert_eq(pings, 380)
    t:assert_eq(#lan:members(), 20)
end)
