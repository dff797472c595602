/* SPDX-License-Identifier: MIT */
/*
 * test_lua: the Lua bindings without guests (no root needed): json, durations,
 * the bridge's graph state and its error messages, stale handles, the
 * RunResult type, the test framework's outcomes (pass, fail, sticky failure,
 * skip, meta.skip, timeout) and the per-test scope. Each test gets a fresh
 * state with its own switch, as a test file does.
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "tylua.h"
#include "tylua_impl.h"

static lua_State *L;

/* jansson's live allocations, counted by the allocator main() gives it. */
static _Atomic long json_live;

static void *json_count_malloc(size_t n)
{
	atomic_fetch_add(&json_live, 1);
	return malloc(n);
}

static void json_count_free(void *p)
{
	if (p)
		atomic_fetch_sub(&json_live, 1);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(tylua_state_new(false, &L), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tylua_state_close(L);
	L = NULL;
	return 0;
}

/* Run code; it must not raise. */
static void lua_ok(const char *code)
{
	if (luaL_loadstring(L, code) != LUA_OK || tylua_pcall(L, 0, 0) != LUA_OK)
		fail_msg("lua: %s\n  in: %s", lua_tostring(L, -1), code);
}

/* Run code; it must raise an error containing substring. */
static void lua_err(const char *code, const char *substring)
{
	const char *msg;

	if (luaL_loadstring(L, code) != LUA_OK)
		fail_msg("lua: %s", lua_tostring(L, -1));
	if (tylua_pcall(L, 0, 0) == LUA_OK)
		fail_msg("expected an error containing \"%s\" from: %s", substring, code);
	msg = lua_tostring(L, -1);
	if (!msg || !strstr(msg, substring))
		fail_msg("expected \"%s\" in: %s", substring, msg ? msg : "(not a string)");
	lua_pop(L, 1);
}

static void test_json(void **state)
{
	(void)state;
	lua_ok("assert(json.encode({b = {1, 2}, a = 'x'}) == '{\"a\":\"x\",\"b\":[1,2]}')");
	lua_ok("local v = json.decode('{\"n\": null, \"i\": 3, \"f\": 2.5, \"s\": [true]}')\n"
	       "assert(v.n == nil and v.i == 3 and math.type(v.i) == 'integer' and v.f == 2.5)\n"
	       "assert(v.s[1] == true)");
	lua_ok("assert(json.encode({}) == '{}' and json.encode(nil) == 'null')");
	lua_ok("assert(json.encode({[1] = 'a', [3] = 'c'}) == '{\"1\":\"a\",\"3\":\"c\"}')");
	lua_err("json.decode('[1,')", "json.decode:");
	lua_err("json.encode({f = print})", "cannot encode a function");
	lua_err("local t = {} t.t = t json.encode(t)", "nested too deep");
}

/* An error half-way through json.encode frees what was built (it leaked the partial tree). */
static void test_json_error_frees(void **state)
{
	long before;

	(void)state;
	lua_gc(L, LUA_GCCOLLECT);
	before = atomic_load(&json_live);
	lua_ok("for i = 1, 100 do\n"
	       "  assert(not pcall(json.encode, {1, 2, {a = 0/0}, 'x'}))\n"
	       "  assert(not pcall(json.encode, {[true] = 1, b = {c = {1, 2, 3}}}))\n"
	       "end");
	lua_gc(L, LUA_GCCOLLECT);
	assert_int_equal(atomic_load(&json_live), before);
}

static void test_durations(void **state)
{
	(void)state;
	lua_ok("provium.timeout = '250ms' assert(provium.timeout == 0.25)");
	lua_ok("provium.timeout = '2m' assert(provium.timeout == 120)");
	lua_ok("provium.timeout = 1.5 assert(provium.timeout == 1.5)");
	lua_err("provium.timeout = '1 fortnight'", "duration: cannot parse `1 fortnight`");
	lua_err("provium.timeout = true", "duration: expected number|string, got boolean");
	lua_err("provium.timeout = -2", "duration: must be a finite, non-negative number (got -2");
	lua_err("provium.other = 1",
		"cannot set `provium.other`: not a recognised file-scope config key");
}

static void test_graph(void **state)
{
	(void)state;
	lua_ok("lan = provium:bridge('lan', {})\n"
	       "lan:attach({'a', 'b', 'c'})\n"
	       "lan:partition('a', 'b')\n"
	       "assert(lan:is_partitioned('b', 'a'))\n"
	       "lan:partition_all() lan:restore_all()\n"
	       "assert(lan:is_partitioned('a', 'b') and not lan:is_partitioned('b', 'c'))\n"
	       "lan:isolate('c') assert(lan:is_isolated('c') and lan:is_partitioned('a', 'c'))\n"
	       "lan:detach('c') assert(not lan:is_isolated('c'))\n"
	       "assert(table.concat(lan:members(), ',') == 'a,b')\n"
	       "assert(tostring(lan) == 'bridge(lan; 2 member(s))')");
	lua_err("lan:partition({from = 'a', to = 'zz'})",
		"bridge:partition: vm \"zz\" is not attached to bridge \"lan\" (attached: [\"a\", "
		"\"b\"])");
	lua_err("lan:attach({'x', {}})",
		"bridge:attach: bridge expected a VM userdata or string, got table");
	lua_ok("assert(#lan:members() == 2)");
	lua_err("lan:partition('a')", "bridge:partition: expected (a, b) or ({from=a, to=b})");
	lua_err("provium:bridge('lan', {})", "bridge name `lan` already used in this lab");
	lua_err("provium:vm('a'):run('true')", "vm:run: vm `a` is not booted (state: defined)");
	lua_err("provium:vm('x') lan:attach('x') provium.x:nic('lan'):capture()",
		"nic:capture: vm `x` has no TAP on bridge `lan` (not booted?)");
	lua_err("provium.x:nic('eth3')", "vm:nic: no NIC `eth3` on vm `x`");
	lua_ok("assert(provium.x:nic('eth0'):bridge() == 'lan')");
}

static void test_stale_handles(void **state)
{
	(void)state;
	lua_ok("br = provium:bridge('gone', {}) nic = br:nic('a') br:close()");
	lua_err("br:members()", "bridge:members: this bridge was closed");
	lua_err("nic:counters()", "nic:counters: the bridge of this NIC was closed");
	lua_ok("assert(tostring(br) == 'bridge(closed)')");
}

static void test_result(void **state)
{
	json_t *res =
		json_pack("{s:i, s:s, s:s, s:s, s:b, s:n}", "exit_code", 3, "status", "exited",
			  "stdout", "a\"b\n", "stderr", "\t\x01", "timed_out", 0, "signal");

	(void)state;
	tylua_result_push(L, res);
	json_decref(res);
	lua_setglobal(L, "r");
	lua_ok("assert(r.exit_code == 3 and r.status == 'exited' and r.timed_out == false)\n"
	       "assert(r.signal == nil and not r:ok())\n"
	       "assert(tostring(r) == 'RunResult{ status=exited, stdout=<4B>, stderr=<2B> }')");
	lua_err("r:assert_ok()",
		"command failed: status=exited code=3 stdout=\"a\\\"b\\n\" stderr=\"\\t\\u{1}\"");
}

/* Register tests from code, run them all, return outcome i (1-based) in out. */
static void run_lua_tests(const char *code, size_t want, struct tylua_outcome *out)
{
	lua_ok(code);
	assert_int_equal(tylua_test_count(L), want);
	for (size_t i = 1; i <= want; i++)
		tylua_test_run(L, i, 10, &out[i - 1]);
}

static void outcomes_free(struct tylua_outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].message);
		free(o[i].log);
	}
}

