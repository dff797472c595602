/* SPDX-License-Identifier: MIT */
/*
 * tylua_result: the RunResult userdata vm:run() returns: fields exit_code,
 * stdout, stderr, status, timed_out, signal; methods ok() and assert_ok().
 * A plain value (no handle): its fields live in its user value table.
 */
#include <stdio.h>
#include <string.h>

#include "tylua_impl.h"

/* The fields table of the result at idx (pushed). */
static void tylua_result_fields(lua_State *L, int idx)
{
	luaL_checkudata(L, idx, TYLUA_RESULT);
	lua_getiuservalue(L, idx, 1);
}

void tylua_result_push(lua_State *L, json_t *res)
{
	json_t *sig = json_object_get(res, "signal");
	json_t *out = json_object_get(res, "stdout"), *err = json_object_get(res, "stderr");

	lua_newuserdatauv(L, 1, 1);
	luaL_setmetatable(L, TYLUA_RESULT);
	lua_createtable(L, 0, 8);
	lua_pushinteger(L, (lua_Integer)json_integer_value(json_object_get(res, "exit_code")));
	lua_setfield(L, -2, "exit_code");
	lua_pushlstring(L, json_string_value(out), json_string_length(out));
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, json_string_value(err), json_string_length(err));
	lua_setfield(L, -2, "stderr");
	lua_pushstring(L, json_string_value(json_object_get(res, "status")));
	lua_setfield(L, -2, "status");
	lua_pushboolean(L, json_is_true(json_object_get(res, "timed_out")));
	lua_setfield(L, -2, "timed_out");
	if (json_is_integer(sig)) {
		lua_pushinteger(L, (lua_Integer)json_integer_value(sig));
		lua_setfield(L, -2, "signal");
	}
	lua_setiuservalue(L, -2, 1);
}

/* Field name of the result at 1, pushed. */
static void tylua_result_get(lua_State *L, const char *name)
{
	tylua_result_fields(L, 1);
	lua_getfield(L, -1, name);
	lua_remove(L, -2);
}

static bool tylua_result_ok(lua_State *L)
{
	bool ok;

	tylua_result_get(L, "status");
	tylua_result_get(L, "exit_code");
	ok = strcmp(lua_tostring(L, -2), "exited") == 0 && lua_tointeger(L, -1) == 0;
	lua_pop(L, 2);
	return ok;
}

static int result_ok(lua_State *L)
{
	lua_pushboolean(L, tylua_result_ok(L));
	return 1;
}

/* Append s quoted like Rust's Debug for str (what Provium prints), at most max bytes of it. */
static void tylua_debug_quote(luaL_Buffer *b, const char *s, size_t len, size_t max)
{
	char esc[40];

	luaL_addchar(b, '"');
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			luaL_addchar(b, '\\');
			luaL_addchar(b, (char)c);
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\0') {
			luaL_addchar(b, '\\');
			luaL_addchar(b, c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '0');
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u{%x}", c);
			luaL_addstring(b, esc);
		} else {
			luaL_addchar(b, (char)c);
		}
	}
	luaL_addchar(b, '"');
	if (len > max) {
		snprintf(esc, sizeof(esc), "…(+%zuB)", len - max);
		luaL_addstring(b, esc);
	}
}

static int result_assert_ok(lua_State *L)
{
	const char *status, *s;
	luaL_Buffer b;
	size_t n;

	if (tylua_result_ok(L)) {
		lua_settop(L, 1);
		return 1;
	}
	tylua_result_get(L, "status");
	status = lua_tostring(L, -1);
	luaL_buffinit(L, &b);
	luaL_addstring(&b, "command failed: status=");
	luaL_addstring(&b, status);
	if (strcmp(status, "exited") == 0) {
		tylua_result_get(L, "exit_code");
		lua_pushfstring(L, " code=%d", (int)lua_tointeger(L, -1));
		lua_remove(L, -2);
		luaL_addvalue(&b);
	} else if (strcmp(status, "signalled") == 0) {
		tylua_result_get(L, "signal");
		lua_pushfstring(L, " signal=%d", (int)lua_tointeger(L, -1));
		lua_remove(L, -2);
		luaL_addvalue(&b);
	}
	tylua_result_get(L, "stdout");
	s = lua_tolstring(L, -1, &n);
	lua_pop(L, 1); /* still referenced by the fields table */
	luaL_addstring(&b, " stdout=");
	tylua_debug_quote(&b, s, n, 4096);
	tylua_result_get(L, "stderr");
	s = lua_tolstring(L, -1, &n);
	lua_pop(L, 1);
	luaL_addstring(&b, " stderr=");
	tylua_debug_quote(&b, s, n, 4096);
	luaL_pushresult(&b);
	luaL_where(L, 1);
	lua_insert(L, -2);
	lua_concat(L, 2);
	return lua_error(L);
}

static int result_index(lua_State *L)
{
	if (luaL_getmetafield(L, 1, "methods") && lua_type(L, 2) == LUA_TSTRING &&
	    lua_getfield(L, -1, lua_tostring(L, 2)) != LUA_TNIL)
		return 1;
	tylua_result_fields(L, 1);
	lua_pushvalue(L, 2);
	lua_rawget(L, -2);
	return 1;
}

static int result_tostring(lua_State *L)
{
	size_t out, err;

	tylua_result_get(L, "stdout");
	lua_tolstring(L, -1, &out);
	tylua_result_get(L, "stderr");
	lua_tolstring(L, -1, &err);
	tylua_result_get(L, "status");
	lua_pushfstring(L, "RunResult{ status=%s, stdout=<%dB>, stderr=<%dB> }",
			lua_tostring(L, -1), (int)out, (int)err);
	return 1;
}

void tylua_result_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"ok", result_ok},
		{"assert_ok", result_assert_ok},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__index", result_index},
		{"__tostring", result_tostring},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_RESULT, methods, meta);
}
