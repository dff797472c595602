/* SPDX-License-Identifier: MIT */
/*
 * tylua_test: Provium's test framework surface: test(), todo(),
 * wait_until() and the test context `t` (a userdata with its fields in a
 * user value table), plus running one registered test in its own scope:
 * during a test the global `provium` is a per-test lab whose lookups fall
 * through to the file's lab, and everything the test made is closed after
 * it, pass or fail. Failures are sticky: an assertion records the failure
 * before raising, so a pcall that swallows it still fails the test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tylua.h"
#include "clock.h"
#include "tylua_impl.h"
#include "tylua_watchdog.h"

#define TESTS_KEY "tapyard.tests"
#define TODO_KEY "tapyard.todo"

/* ---- registration ---- */

static int test_register(lua_State *L)
{
	int fn = lua_gettop(L) == 2 ? 2 : 3;
	const char *name;

	if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, fn) != LUA_TFUNCTION ||
	    (fn == 3 && lua_type(L, 2) != LUA_TTABLE) || lua_gettop(L) > 3)
		return luaL_error(L, "test(name, [meta,] fn): bad arguments");
	name = lua_tostring(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, TESTS_KEY);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		lua_getfield(L, -1, "name");
		if (strcmp(lua_tostring(L, -1), name) == 0)
			return luaL_error(L, "test: duplicate name `%s` in this file", name);
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, 1);
	lua_setfield(L, -2, "name");
	if (fn == 3)
		lua_pushvalue(L, 2);
	else
		lua_newtable(L);
	lua_setfield(L, -2, "meta");
	lua_pushvalue(L, fn);
	lua_setfield(L, -2, "fn");
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
	return 0;
}

/*
 * Raise the skip sentinel with reason: a userdata of a type only this file
 * makes (Lua code cannot build one, and no error value imitates it), its
 * reason as its user value.
 */
static int tylua_skip(lua_State *L, const char *reason)
{
	lua_newuserdatauv(L, 0, 1);
	lua_pushstring(L, reason);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, TYLUA_SKIP_MT);
	return lua_error(L);
}

/* todo(reason): at file scope every test is skipped; inside a test, that test is. */
static int test_todo(lua_State *L)
{
	const char *reason = luaL_optstring(L, 1, "todo");

	if (tylua_world(L)->scope != tylua_world(L)->root)
		return tylua_skip(L, reason);
	lua_pushstring(L, reason);
	lua_setfield(L, LUA_REGISTRYINDEX, TODO_KEY);
	return 0;
}