static void test_framework(void **state)
{
	struct tylua_outcome o[7];

	(void)state;
	run_lua_tests("test('pass', function(t) t:log('hello') end)\n"
		      "test('fail', function(t) t:assert_eq(1, 2, 'numbers') end)\n"
		      "test('sticky', function(t) pcall(function() t:fail('kept') end) end)\n"
		      "test('skip', function(t) t:skip('why') end)\n"
		      "test('meta skip', {skip = true}, function(t) error('ran') end)\n"
		      "test('timeout', {timeout = '100ms'}, function(t) while true do end end)\n"
		      "test('scoped', function(t) assert(provium:bridge('inner', {})) end)\n",
		      7, o);
	assert_int_equal(o[0].status, TYLUA_PASS);
	assert_string_equal(o[0].log, "hello");
	assert_int_equal(o[1].status, TYLUA_FAIL);
	assert_non_null(strstr(o[1].message, "numbers: 1 ~= 2"));
	assert_non_null(strstr(o[1].message, "stack traceback:"));
	assert_int_equal(o[2].status, TYLUA_FAIL);
	assert_non_null(strstr(o[2].message, "kept"));
	assert_int_equal(o[3].status, TYLUA_SKIP);
	assert_string_equal(o[3].message, "why");
	assert_int_equal(o[4].status, TYLUA_SKIP);
	assert_string_equal(o[4].message, "skipped (meta.skip)");
	assert_int_equal(o[5].status, TYLUA_FAIL);
	assert_non_null(strstr(o[5].message, "test timeout exceeded (100ms)"));
	assert_int_equal(o[6].status, TYLUA_PASS);
	/* The test's bridge was closed with its scope: the name is free at file scope. */
	lua_ok("assert(provium:bridge('inner', {}):name() == 'inner')");
	outcomes_free(o, 7);
	lua_err("test('pass', function() end)", "test: duplicate name `pass` in this file");
}

static void test_todo(void **state)
{
	struct tylua_outcome o[1];

	(void)state;
	run_lua_tests("todo('later') test('t', function(t) error('ran') end)", 1, o);
	assert_int_equal(o[0].status, TYLUA_SKIP);
	assert_string_equal(o[0].message, "later");
	outcomes_free(o, 1);
}

/* The run-wide profile mapping: named entries beat "*", malformed specs are refused. */
static void test_profile_map(void **state)
{
	char out[32] = "";

	(void)state;
	assert_int_equal(tylua_profile_map("peios=qemu", "peios", out, sizeof(out)), 2);
	assert_string_equal(out, "qemu");
	assert_int_equal(tylua_profile_map("peios=qemu", "other", out, sizeof(out)), 0);
	assert_int_equal(tylua_profile_map("*=qemu,a=namespace", "a", out, sizeof(out)), 2);
	assert_string_equal(out, "namespace");
	assert_int_equal(tylua_profile_map("a=namespace, *=qemu", "b", out, sizeof(out)), 1);
	assert_string_equal(out, "qemu");
	assert_int_equal(tylua_profile_map("a=x,a=y", "a", out, sizeof(out)), 2);
	assert_string_equal(out, "y");
	assert_int_equal(tylua_profile_map("", "a", out, sizeof(out)), 0);
	assert_int_equal(tylua_profile_map("peios", "peios", out, sizeof(out)), -1);
	assert_int_equal(tylua_profile_map("=qemu", "peios", out, sizeof(out)), -1);
	assert_int_equal(tylua_profile_map("peios=", "peios", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_error_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framework, setup, teardown),
		cmocka_unit_test_setup_teardown(test_todo, setup, teardown),
		cmocka_unit_test(test_profile_map),
	};

	json_set_alloc_funcs(json_count_malloc, json_count_free); /* before any jansson call */
	return cmocka_run_group_tests_name("lua", tests, NULL, NULL);
}
