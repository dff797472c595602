/* SPDX-License-Identifier: MIT */
/*
 * tylua_lsp: `tapyard lsp-setup [DIR]` writes Lua Language Server type
 * stubs for the whole API (DIR/.tapyard/tapyard.lua, a ---@meta file) and,
 * when DIR has none, a .luarc.json that points the server at them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_opt.h"
#include "tylua.h"

static const char lsp_stubs[] =
	"---@meta tapyard\n"
	"-- Type stubs for tapyard's Lua API (Provium's network API). Written by `tapyard "
	"lsp-setup`.\n"
	"\n"
	"---@alias Duration number|string  seconds, or \"500ms\", \"5s\", \"2m\", \"1h\"\n"
	"---@alias VmRef Vm|string\n"
	"\n"
	"---@class RunResult\n"
	"---@field exit_code integer  exit status; -1 when signalled, -2 when timed out\n"
	"---@field stdout string\n"
	"---@field stderr string\n"
	"---@field status \"exited\"|\"signalled\"|\"timed_out\"\n"
	"---@field timed_out boolean\n"
	"---@field signal integer|nil\n"
	"local RunResult = {}\n"
	"---@return boolean ok exit code 0 and status exited\n"
	"function RunResult:ok() end\n"
	"---Raise `command failed: status=... code=N stdout=\"...\" stderr=\"...\"` unless ok().\n"
	"---@return RunResult\n"
	"function RunResult:assert_ok() end\n"
	"\n"
	"---@class Frame\n"
	"---@field seq integer\n"
	"---@field time number seconds since the epoch\n"
	"---@field nic string \"<vm>-<bridge>\" (or the port name)\n"
	"---@field vm string|nil\n"
	"---@field port string host-side port\n"
	"---@field dir \"tx\"|\"rx\"|\"drop\" seen from the guest\n"
	"---@field drop_reason string|nil\n"
	"---@field len integer\n"
	"---@field caplen integer\n"
	"---@field src_mac string\n"
	"---@field dst_mac string\n"
	"---@field ethertype integer\n"
	"---@field src_ip string|nil\n"
	"---@field dst_ip string|nil\n"
	"---@field proto string|nil \"icmp\", \"tcp\", \"udp\", \"arp\"...\n"
	"---@field data string the captured bytes\n"
	"\n"
	"---@alias FrameFilter table|fun(f: Frame): boolean  keys: proto, src, dst, host, src_mac, "
	"dst_mac, dir, vm, nic, port, drop_reason, ethertype, min_len, contains\n"
	"\n"
	"---@class Stream\n"
	"local Stream = {}\n"
	"---Next chunk of the pcap byte stream, or nil on timeout/EOF.\n"
	"---@param timeout? Duration default 10s\n"
	"---@return string|nil\n"
	"function Stream:next(timeout) end\n"
	"---@param pattern string plain bytes\n"
	"---@param timeout? Duration default 10s\n"
	"---@return string bytes up to and including the match\n"
	"function Stream:read_until(pattern, timeout) end\n"
	"---@param pattern string plain bytes\n"
	"---@param timeout? Duration default 10s\n"
	"function Stream:expect(pattern, timeout) end\n"
	"---@param timeout? Duration default 0.5s\n"
	"---@return string[]\n"
	"function Stream:drain(timeout) end\n"
	"function Stream:close() end\n"
	"---@return boolean\n"
	"function Stream:eof() end\n"
	"---@return {file: string, line: integer}|nil\n"
	"function Stream:creation_site() end\n"
	"---@param filter? FrameFilter\n"
	"---@return integer\n"
	"function Stream:count(filter) end\n"
	"---The next frame (after the previous match) matching filter; raises on timeout.\n"
	"---@param filter? FrameFilter\n"
	"---@param timeout? Duration default 10s\n"
	"---@return Frame\n"
	"function Stream:wait_for(filter, timeout) end\n"
	"---@param filter? FrameFilter\n"
	"---@return Frame[]\n"
	"function Stream:frames(filter) end\n"
	"---Write everything captured so far as pcapng.\n"
	"---@param path string\n"
	"function Stream:save(path) end\n"
	"---@return {frames: integer, dropped: integer}\n"
	"function Stream:stop() end\n"
	"---@return integer frames the capture lost\n"
	"function Stream:dropped() end\n"
	"\n"
	"---@class Counters\n"
	"---@field rx_bytes integer bytes the guest received\n"
	"---@field tx_bytes integer bytes the guest sent\n"
	"---@field rx_packets integer\n"
	"---@field tx_packets integer\n"
	"---@field errors integer rx_errors + tx_errors\n"
	"---@field drop_link_down integer|nil\n"
	"---@field drop_partition integer|nil\n"
	"---@field drop_impair_loss integer|nil\n"
	"---@field drop_queue_full integer|nil\n"
	"\n"
	"---@class Nic\n"
	"local Nic = {}\n"
	"---Guest's view; zeros before boot; plus every drop counter of the switch.\n"
	"---@return Counters\n"
	"function Nic:counters() end\n"
	"---@return Stream\n"
	"function Nic:capture() end\n"
	"---The guest sees link down (NO-CARRIER); graph state only for a NIC made from a name.\n"
	"function Nic:disconnect() end\n"
	"function Nic:reconnect() end\n"
	"---@return string\n"
	"function Nic:vm_name() end\n"
	"---@return string bridge name\n"
	"function Nic:bridge() end\n"
	"---@return string|nil host-side port (TAP) name\n"
	"function Nic:port() end\n"
	"\n"
	"---@class Vm\n"
	"local Vm = {}\n"
	"---@return Vm\n"
	"function Vm:boot() end\n"
	"function Vm:shutdown() end\n"
	"---@return \"defined\"|\"booted\"|\"stopped\"\n"
	"function Vm:state() end\n"
	"---@return string\n"
	"function Vm:name() end\n"
	"---Run cmd with /bin/sh -c inside the guest, or directly with args.\n"
	"---@param cmd string\n"
	"---@param opts? string[]|{args?: string[], env?: table<string,string>, cwd?: string, "
	"stdin?: string, timeout?: Duration, timeout_ms?: integer}\n"
	"---@return RunResult\n"
	"function Vm:run(cmd, opts) end\n"
	"---Start cmd in the background (no timeout: give it to proc:wait).\n"
	"---@param cmd string\n"
	"---@param opts? string[]|{args?: string[], env?: table<string,string>, cwd?: string}\n"
	"---@return Process\n"
	"function Vm:run_async(cmd, opts) end\n"
	"---@param name string a bridge name, or eth<N>/enp0s<N>/ens<N>\n"
	"---@return Nic\n"
	"function Vm:nic(name) end\n"
	"---@param bridge? string default: the guest's eth0\n"
	"---@return string|nil IPv4 address\n"
	"function Vm:ip(bridge) end\n"
	"---@return integer|nil a number unique in the file, given at first boot\n"
	"function Vm:cid() end\n"
	"---@param path? string\n"
	"---@return Snapshot\n"
	"function Vm:snapshot(path) end\n"
	"---@param snap string|Snapshot\n"
	"function Vm:restore(snap) end\n"
	"\n"
	"---@class Process\n"
	"local Process = {}\n"
	"---Wait until it ends; at timeout it is killed and reported timed_out.\n"
	"---@param timeout? Duration\n"
	"---@return RunResult\n"
	"function Process:wait(timeout) end\n"
	"---@param sig? integer|string default \"term\"\n"
	"function Process:kill(sig) end\n"
	"---@param sig integer|string\n"
	"function Process:signal(sig) end\n"
	"---@return \"running\"|\"exited\"|\"signalled\"|\"timed_out\"\n"
	"function Process:status() end\n"
	"---@return string stdout, string stderr what it wrote so far\n"
	"function Process:output() end\n"
	"---@return integer\n"
	"function Process:pid() end\n"
	"---@return integer\n"
	"function Process:handle() end\n"
	"---@param data string\n"
	"---@return integer written\n"
	"function Process:stdin_write(data) end\n"
	"function Process:close_stdin() end\n"
	"function Process:close() end\n"
	"\n"
	"---@class Bridge\n"
	"local Bridge = {}\n"
	"---@param vm VmRef|VmRef[] a list is validated whole before anything is attached\n"
	"---@return Bridge\n"
	"function Bridge:attach(vm) end\n"
	"---@param vm VmRef\n"
	"function Bridge:detach(vm) end\n"
	"---@return string[]\n"
	"function Bridge:members() end\n"
	"---@param vm VmRef\n"
	"---@return Nic\n"
	"function Bridge:nic(vm) end\n"
	"---@param a VmRef|{from: VmRef, to: VmRef}\n"
	"---@param b? VmRef\n"
	"function Bridge:partition(a, b) end\n"
	"---@param a VmRef|{from: VmRef, to: VmRef}\n"
	"---@param b? VmRef\n"
	"function Bridge:unpartition(a, b) end\n"
	"function Bridge:partition_all() end\n"
	"function Bridge:restore_all() end\n"
	"---@return boolean\n"
	"function Bridge:is_partitioned(a, b) end\n"
	"---@param vm VmRef\n"
	"function Bridge:isolate(vm) end\n"
	"---@param vm VmRef\n"
	"function Bridge:unisolate(vm) end\n"
	"---@return boolean\n"
	"function Bridge:is_isolated(vm) end\n"
	"---@param ms number|{from: VmRef, to: VmRef, ms: number}\n"
	"function Bridge:add_latency(ms) end\n"
	"---@param p number|{from: VmRef, to: VmRef, p: number} percent, fractional allowed\n"
	"function Bridge:drop_rate(p) end\n"
	"---@param bps integer|{from: VmRef, to: VmRef, bps: integer}\n"
	"function Bridge:bandwidth_limit(bps) end\n"
	"---@param t {from: VmRef, to: VmRef, ms: number}\n"
	"function Bridge:add_directional_latency(t) end\n"
	"---@param t {from: VmRef, to: VmRef, p: number}\n"
	"function Bridge:directional_drop_rate(t) end\n"
	"---Any impairment knob (delay_ms, jitter_ms, loss, duplicate, corrupt, reorder, "
	"rate_bps...),\n"
	"---whole bridge or {from=, to=}; mode=\"replace\" resets the knobs not given.\n"
	"---@param t table\n"
	"function Bridge:impair(t) end\n"
	"---@param t? {from: VmRef, to: VmRef}\n"
	"---@return {knobs: table, stats: table}\n"
	"function Bridge:impairment(t) end\n"
	"function Bridge:reset() end\n"
	"---@return string\n"
	"function Bridge:name() end\n"
	"---@return number\n"
	"function Bridge:latency_ms() end\n"
	"---@return number\n"
	"function Bridge:drop_rate_pct() end\n"
	"---@return integer\n"
	"function Bridge:bandwidth_bps() end\n"
	"---@return Stream\n"
	"function Bridge:capture() end\n"
	"function Bridge:enable_uplink() end\n"
	"function Bridge:disable_uplink() end\n"
	"---@param other Bridge|string|(Bridge|string)[]\n"
	"function Bridge:route(other) end\n"
	"---@return string[]\n"
	"function Bridge:routes() end\n"
	"function Bridge:close() end\n"
	"\n"
	"---@class Lab\n"
	"---@field timeout Duration|nil per-test timeout for this file\n"
	"---@field reset_between_tests boolean|nil accepted, no effect\n"
	"---@field timer_spin_us integer microseconds the switch polls before each delay deadline "
	"(0-1000)\n"
	"---@field pack fun(fmt: string, ...): string\n"
	"---@field unpack fun(fmt: string, s: string, pos?: integer): any\n"
	"local Lab = {}\n"
	"---@param name string\n"
	"---@param opts? {subnet?: string}\n"
	"---@return Bridge\n"
	"function Lab:bridge(name, opts) end\n"
	"---@param name string\n"
	"---@param profile? string|table\n"
	"---@param opts? {ipv6?: boolean}\n"
	"---@return Vm\n"
	"function Lab:vm(name, profile, opts) end\n"
	"---@param name? string\n"
	"---@return Lab\n"
	"function Lab:lab(name) end\n"
	"---@return Lab\n"
	"function Lab:boot() end\n"
	"---@return Lab\n"
	"function Lab:shutdown() end\n"
	"---@return string\n"
	"function Lab:name() end\n"
	"---@return string[]\n"
	"function Lab:bridge_names() end\n"
	"---@return {kind: string, name: string}[]\n"
	"function Lab:members() end\n"
	"---@param x Vm|Bridge|Lab|(Vm|Bridge|Lab)[] become this lab's\n"
	"function Lab:include(x) end\n"
	"---@param x Vm|Bridge|Lab|string leaves this lab for the one above\n"
	"function Lab:remove(x) end\n"
	"---Refuses while a capture stream is open; writes DIR/lab.json.\n"
	"---@param dir? string\n"
	"---@return string|Snapshot dir, or a snapshot of a fresh /tmp directory\n"
	"function Lab:snapshot(dir) end\n"
	"---@param snap string|Snapshot\n"
	"function Lab:restore(snap) end\n"
	"\n"
	"---@class Snapshot\n"
	"local Snapshot = {}\n"
	"---@return string\n"
	"function Snapshot:path() end\n"
	"---@return integer bytes\n"
	"function Snapshot:size() end\n"
	"function Snapshot:delete() end\n"
	"\n"
	"---@class TestContext\n"
	"---@field name string\n"
	"---@field meta table\n"
	"local TestContext = {}\n"
	"function TestContext:assert(cond, msg) end\n"
	"function TestContext:assert_eq(a, b, msg) end\n"
	"function TestContext:assert_neq(a, b, msg) end\n"
	"---@param haystack string\n"
	"---@param needle string\n"
	"function TestContext:assert_contains(haystack, needle, msg) end\n"
	"---@param fn function\n"
	"---@return any err\n"
	"function TestContext:assert_raises(fn, msg) end\n"
	"function TestContext:fail(msg) end\n"
	"function TestContext:skip(reason) end\n"
	"function TestContext:log(msg) end\n"
	"\n"
	"---@type Lab\n"
	"provium = nil\n"
	"\n"
	"---@param name string\n"
	"---@param meta_or_fn table|fun(t: TestContext)\n"
	"---@param fn? fun(t: TestContext)\n"
	"function test(name, meta_or_fn, fn) end\n"
	"---@param reason? string\n"
	"function todo(reason) end\n"
	"---@generic T\n"
	"---@param pred fun(): T\n"
	"---@param opts? {timeout?: Duration, interval?: Duration, desc?: string}\n"
	"---@return T\n"
	"function wait_until(pred, opts) end\n"
	"\n"
	"json = {}\n"
	"---@param v any\n"
	"---@param opts? {pretty?: boolean}\n"
	"---@return string\n"
	"function json.encode(v, opts) end\n"
	"---@param s string\n"
	"---@return any\n"
	"function json.decode(s) end\n";

static const char lsp_luarc[] =
	"{\n"
	"  \"runtime.version\": \"Lua 5.4\",\n"
	"  \"workspace.library\": [\".tapyard\"],\n"
	"  \"diagnostics.globals\": [\"provium\", \"test\", \"todo\", \"wait_until\", \"json\"]\n"
	"}\n";

/* Write text to path. Returns 0 or -errno. */
static int lsp_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static const char lsp_usage[] = "usage: tapyard lsp-setup [DIR]\n\nWrites DIR/.tapyard/tapyard.lua "
				"(LuaLS type stubs for the tapyard API) and, if missing, "
				"DIR/.luarc.json.\n";