/* A wait_until option: Provium's own messages for bad values. */
static double tylua_wait_opt(lua_State *L, const char *field, double def)
{
	const char *unit = NULL;
	double v = def;
	int t;

	if (lua_getfield(L, 2, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	t = lua_type(L, -1);
	if (t != LUA_TNUMBER && t != LUA_TSTRING)
		luaL_error(L, "wait_until: %s must be a number or string, got %s", field,
			   lua_typename(L, t));
	switch (tylua_parse_duration(L, -1, &v, &unit)) {
	case 2:
		luaL_error(L,
			   "wait_until: bad %s string `%s` (expected number with ms/s/m/h suffix)",
			   field, lua_tostring(L, -1));
		break;
	case 3:
		luaL_error(L, "wait_until: bad %s unit `%s`", field, unit);
		break;
	case 4:
		luaL_error(L, "duration: must be a finite, non-negative number (got %s)",
			   luaL_tolstring(L, -1, NULL));
		break;
	}
	lua_pop(L, 1);
	return v;
}

/* wait_until(pred, {timeout=10, interval=0.1, desc="condition"}) */
static int test_wait_until(lua_State *L)
{
	double timeout = 10, interval = 0.1, start = clock_mono_s();
	const char *desc = "condition";

	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		timeout = tylua_wait_opt(L, "timeout", 10);
		interval = tylua_wait_opt(L, "interval", 0.1);
		if (lua_getfield(L, 2, "desc") == LUA_TSTRING)
			desc = lua_tostring(L, -1);
	}
	lua_settop(L, 3);
	for (;;) {
		lua_pushvalue(L, 1);
		lua_call(L, 0, 1);
		if (lua_toboolean(L, -1))
			return 1;
		lua_pop(L, 1);
		if (clock_mono_s() - start >= timeout) {
			char secs[32]; /* as Rust prints an f64: 5, 0.5 */

			snprintf(secs, sizeof(secs), "%.14g", timeout);
			return luaL_error(L, "wait_until: %s not met within %ss", desc, secs);
		}
		tylua_sleep(L, fmin(interval, fmax(0, timeout - (clock_mono_s() - start))) * 1000);
	}
}

/* ---- the test context ---- */

/* The fields table of t at 1 (pushed). */
static void tylua_ctx_fields(lua_State *L)
{
	luaL_checkudata(L, 1, TYLUA_TEST);
	lua_getiuservalue(L, 1, 1);
}

/* Record a failure (the first one sticks) and raise it, located at the caller. */
static int tylua_ctx_fail(lua_State *L, const char *msg)
{
	luaL_where(L, 1);
	lua_pushstring(L, msg);
	lua_concat(L, 2);
	tylua_ctx_fields(L);
	if (lua_getfield(L, -1, "failed") == LUA_TNIL) {
		lua_pushvalue(L, -3);
		lua_setfield(L, -3, "failed");
	}
	lua_pop(L, 2);
	return lua_error(L);
}

static int ctx_assert(lua_State *L)
{
	if (!lua_toboolean(L, 2))
		return tylua_ctx_fail(L, luaL_optstring(L, 3, "assertion failed"));
	return 0;
}

static int tylua_ctx_eq(lua_State *L, bool want_equal)
{
	const char *msg =
		luaL_optstring(L, 4, want_equal ? "assert_eq failed" : "assert_neq failed");

	luaL_checkany(L, 3);
	if (lua_compare(L, 2, 3, LUA_OPEQ) == want_equal)
		return 0;
	lua_pushfstring(L, "%s: %s %s %s", msg, luaL_tolstring(L, 2, NULL),
			want_equal ? "~=" : "==", luaL_tolstring(L, 3, NULL));
	return tylua_ctx_fail(L, lua_tostring(L, -1));
}

static int ctx_assert_eq(lua_State *L)
{
	return tylua_ctx_eq(L, true);
}

static int ctx_assert_neq(lua_State *L)
{
	return tylua_ctx_eq(L, false);
}

static int ctx_assert_contains(lua_State *L)
{
	size_t hl, nl;
	const char *h, *n;

	if (lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TSTRING)
		return tylua_ctx_fail(
			L, "assert_contains: both arguments must be strings (slice 2 limit)");
	h = lua_tolstring(L, 2, &hl);
	n = lua_tolstring(L, 3, &nl);
	if (memmem(h, hl, n, nl))
		return 0;
	lua_pushfstring(L, "%s: %s not found in: %s",
			luaL_optstring(L, 4, "assert_contains failed"), n, h);
	return tylua_ctx_fail(L, lua_tostring(L, -1));
}

/* assert_raises(fn, msg): returns the error; a failure recorded inside fn does not stick. */
static int ctx_assert_raises(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_settop(L, 3);
	tylua_ctx_fields(L);
	lua_getfield(L, -1, "failed");
	lua_pushvalue(L, 2);
	if (lua_pcall(L, 0, 0, 0) == LUA_OK) {
		lua_pushfstring(L, "%s: expected to raise", luaL_optstring(L, 3, "assert_raises"));
		return tylua_ctx_fail(L, lua_tostring(L, -1));
	}
	lua_pushvalue(L, -2);
	lua_setfield(L, -4, "failed"); /* restore what was recorded before */
	return 1;
}

static int ctx_fail(lua_State *L)
{
	return tylua_ctx_fail(L, luaL_optstring(L, 2, "explicit failure (t:fail)"));
}

static int ctx_skip(lua_State *L)
{
	luaL_checkudata(L, 1, TYLUA_TEST);
	return tylua_skip(L, luaL_optstring(L, 2, "skipped"));
}

static int ctx_log(lua_State *L)
{
	luaL_checkudata(L, 1, TYLUA_TEST);
	tylua_log(L, "%s", luaL_tolstring(L, 2, NULL));
	return 0;
}

static int ctx_index(lua_State *L)
{
	if (luaL_getmetafield(L, 1, "methods") && lua_type(L, 2) == LUA_TSTRING &&
	    lua_getfield(L, -1, lua_tostring(L, 2)) != LUA_TNIL)
		return 1;
	tylua_ctx_fields(L);
	lua_pushvalue(L, 2);
	lua_rawget(L, -2);
	return 1;
}

static int ctx_tostring(lua_State *L)
{
	tylua_ctx_fields(L);
	lua_getfield(L, -1, "name");
	lua_pushfstring(L, "test(%s)", lua_tostring(L, -1));
	return 1;
}

void tylua_test_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"assert", ctx_assert},
		{"assert_eq", ctx_assert_eq},
		{"assert_neq", ctx_assert_neq},
		{"assert_contains", ctx_assert_contains},
		{"assert_raises", ctx_assert_raises},
		{"fail", ctx_fail},
		{"skip", ctx_skip},
		{"log", ctx_log},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__index", ctx_index},
		{"__tostring", ctx_tostring},
		{NULL, NULL},
	};

	static const luaL_Reg none[] = {
		{NULL, NULL}}; /* no __tostring: the traceback handler keeps it */

	tylua_new_type(L, TYLUA_TEST, methods, meta);
	tylua_new_type(L, TYLUA_SKIP_MT, none, none);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, TESTS_KEY);
	lua_register(L, "test", test_register);
	lua_register(L, "todo", test_todo);
	lua_register(L, "wait_until", test_wait_until);
}

