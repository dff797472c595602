/* SPDX-License-Identifier: MIT */
/*
 * tylua_select: which registered tests the runner lets run, from their meta
 * table: meta.tags (a string or an array of strings) against --tag and
 * --no-tag, and meta.slow against --include-slow. A test left out is
 * reported skipped with a "filtered: ..." reason, as Provium does.
 */
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

/* Does the test's meta.tags (at -1) hold tag? */
static bool tylua_select_has(lua_State *L, const char *tag)
{
	bool yes = false;

	if (lua_type(L, -1) == LUA_TSTRING)
		return strcmp(lua_tostring(L, -1), tag) == 0;
	if (lua_type(L, -1) != LUA_TTABLE)
		return false;
	for (lua_Integer i = 1; !yes && lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		yes = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), tag) == 0;
		lua_pop(L, 1);
	}
	if (!yes)
		lua_pop(L, 1); /* the nil that ended the array */
	return yes;
}

/* The reason a test with meta.tags at -1 is left out, or NULL. */
static char *tylua_select_tags(lua_State *L, const struct tylua_select *sel)
{
	char *why = NULL;
	bool any = !sel->ntags;

	for (size_t i = 0; i < sel->nno_tags; i++) {
		if (tylua_select_has(L, sel->no_tags[i])) {
			if (asprintf(&why, "filtered: tag `%s` excluded (--no-tag)",
				     sel->no_tags[i]) < 0)
				why = NULL;
			return why ? why : strdup("filtered");
		}
	}
	for (size_t i = 0; i < sel->ntags && !any; i++)
		any = tylua_select_has(L, sel->tags[i]);
	return any ? NULL : strdup("filtered: no tag selected by --tag");
}

char *tylua_select_why(lua_State *L, size_t i, const struct tylua_select *sel)
{
	char *why;

	tylua_test_field(L, i, "meta");
	lua_getfield(L, -1, "slow");
	if (lua_toboolean(L, -1) && !sel->include_slow) {
		lua_pop(L, 2);
		return strdup("filtered: slow tests skipped (pass --include-slow)");
	}
	lua_getfield(L, -2, "tags");
	why = tylua_select_tags(L, sel);
	lua_pop(L, 3);
	return why;
}
