# shellcheck shell=bash
# vm_lib.sh: what the QEMU guest tests (e2e_vm.sh, e2e_vmlab.sh) share: the checks' bookkeeping,
# the skip, jget (values out of a JSON reply) and PY. Source it after setting TAPYARD.

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $* [$SECONDS s]"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }
has() { grep -q -- "$2" <<<"$1" || { echo "    '$2' not in: $1" >&2; return 1; }; }
skip() { echo "SKIP: $*"; exit 77; }
# vm_require WHY: skip unless root (for WHY), QEMU, /dev/net/tun and python3 are here.
vm_require() {
	[ "$(id -u)" -eq 0 ] || skip "needs root ($1)"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	command -v python3 >/dev/null || skip "needs python3 to read JSON"
}

PY=$(command -v /usr/bin/python3 || command -v python3)
# jget JSON PATH...: the values at dotted paths ("result.stdout"), joined by "/"; true, false
# and null as JSON writes them.
jget() {
	"$PY" -c 'import json, sys
def at(v, path):
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return json.dumps(v) if isinstance(v, (bool, type(None))) else str(v)
v = json.loads(sys.argv[1])
print("/".join(at(v, p) for p in sys.argv[2:]), end="")' "$@"
}