/* ---- running ---- */

size_t tylua_test_count(lua_State *L)
{
	size_t n;

	lua_getfield(L, LUA_REGISTRYINDEX, TESTS_KEY);
	n = (size_t)luaL_len(L, -1);
	lua_pop(L, 1);
	return n;
}

void tylua_test_field(lua_State *L, size_t i, const char *field)
{
	lua_getfield(L, LUA_REGISTRYINDEX, TESTS_KEY);
	lua_rawgeti(L, -1, (lua_Integer)i);
	lua_getfield(L, -1, field);
	lua_replace(L, -3);
	lua_pop(L, 1);
}

const char *tylua_test_name(lua_State *L, size_t i)
{
	const char *name;

	tylua_test_field(L, i, "name");
	name = lua_tostring(L, -1); /* kept alive by the tests table */
	lua_pop(L, 1);
	return name;
}

const char *tylua_test_todo(lua_State *L)
{
	const char *reason;

	lua_getfield(L, LUA_REGISTRYINDEX, TODO_KEY);
	reason = lua_tostring(L, -1); /* kept alive by the registry */
	lua_pop(L, 1);
	return reason;
}

/* A copy of the string at -1 (popped), or of def. */
static char *tylua_take_string(lua_State *L, const char *def)
{
	const char *s = lua_tostring(L, -1);
	char *copy = strdup(s ? s : def);

	lua_pop(L, 1);
	return copy;
}

/* The skip reason of meta (pushed: a string, or nil when the test runs). */
static void tylua_meta_skip(lua_State *L, size_t i)
{
	tylua_test_field(L, i, "meta");
	lua_getfield(L, -1, "skip");
	lua_remove(L, -2);
	if (lua_type(L, -1) == LUA_TSTRING) {
		lua_pushfstring(L, "skipped: %s", lua_tostring(L, -1));
	} else if (lua_toboolean(L, -1) &&
		   !(lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == 0)) {
		lua_pushliteral(L, "skipped (meta.skip)");
	} else {
		lua_pushnil(L);
	}
	lua_remove(L, -2);
}

/* The test's timeout: meta.timeout, else provium.timeout, else def (0: none). */
static double tylua_test_timeout(lua_State *L, size_t i, double def)
{
	struct tylua_world *w = tylua_world(L);
	double t = w->file_timeout_s >= 0 ? w->file_timeout_s : def;

	tylua_test_field(L, i, "meta");
	if (lua_getfield(L, -1, "timeout") != LUA_TNIL)
		t = tylua_duration(L, -1, t);
	lua_pop(L, 2);
	return t;
}

/* Push a new context for test i; its log table gets a registry ref in the world. */
static void tylua_ctx_push(lua_State *L, size_t i)
{
	struct tylua_world *w = tylua_world(L);

	lua_newuserdatauv(L, 1, 1);
	luaL_setmetatable(L, TYLUA_TEST);
	lua_createtable(L, 0, 4);
	tylua_test_field(L, i, "name");
	lua_setfield(L, -2, "name");
	tylua_test_field(L, i, "meta");
	lua_setfield(L, -2, "meta");
	lua_newtable(L);
	lua_pushvalue(L, -1);
	w->log_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setfield(L, -2, "log");
	lua_setiuservalue(L, -2, 1);
}