enum { LSP_HELP = 1 };

static const struct ctl_opt lsp_options[] = {
	{"help", 'h', false, LSP_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

static const struct ctl_opt_cmd lsp_cmd = {
	.name = "lsp-setup",
	.opts = lsp_options,
	.help = LSP_HELP,
	.usage = lsp_usage,
	.max = 1,
};

/* Parse `tapyard lsp-setup [DIR]` into *dir. Returns -1 to go on, or an exit code. */
static int lsp_parse(int argc, char **argv, const char **dir)
{
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&lsp_cmd, argc, argv, &res);

	if (rc < 0 && res.npos)
		*dir = res.pos[0];
	ctl_opt_free(&res);
	return rc;
}

int tylua_lsp_main(int argc, char **argv)
{
	const char *dir = ".";
	char path[4096];
	struct stat st;
	int err;

	err = lsp_parse(argc, argv, &dir);
	if (err >= 0)
		return err;
	snprintf(path, sizeof(path), "%s/.tapyard", dir);
	if (mkdir(path, 0755) && errno != EEXIST) {
		fprintf(stderr, "tapyard lsp-setup: %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/.tapyard/tapyard.lua", dir);
	err = lsp_write(path, lsp_stubs);
	if (err) {
		fprintf(stderr, "tapyard lsp-setup: %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("wrote %s\n", path);
	snprintf(path, sizeof(path), "%s/.luarc.json", dir);
	if (stat(path, &st) == 0) {
		printf("%s exists: add \".tapyard\" to its workspace.library\n", path);
		return 0;
	}
	err = lsp_write(path, lsp_luarc);
	if (err) {
		fprintf(stderr, "tapyard lsp-setup: %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("wrote %s\n", path);
	return 0;
}
