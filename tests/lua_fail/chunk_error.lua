-- A file that does not load: reported as one failure of the file.
test("never registered", function(t) end)
this is not lua