/* The log lines of the running test joined by newlines (a copy). */
static char *tylua_ctx_log(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);

	lua_getglobal(L, "table");
	lua_getfield(L, -1, "concat");
	lua_rawgeti(L, LUA_REGISTRYINDEX, w->log_ref);
	lua_pushliteral(L, "\n");
	lua_call(L, 2, 1);
	lua_remove(L, -2);
	luaL_unref(L, LUA_REGISTRYINDEX, w->log_ref);
	w->log_ref = LUA_NOREF;
	return tylua_take_string(L, "");
}

static int tylua_close_scope(lua_State *L)
{
	tylua_lab_close(L, (uint32_t)lua_tointeger(L, 1));
	return 0;
}

/* Decide the outcome from the pcall status and the context at ctx. */
static void tylua_test_outcome(lua_State *L, int status, int ctx, struct tylua_outcome *out)
{
	if (status != LUA_OK && luaL_testudata(L, -1, TYLUA_SKIP_MT)) {
		lua_getiuservalue(L, -1, 1);
		out->status = TYLUA_SKIP;
		out->message = tylua_take_string(L, "skipped");
	} else if (status != LUA_OK) {
		out->status = TYLUA_FAIL;
		out->message = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
	} else {
		lua_getiuservalue(L, ctx, 1);
		lua_getfield(L, -1, "failed");
		out->status = lua_isnil(L, -1) ? TYLUA_PASS : TYLUA_FAIL;
		if (out->status == TYLUA_FAIL)
			out->message = tylua_take_string(L, "failed");
		else
			lua_pop(L, 1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* Close the test's scope; a teardown error fails a test that passed. */
static void tylua_test_teardown(lua_State *L, uint32_t scope, struct tylua_outcome *out)
{
	struct tylua_world *w = tylua_world(L);

	tylua_deadline_clear(L);
	lua_pushcfunction(L, tylua_close_scope);
	lua_pushinteger(L, scope);
	if (tylua_pcall(L, 1, 0) != LUA_OK) {
		if (out->status != TYLUA_FAIL) {
			free(out->message);
			out->status = TYLUA_FAIL;
			lua_pushfstring(L, "teardown: %s", lua_tostring(L, -1));
			out->message = tylua_take_string(L, "teardown failed");
		}
		lua_pop(L, 1);
	}
	w->scope = w->root;
	tylua_lab_push(L, w->root);
	lua_setglobal(L, "provium");
}

/* The protected part of a test: (i, default timeout, fn, t) -> fn(t) under its deadline. */
static int tylua_test_body(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	double timeout = tylua_test_timeout(L, (size_t)lua_tointeger(L, 1), lua_tonumber(L, 2));

	w->timeout_s = timeout;
	if (timeout > 0) {
		w->deadline_ns = clock_mono_ns() + (uint64_t)(timeout * 1e9);
		tylua_watchdog_arm(w->watchdog, w->deadline_ns,
				   tylua_test_name(L, (size_t)lua_tointeger(L, 1)));
	}
	lua_pushvalue(L, 3);
	lua_pushvalue(L, 4);
	lua_call(L, 1, 0);
	tylua_check_deadline(L); /* a C call may have held it past the deadline to its end */
	return 0;
}

void tylua_test_run(lua_State *L, size_t i, double timeout, struct tylua_outcome *out)
{
	struct tylua_world *w = tylua_world(L);
	double t0;
	uint32_t scope;
	int status, ctx;

	memset(out, 0, sizeof(*out));
	t0 = clock_mono_s();
	tylua_meta_skip(L, i);
	if (!lua_isnil(L, -1) || tylua_test_todo(L)) {
		out->status = TYLUA_SKIP;
		out->message = strdup(lua_isnil(L, -1) ? tylua_test_todo(L) : lua_tostring(L, -1));
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	scope = tylua_lab_new(L, (int)w->root, "test", true);
	w->scope = scope;
	tylua_lab_push(L, scope);
	lua_setglobal(L, "provium");
	tylua_ctx_push(L, i);
	ctx = lua_gettop(L);
	lua_pushcfunction(L, tylua_test_body);
	lua_pushinteger(L, (lua_Integer)i);
	lua_pushnumber(L, timeout);
	tylua_test_field(L, i, "fn");
	lua_pushvalue(L, ctx);
	status = tylua_pcall(L, 4, 0);
	tylua_test_outcome(L, status, ctx, out);
	if (out->status == TYLUA_FAIL)
		tylua_vm_console_report(L);
	out->log = tylua_ctx_log(L);
	lua_settop(L, ctx - 1);
	tylua_test_teardown(L, scope, out);
	lua_gc(L, LUA_GCCOLLECT);
	out->secs = clock_mono_s() - t0;
}
