/* SPDX-License-Identifier: MIT */
/*
 * tylua_json: the global `json` (encode/decode, null decodes to nil) and
 * the conversions between Lua values and jansson values the bindings use.
 * A table is an array when its keys are exactly 1..n (n > 0), else an
 * object; the empty table encodes as {}. Keys are sorted on output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

#define TYLUA_JSON_DEPTH 100
#define TYLUA_JSON_BOX "tapyard.json_box"

static json_t *tylua_to_json_at(lua_State *L, int idx, int depth);

/*
 * A jansson value the Lua stack owns while it is being built or read: a
 * userdata pushed on top whose collector frees the value, so that an error
 * raised half-way (a bad key, NaN, a deadline) leaks nothing.
 * tylua_json_take() gives the value back (and pops the box when it is on top).
 */
json_t **tylua_json_box(lua_State *L, json_t *v)
{
	json_t **box = lua_newuserdatauv(L, sizeof(*box), 0);

	*box = v;
	luaL_setmetatable(L, TYLUA_JSON_BOX);
	return box;
}

json_t *tylua_json_take(lua_State *L, json_t **box)
{
	json_t *v = *box;

	*box = NULL;
	if (lua_touserdata(L, -1) == box)
		lua_pop(L, 1);
	return v;
}

static int tylua_json_box_gc(lua_State *L)
{
	json_t **box = luaL_checkudata(L, 1, TYLUA_JSON_BOX);

	json_decref(*box);
	*box = NULL;
	return 0;
}

/* Is the table at idx an array 1..n (n > 0)? */
static bool tylua_is_array(lua_State *L, int idx, size_t *n)
{
	size_t count = 0;
	lua_Integer k;

	*n = (size_t)lua_rawlen(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 || (size_t)k > *n) {
			lua_pop(L, 1);
			return false;
		}
	}
	return count > 0 && count == *n;
}

static json_t *tylua_table_to_json(lua_State *L, int idx, int depth)
{
	json_t *out, **box;
	size_t n;

	if (tylua_is_array(L, idx, &n)) {
		out = json_array();
		box = tylua_json_box(L, out);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			json_array_append_new(out, tylua_to_json_at(L, lua_gettop(L), depth + 1));
			lua_pop(L, 1);
		}
		return tylua_json_take(L, box);
	}
	out = json_object();
	box = tylua_json_box(L, out);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int t = lua_type(L, -2);

		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			luaL_error(L, "json.encode: object keys must be strings or numbers, got %s",
				   lua_typename(L, t));
		lua_pushvalue(L, -2);
		json_object_set_new(out, lua_tostring(L, -1),
				    tylua_to_json_at(L, lua_gettop(L) - 1, depth + 1));
		lua_pop(L, 2);
	}
	return tylua_json_take(L, box);
}

static json_t *tylua_to_json_at(lua_State *L, int idx, int depth)
{
	size_t len;
	const char *s;
	json_t *v;
	double d;

	if (depth > TYLUA_JSON_DEPTH)
		luaL_error(L, "json.encode: nested too deep (a table that contains itself?)");
	luaL_checkstack(L, 6, "json.encode: nested too deep");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			luaL_error(L, "json.encode: cannot encode NaN or infinity");
		return json_real(d);
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		v = json_stringn(s, len);
		if (!v)
			luaL_error(L, "json.encode: string is not valid UTF-8");
		return v;
	case LUA_TTABLE:
		return tylua_table_to_json(L, idx, depth);
	default:
		luaL_error(L, "json.encode: cannot encode a %s", luaL_typename(L, idx));
		return NULL;
	}
}

json_t *tylua_to_json(lua_State *L, int idx)
{
	return tylua_to_json_at(L, lua_absindex(L, idx), 0);
}

void tylua_push_json(lua_State *L, json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	luaL_checkstack(L, 4, "json too deep");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach(v, key, item) {
			tylua_push_json(L, item);
			lua_setfield(L, -2, key);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, item) {
			tylua_push_json(L, item);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(v));
		break;
	default:
		lua_pushnil(L);
	}
}

/* json.encode(value, [{pretty = true}]) */
static int json_encode(lua_State *L)
{
	size_t flags = JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_COMPACT;
	json_t *v;
	char *s;

	luaL_checkany(L, 1);
	if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "pretty") != LUA_TNIL &&
	    lua_toboolean(L, -1))
		flags = JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_INDENT(2);
	v = tylua_to_json(L, 1);
	s = json_dumps(v, flags);
	json_decref(v);
	if (!s)
		return luaL_error(L, "json.encode: out of memory");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_error_t err;
	json_t *v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err), **box;

	if (!v)
		return luaL_error(L, "json.decode: %s at line %d column %d", err.text, err.line,
				  err.column);
	box = tylua_json_box(L, v); /* pushing may raise (too deep): the box frees v then */
	tylua_push_json(L, v);
	lua_insert(L, -2);
	json_decref(tylua_json_take(L, box));
	return 1;
}

void tylua_json_open(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"encode", json_encode},
		{"decode", json_decode},
		{NULL, NULL},
	};

	luaL_newmetatable(L, TYLUA_JSON_BOX);
	lua_pushcfunction(L, tylua_json_box_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newlib(L, funcs);
	lua_setglobal(L, "json");
}
